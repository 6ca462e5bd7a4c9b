/** Reading SCIM query parameters and computing the base URL of a request. */
import type { FastifyRequest } from 'fastify';
import { errors } from '../scim/errors';
import { splitAttributeList, ProjectionRequest } from '../scim/projection';

export interface PagingLimits {
  defaultCount: number;
  maxCount: number;
}

type Query = Record<string, unknown>;

/** Query parameter names are matched without regard to case: clients send `StartIndex`, `Count`. */
export function param(query: Query, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(query ?? {})) {
    if (k.toLowerCase() === lower) return Array.isArray(v) ? String(v[v.length - 1]) : v === undefined ? undefined : String(v);
  }
  return undefined;
}

function integer(query: Query, name: string): number | undefined {
  const raw = param(query, name);
  if (raw === undefined || raw.trim() === '') return undefined;
  if (!/^\s*[-+]?\d+\s*$/.test(raw)) throw errors.invalidValue(`query parameter '${name}' must be an integer, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

/**
 * RFC 7644 §3.4.2.4: "A value less than 1 SHALL be interpreted as 1" (startIndex); a negative count "SHALL be
 * interpreted as "0""; a count above the maximum is capped (and the response says how many it returned).
 */
export function readPaging(query: Query, limits: PagingLimits): { startIndex: number; count: number } {
  const startIndex = Math.max(1, Math.min(integer(query, 'startIndex') ?? 1, Number.MAX_SAFE_INTEGER));
  const count = Math.min(Math.max(0, integer(query, 'count') ?? limits.defaultCount), limits.maxCount);
  return { startIndex, count };
}

/**
 * The page size of a cursor-paged query (RFC 9865 §2): the default when absent, 0 for a negative value ("A
 * negative value SHALL be interpreted as "0""), and above the maximum a 400 `invalidCount` rather than a silent cap
 * (§2.1: "Count value must be between 0 and service provider's maxPageSize").
 */
export function readCursorCount(query: Query, limits: PagingLimits): number {
  const count = Math.max(0, integer(query, 'count') ?? limits.defaultCount);
  if (count > limits.maxCount) {
    throw errors.invalidCount(`count ${count} is more than the largest page (maxPageSize ${limits.maxCount}); cursor pages are not capped`);
  }
  return count;
}

export function readProjection(query: Query): ProjectionRequest {
  return {
    attributes: splitAttributeList(param(query, 'attributes')),
    excludedAttributes: splitAttributeList(param(query, 'excludedAttributes')),
  };
}

/** RFC 9865: `cursor` (empty for the first page) selects cursor paging; it cannot be mixed with startIndex. */
export function readCursor(query: Query): string | undefined {
  const cursor = param(query, 'cursor');
  if (cursor !== undefined && param(query, 'startIndex') !== undefined) {
    throw errors.invalidValue('use either cursor or startIndex, not both');
  }
  return cursor;
}

export function readSort(query: Query): { sortBy?: string; sortOrder?: 'ascending' | 'descending' } {
  const sortBy = param(query, 'sortBy');
  const order = param(query, 'sortOrder');
  if (order !== undefined && !/^(ascending|descending)$/i.test(order)) {
    throw errors.invalidValue(`sortOrder must be "ascending" or "descending", got ${JSON.stringify(order)}`);
  }
  return {
    sortBy: sortBy === undefined || sortBy === '' ? undefined : sortBy,
    sortOrder: order === undefined ? undefined : (order.toLowerCase() as 'ascending' | 'descending'),
  };
}

/**
 * The base of the SCIM API as the client sees it: SCIM_BASE_URL, or derived from the request (its Host, or behind a
 * trusted proxy X-Forwarded-Proto and -Host; an HTTP/1.0 request may have no Host: the address it came in on).
 */
export function baseUrlOf(request: FastifyRequest, configured: string | undefined): string {
  if (configured) return configured;
  let host = request.host;
  if (!host) {
    const address = request.socket.localAddress ?? '127.0.0.1';
    host = `${address.includes(':') ? `[${address}]` : address}:${request.socket.localPort ?? 80}`;
  }
  return `${request.protocol}://${host}/scim/v2`;
}
