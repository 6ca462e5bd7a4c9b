/**
 * RFC 9110 §15.5.6: a 405 response "MUST generate an Allow header field". Fastify answers unknown methods on a
 * known URL with 404, so each SCIM URL also registers the remaining methods to answer 405 with Allow.
 */
import type { FastifyInstance, HTTPMethods } from 'fastify';
import { errors } from '../scim/errors';

export function methodNotAllowed(app: FastifyInstance, url: string, allowed: HTTPMethods[], options: { plain?: boolean } = {}): void {
  const allow = allowed.includes('GET') && !allowed.includes('HEAD') ? [...allowed, 'HEAD' as const] : allowed;
  // Every method the server can route (TRACE and QUERY included), so none falls through to 404.
  const others = (app.supportedMethods as HTTPMethods[]).filter((m) => !allow.includes(m));
  if (others.length === 0) return;
  app.route({
    method: others,
    url,
    // No auth here: telling a client which methods exist leaks nothing and helps it fix its request. Answered in
    // onRequest, before any body is read (a QUERY or TRACE body is never parsed).
    onRequest: async (request, reply) => {
      if (!options.plain) throw errors.methodNotAllowed(request.method, allow);
      // Outside /scim/v2: a plain JSON body, as Fastify's own errors there.
      return reply
        .code(405)
        .header('allow', allow.join(', '))
        .send({ statusCode: 405, error: 'Method Not Allowed', message: `${request.method} is not allowed here; use ${allow.join(', ')}` });
    },
    handler: async () => undefined,
  });
}
