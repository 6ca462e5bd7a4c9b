/**
 * Every error leaves as a SCIM Error (RFC 7644 §3.12), including Fastify's own (bad JSON, body too large,
 * unsupported media type, schema validation) and unknown routes. No input produces a 500: anything unexpected
 * is logged with its stack and answered with a generic 500 body that leaks nothing.
 */
import fp from 'fastify-plugin';
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { STATUS_CODES } from 'node:http';
import { ERROR_SCHEMA, errors, isScimError, ScimError } from '../scim/errors';
import { SCIM_CONTENT_TYPE } from './scim-json';
import { noteScimError } from './metrics';

/**
 * Whether a request URL is the SCIM API's, whose refusals are SCIM errors (elsewhere they are plain JSON). Matched
 * as the router matches: doubled slashes and any letter case.
 */
export function isApiUrl(url: string | undefined): boolean {
  return url !== undefined && /^\/+scim\//i.test(url);
}

/**
 * An error answered outside a Fastify reply (Node's own refusals, before any request exists or any route runs): a
 * SCIM Error for the API, plain JSON elsewhere, as every other refusal there is. Its body and Content-Type.
 */
export function rawErrorBody(api: boolean, status: number, detail: string): { type: string; body: string } {
  return api
    ? { type: SCIM_CONTENT_TYPE, body: JSON.stringify({ schemas: [ERROR_SCHEMA], status: String(status), detail }) }
    : { type: 'application/json; charset=utf-8', body: JSON.stringify({ statusCode: status, error: STATUS_CODES[status], message: detail }) };
}

export function sendScimError(reply: FastifyReply, err: ScimError): FastifyReply {
  noteScimError(reply.request, err);
  for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
  return reply.code(err.status).type(SCIM_CONTENT_TYPE).send(err.toJSON());
}

/** Maps Fastify's framework errors (by code) onto the catalogue; `bodyLimit` is the route's, in bytes. */
export function fromFastifyError(err: FastifyError, bodyLimit?: number): ScimError | undefined {
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return errors.invalidSyntax(`request body is not valid JSON: ${err.message}`);
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return errors.payloadTooLarge(`request body is larger than the ${bodyLimit ?? 'configured'} byte limit (SCIM_BODY_LIMIT)`, 'SCIM_BODY_LIMIT');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
        ? errors.unsupportedMediaType('Content-Type must be application/scim+json or application/json')
        : errors.invalidSyntax('request Content-Length does not match the body');
    case 'FST_ERR_VALIDATION': {
      const where = err.validationContext ?? 'request';
      return errors.invalidSyntax(`${where}${err.message.replace(/^(body|querystring|params|headers)/, '')}`);
    }
  }
  // Errors from elsewhere (the MongoDB driver's) may carry a numeric code.
  if (typeof err.code === 'string' && err.code.startsWith('FST_JWT_')) return errors.unauthorized(`invalid bearer token: ${err.message}`);
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    if (err.statusCode === 415) return errors.unsupportedMediaType(err.message);
    if (err.statusCode === 413) return errors.payloadTooLarge(err.message);
    return errors.invalidSyntax(err.message);
  }
  return undefined;
}

async function scimErrors(app: FastifyInstance): Promise<void> {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (isScimError(err)) return sendScimError(reply, err);
    const mapped = fromFastifyError(err, request.routeOptions.bodyLimit);
    if (mapped) return sendScimError(reply, mapped);
    request.log.error({ err }, 'unhandled error');
    return sendScimError(reply, errors.internal());
  });
  app.setNotFoundHandler((request, reply) =>
    sendScimError(reply, errors.notFound(`no such endpoint: ${request.method} ${request.url.split('?')[0]}`)),
  );
}

export default fp(scimErrors, { name: 'scim-errors', fastify: '5.x' });
