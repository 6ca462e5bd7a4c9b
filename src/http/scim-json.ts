/**
 * Content negotiation for SCIM (RFC 7644 §3.1, §8.1): requests may be `application/scim+json` or
 * `application/json`; responses are always `application/scim+json`.
 */
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { checkWellFormed } from '../scim/unicode';

export const SCIM_CONTENT_TYPE = 'application/scim+json; charset=utf-8';

/** A JSON escape of a UTF-16 surrogate code unit (\uD800-\uDFFF). */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;

async function scimJson(app: FastifyInstance): Promise<void> {
  // Parse application/scim+json exactly as Fastify parses application/json (same prototype-poisoning guards), and
  // refuse text no store can hold (scim/unicode.ts) before any route sees it.
  const jsonParser = app.getDefaultJsonParser('error', 'error');
  const parse = (request: FastifyRequest, body: string, done: (err: Error | null, value?: unknown) => void) =>
    jsonParser(request, body, (err: Error | null, value?: unknown) => {
      if (err) return done(err);
      try {
        // Decoded UTF-8 never holds a lone surrogate (Node substitutes U+FFFD), so one can only come from a \u
        // escape: a body without a surrogate escape needs no walk.
        if (SURROGATE_ESCAPE.test(body)) checkWellFormed(value);
      } catch (e) {
        return done(e as Error);
      }
      done(null, value);
    });
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(['application/json', 'application/scim+json'], { parseAs: 'string' }, parse);

  // A callback hook rather than an async one: it runs on every response, and costs no promise this way.
  app.addHook('onSend', (_request, reply, payload, done) => {
    const type = reply.getHeader('content-type');
    if (typeof type === 'string' && type.startsWith('application/json')) {
      reply.header('content-type', SCIM_CONTENT_TYPE);
    }
    done(null, payload);
  });
}

export default fp(scimJson, { name: 'scim-json', fastify: '5.x' });
