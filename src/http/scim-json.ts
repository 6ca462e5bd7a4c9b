/**
 * Content negotiation for SCIM (RFC 7644 §3.1, §3.8, §8.1): what a request's body is, and what an answer is sent as.
 *
 * Requests: `application/scim+json` or `application/json`, in UTF-8, possibly compressed (content-encoding.ts). A
 * request without content is never refused for the Content-Type it carries: many HTTP client wrappers set one
 * Content-Type on every request, DELETE included. Answers: `application/scim+json`, or `application/json` for a
 * client that prefers it (accept.ts).
 */
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { checkWellFormed } from '../scim/unicode';
import { errors } from '../scim/errors';
import { answerType } from './accept';
import { codingsOf, decodedBody } from './content-encoding';

export const SCIM_CONTENT_TYPE = 'application/scim+json; charset=utf-8';
const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

/** A JSON escape of a UTF-16 surrogate code unit (\uD800-\uDFFF). */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;
const CHARSET = /;\s*charset\s*=\s*"?([^";,\s]*)/i;
/** US-ASCII is a subset of UTF-8: a JSON text in it is one in UTF-8 too. */
const UTF8_CHARSETS = new Set(['utf-8', 'utf8', 'us-ascii']);
const NEEDS_BODY = new Set(['POST', 'PUT', 'PATCH']);

function emptyBodyError(request: FastifyRequest) {
  return errors.invalidSyntax(`the request body is empty; ${request.method} ${request.url.split('?')[0]} needs a JSON object`);
}

/**
 * Why a body the JSON parser refused was refused, and where: JSON.parse says where the text stops being JSON; text
 * that is JSON was refused for setting `__proto__` or `constructor.prototype` (prototype poisoning).
 */
function jsonError(body: string) {
  try {
    JSON.parse(body);
  } catch (e) {
    return errors.invalidSyntax(`request body is not valid JSON: ${(e as Error).message}`);
  }
  return errors.invalidSyntax('request body sets "__proto__" or "constructor.prototype", which are refused');
}

async function scimJson(app: FastifyInstance): Promise<void> {
  // Decided before the body is read (a refusal costs no read): whether there is content at all, its charset, and
  // how it is encoded.
  app.addHook('preParsing', (request, _reply, payload, done) => {
    const method = request.method;
    if (method === 'GET' || method === 'HEAD') return done(null, payload);
    const headers = request.headers;
    const length = headers['content-length'];
    if (headers['transfer-encoding'] === undefined && (length === undefined || Number(length) === 0)) {
      // No content: its Content-Type describes nothing. Without one, Fastify hands the route an undefined body
      // instead of refusing an empty JSON text (or answering 415 for a type it has no parser for).
      delete headers['content-type'];
      return done(NEEDS_BODY.has(method) && !request.is404 ? emptyBodyError(request) : null, payload);
    }
    const type = headers['content-type'];
    const charset = type === undefined ? undefined : CHARSET.exec(type)?.[1]?.toLowerCase();
    // RFC 8259 §8.1: "JSON text exchanged between systems that are not part of a closed ecosystem MUST be encoded
    // using UTF-8". A body declared in another charset would be read wrongly (a Latin-1 "é" is not UTF-8), so it
    // is refused rather than guessed at.
    if (charset !== undefined && !UTF8_CHARSETS.has(charset)) {
      return done(errors.unsupportedMediaType(`Content-Type charset '${charset}' is not accepted; send the JSON body in UTF-8`), payload);
    }
    try {
      const codings = codingsOf(headers['content-encoding'] as string | undefined);
      done(null, codings ? decodedBody(payload, codings, request.routeOptions.bodyLimit) : payload);
    } catch (e) {
      done(e as Error, payload);
    }
  });

  // Parse application/scim+json exactly as Fastify parses application/json (same prototype-poisoning guards), and
  // refuse text no store can hold (scim/unicode.ts) before any route sees it.
  const jsonParser = app.getDefaultJsonParser('error', 'error');
  const parse = (request: FastifyRequest, raw: string, done: (err: Error | null, value?: unknown) => void) => {
    // Content that decodes to nothing (an empty chunked body, an empty gzip member) is no content.
    if (raw.length === 0) return done(NEEDS_BODY.has(request.method) ? emptyBodyError(request) : null, undefined);
    // RFC 8259 §8.1: parsers "MAY ignore the presence of a byte order mark rather than treating it as an error";
    // Windows tools (PowerShell 5's UTF-8 files among them) write one.
    const body = raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
    jsonParser(request, body, (err: Error | null, value?: unknown) => {
      if (err) return done(jsonError(body));
      try {
        // Decoded UTF-8 never holds a lone surrogate (Node substitutes U+FFFD), so one can only come from a \u
        // escape: a body without a surrogate escape needs no walk.
        if (SURROGATE_ESCAPE.test(body)) checkWellFormed(value);
      } catch (e) {
        return done(e as Error);
      }
      done(null, value);
    });
  };
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(['application/json', 'application/scim+json'], { parseAs: 'string' }, parse);

  // A callback hook rather than an async one: it runs on every response, and costs no promise this way. Every JSON
  // answer (rendered, a view, or an error) leaves as the type the client accepts; the answer varies with Accept.
  app.addHook('onSend', (request, reply, payload, done) => {
    const type = reply.getHeader('content-type');
    if (typeof type === 'string' && (type.startsWith('application/json') || type.startsWith('application/scim+json'))) {
      reply.header('content-type', answerType(request.headers.accept) === 'json' ? JSON_CONTENT_TYPE : SCIM_CONTENT_TYPE);
      // Appended to, not replaced: CORS answers vary with Origin too.
      const vary = reply.getHeader('vary');
      reply.header('vary', vary === undefined ? 'Accept' : `${String(vary)}, Accept`);
    }
    done(null, payload);
  });
}

export default fp(scimJson, { name: 'scim-json', fastify: '5.x' });
