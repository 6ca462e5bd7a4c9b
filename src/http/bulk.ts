/**
 * POST /scim/v2/Bulk (RFC 7644 §3.7): reads the BulkRequest (../scim/bulk.ts), runs it (../service/bulk.ts) as the
 * calling token, and answers 200 with a BulkResponse that holds each processed operation's status, location,
 * version and error. A write endpoint: the token needs what a POST to /Users needs; what each operation may change,
 * the write path decides per operation.
 *
 * RFC 7644 §3.7.4: "If either limit is exceeded, the service provider MUST return HTTP response code 413 (Payload
 * Too Large). The returned response MUST specify the limit exceeded in the body of the error response." The body
 * limit is the route's own (maxPayloadSize), above the server's limit for single requests.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { errors, isScimError } from '../scim/errors';
import { type BulkLimits, bulkResponse, parseBulkRequest } from '../scim/bulk';
import type { BulkProcessor } from '../service/bulk';
import { isAdmin, writesSomeSection } from '../service/access';
import type { Caller } from '../service/resources';
import { callerOf } from './auth';
import { fromFastifyError, sendScimError } from './errors';
import { methodNotAllowed } from './methods';
import { baseUrlOf } from './request';

export interface BulkRouteOptions {
  processor: BulkProcessor;
  limits: BulkLimits;
  baseUrl?: string;
  /**
   * The endpoint of the resource type with profile sections (/Users): a token limited to sections may write there
   * (each operation then meets the sections rule), and only there.
   */
  sectionsEndpoint?: string;
}

/**
 * What the route of a single write requires of the token, per operation: `scim:write` (or an administrator's role),
 * or for the sections' endpoint a section scope too.
 */
export function endpointAccess(sectionsEndpoint: string | undefined) {
  return (endpoint: string, caller: Caller) => {
    if (caller.scopes.includes('scim:write') || isAdmin(caller) || endpoint === sectionsEndpoint) return undefined;
    return errors.forbidden(`writing ${endpoint} needs the scope 'scim:write'; this token's write scopes are limited to sections of ${sectionsEndpoint ?? 'a profile'}`);
  };
}

export function bulkRoute(app: FastifyInstance, opts: BulkRouteOptions): void {
  const { processor, limits } = opts;
  app.post(
    '/Bulk',
    {
      onRequest: app.requireScope('scim:write', opts.sectionsEndpoint !== undefined ? writesSomeSection : undefined),
      bodyLimit: limits.maxPayloadSize,
      errorHandler: (err: FastifyError, request, reply) => {
        if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
          return sendScimError(
            reply,
            errors.payloadTooLarge(`the request body is larger than maxPayloadSize (${limits.maxPayloadSize} bytes); send the operations in several requests (SCIM_BULK_MAX_PAYLOAD_SIZE)`,
              'SCIM_BULK_MAX_PAYLOAD_SIZE',
            ),
          );
        }
        if (isScimError(err)) return sendScimError(reply, err);
        const mapped = fromFastifyError(err);
        if (mapped) return sendScimError(reply, mapped);
        request.log.error({ err }, 'unhandled error');
        return sendScimError(reply, errors.internal());
      },
    },
    async (request) => {
      const bulk = parseBulkRequest(request.body, processor.endpoints, limits);
      const base = baseUrlOf(request, opts.baseUrl);
      const results = await processor.run(bulk, callerOf(request), (endpoint, id) => `${base}${endpoint}/${id}`);
      return bulkResponse(results);
    },
  );
  methodNotAllowed(app, '/Bulk', ['POST']);
}
