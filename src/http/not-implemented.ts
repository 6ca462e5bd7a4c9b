/**
 * Endpoints RFC 7644 defines that this server does not offer as configured answer 501 rather than 404, so a client
 * can tell "not supported" from "wrong URL": /Me without a mapping of tokens to users.
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

export function notImplementedRoutes(app: FastifyInstance, offered: { me: boolean }): void {
  // RFC 7644 §3.11: "If the service provider does not support the /Me alias, it SHOULD return HTTP status code 501
  // (Not Implemented)". /Me needs to know which User a token's subject is, which only the operator can say.
  if (!offered.me) {
    unsupported(
      app,
      '/Me',
      '/Me is not configured on this server: the operator maps a token claim to a User attribute with SCIM_ME_CLAIM and SCIM_ME_ATTRIBUTE (e.g. sub and userName)',
    );
  }
}
