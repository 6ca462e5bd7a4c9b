/**
 * Endpoints RFC 7644 defines that this server does not offer as configured answer 501 rather than 404, so a client
 * can tell "not supported" from "wrong URL": /Me without a mapping of tokens to users.
 */
import type { FastifyInstance, HTTPMethods } from 'fastify';
import { errors } from '../scim/errors';
import { methodNotAllowed } from './methods';

/**
 * The methods the endpoint has when offered answer 501; the others 405, as they would if it were offered (a client
 * learns the same Allow either way).
 */
function unsupported(app: FastifyInstance, url: string, methods: HTTPMethods[], detail: string): void {
  app.route({
    method: methods.includes('GET') ? [...methods, 'HEAD'] : methods,
    url,
    onRequest: async () => {
      throw errors.notImplemented(detail);
    },
    handler: async () => undefined,
  });
  methodNotAllowed(app, url, methods);
}

export function notImplementedRoutes(app: FastifyInstance, offered: { me: boolean }): void {
  // RFC 7644 §3.11: "If the service provider does not support the /Me alias, it SHOULD return HTTP status code 501
  // (Not Implemented)". /Me needs to know which User a token's subject is, which only the operator can say.
  if (!offered.me) {
    unsupported(
      app,
      '/Me',
      ['GET', 'PUT', 'PATCH'],
      '/Me is not configured on this server: the operator maps a token claim to a User attribute with SCIM_ME_CLAIM and SCIM_ME_ATTRIBUTE (e.g. sub and userName)',
    );
  }
}
