/**
 * Content negotiation for SCIM (RFC 7644 §3.1, §8.1): requests may be `application/scim+json` or
 * `application/json`; responses are always `application/scim+json`.
 */
import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';

export const SCIM_CONTENT_TYPE = 'application/scim+json; charset=utf-8';

async function scimJson(app: FastifyInstance): Promise<void> {
  // Parse application/scim+json exactly as Fastify parses application/json (same prototype-poisoning guards).
  const jsonParser = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser(['application/scim+json'], { parseAs: 'string' }, jsonParser);

  app.addHook('onSend', async (request, reply, payload) => {
    const type = reply.getHeader('content-type');
    if (typeof type === 'string' && type.startsWith('application/json') && request.url.startsWith('/scim/')) {
      reply.header('content-type', SCIM_CONTENT_TYPE);
    }
    return payload;
  });
}

export default fp(scimJson, { name: 'scim-json', fastify: '5.x' });
