/**
 * Endpoints RFC 7644 defines that this server does not offer (yet) answer 501 rather than 404, so a client can tell
 * "not supported" from "wrong URL". ServiceProviderConfig says the same (bulk.supported false).
 */
import type { FastifyInstance, HTTPMethods } from 'fastify';
import { errors } from '../scim/errors';
import { methodNotAllowed } from './methods';

/** The methods an OpenAPI document can describe; anything else (QUERY) is 405 like on every other path. */
const METHODS: HTTPMethods[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE'];

function unsupported(app: FastifyInstance, url: string, detail: string): void {
  app.route({
    method: METHODS,
    url,
    onRequest: async () => {
      throw errors.notImplemented(detail);
    },
    handler: async () => undefined,
  });
  methodNotAllowed(app, url, METHODS);
}

export function notImplementedRoutes(app: FastifyInstance): void {
  // RFC 7644 §3.11: a service provider that does not support the /Me alias answers 501 Not Implemented.
  unsupported(app, '/Me', '/Me is not supported: tokens here identify provisioning clients, not users');
}
