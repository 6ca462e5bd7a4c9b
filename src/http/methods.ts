/**
 * RFC 9110 §15.5.6: a 405 response "MUST generate an Allow header field". Fastify answers unknown methods on a
 * known URL with 404, so each SCIM URL also registers the remaining methods to answer 405 with Allow.
 */
import type { FastifyInstance, HTTPMethods } from 'fastify';
import { errors } from '../scim/errors';

const ALL: HTTPMethods[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

export function methodNotAllowed(app: FastifyInstance, url: string, allowed: HTTPMethods[]): void {
  const allow = allowed.includes('GET') && !allowed.includes('HEAD') ? [...allowed, 'HEAD' as const] : allowed;
  const others = ALL.filter((m) => !allow.includes(m));
  if (others.length === 0) return;
  app.route({
    method: others,
    url,
    // No auth here: telling a client which methods exist leaks nothing and helps it fix its request.
    handler: async (request) => {
      throw errors.methodNotAllowed(request.method, allow);
    },
  });
}
