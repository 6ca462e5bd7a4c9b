/**
 * GET /scim/v2/AuditEvents: the audit trail (../scim/audit.ts), for administrators (globalAdmin,
 * userAdmin; access.ts). One entry per accepted write, oldest first (sortOrder=descending: newest first), filtered
 * by resource (`resourceId`) and time (`since` inclusive, `until` exclusive, ISO 8601), paged by cursor: a page's
 * `nextCursor` is passed back as `cursor` to read on (RFC 9865's parameters, for an append-only log where index
 * paging would shift as entries arrive). Not a SCIM resource type: entries are read, never written, by clients.
 */
import type { FastifyInstance } from 'fastify';
import { AUDIT_LIST_SCHEMA, decodeAuditCursor, encodeAuditCursor, renderAuditEntry, type AuditQuery } from '../scim/audit';
import { errors } from '../scim/errors';
import type { AuditStore } from '../store/store';
import { isAdmin } from '../service/access';
import { callerOf } from './auth';
import { methodNotAllowed } from './methods';
import type { PagingLimits } from './request';
import { SCIM_CONTENT_TYPE } from './scim-json';
import { jsonInSlices, STREAM_FROM } from './slices';

const PARAMETERS = new Set(['resourceId', 'since', 'until', 'cursor', 'count', 'sortOrder']);

function instant(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  const ms = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}([Tt ][\d:.]+([Zz]|[+-]\d{2}:\d{2})?)?$/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) throw errors.invalidValue(`${name}: expected an ISO 8601 date or date and time such as 2026-12-01T00:00:00Z, got ${JSON.stringify(value)}`);
  return new Date(ms).toISOString();
}

export function auditRoute(app: FastifyInstance, audit: AuditStore, paging: PagingLimits): void {
  app.get('/AuditEvents', { onRequest: app.requireScope('scim:read') }, async (request, reply) => {
    const caller = callerOf(request);
    if (!isAdmin(caller)) throw errors.forbidden('the audit trail is readable by administrators only (a token whose roles claim holds globalAdmin or userAdmin)');
    const query = request.query as Record<string, unknown>;
    for (const [name, value] of Object.entries(query)) {
      if (!PARAMETERS.has(name)) throw errors.invalidValue(`unknown query parameter '${name}' (known: ${[...PARAMETERS].join(', ')})`);
      if (typeof value !== 'string') throw errors.invalidValue(`query parameter '${name}' is given more than once`);
    }
    const count = query.count === undefined ? paging.defaultCount : Number(query.count);
    if (!Number.isInteger(count) || count < 1) throw errors.invalidValue(`count: expected a whole number from 1, got ${JSON.stringify(query.count)}`);
    const order = query.sortOrder ?? 'ascending';
    if (order !== 'ascending' && order !== 'descending') throw errors.invalidValue(`sortOrder: expected ascending or descending, got ${JSON.stringify(order)}`);
    const after = query.cursor === undefined ? undefined : decodeAuditCursor(query.cursor as string);
    if (query.cursor !== undefined && !after) throw errors.invalidCursor(`cursor: ${JSON.stringify(query.cursor)} is not a cursor this endpoint gave`);
    const q: AuditQuery = { order, count: Math.min(count, paging.maxCount) };
    if (typeof query.resourceId === 'string') {
      // Ids this server makes are 36 characters; a store key holds a few hundred bytes at most.
      if (query.resourceId.length > 256) throw errors.invalidValue('resourceId: longer than any resource id (256 characters at most)');
      q.resourceId = query.resourceId;
    }
    const since = instant('since', query.since);
    const until = instant('until', query.until);
    if (since !== undefined) q.since = since;
    if (until !== undefined) q.until = until;
    if (after) q.after = after;
    const page = await audit.log(q);
    const last = page.entries[page.entries.length - 1];
    const envelope = {
      schemas: [AUDIT_LIST_SCHEMA],
      itemsPerPage: page.entries.length,
      ...(page.more && last ? { nextCursor: encodeAuditCursor(last) } : {}),
    };
    // A page of 1,000 creates' entries is a megabyte of JSON: made in one go it held the loop for over 20 ms.
    if (page.entries.length > STREAM_FROM) return reply.type(SCIM_CONTENT_TYPE).send(jsonInSlices(envelope, 'Resources', page.entries, renderAuditEntry));
    return { ...envelope, Resources: page.entries.map(renderAuditEntry) };
  });
  methodNotAllowed(app, '/AuditEvents', ['GET']);
}
