/**
 * The BulkRequest message (RFC 7644 §3.7), read into typed operations, and the order they run in. Pure: what each
 * operation does to a resource is the single write path's business (service/bulk.ts runs them through it).
 *
 * - The envelope is the request's: a body that is not a BulkRequest, or names a bulkId twice, is refused whole.
 * - An operation is its own: a malformed one (unknown method, bad path, missing data) is that operation's error
 *   (status 400 in its place in the BulkResponse), counted toward failOnErrors like any other, and the rest go on.
 *   RFC 7644 §3.7: "The service provider MUST continue performing as many changes as possible and disregard
 *   partial failures."
 * - References: "bulkId:<id>" anywhere in an operation's data (or in its path, `/Users/bulkId:<id>`) names the
 *   resource a POST of the same request creates. Operations run in request order, except that a POST is run before
 *   the first operation that needs it (§3.7.2), so that each reference names a resource that exists.
 * - Cycles (§3.7.1: "The service provider MUST try to resolve circular cross-references between resources in a
 *   single bulk job but MAY stop after a failed attempt and instead return HTTP status code 409 (Conflict)"). The
 *   references a resource of this server can hold are a group's members and a user's manager, and a cycle of
 *   either is what the model forbids (no group contains itself, no one reports to themselves, directly or not). So
 *   a cycle of bulkId references can only be resolved into data that would be refused: the POSTs on it are
 *   answered 409 naming the cycle, and none of them is created. Creating some and failing the rest (the RFC's
 *   "failed attempt") would leave operations half-applied: a group created without the members it was sent with.
 *
 * Operations are numbered from 1 in messages, as PATCH operations are: "operation 1" is `Operations[0]`.
 */
import { errors, ScimError } from './errors';
import { SCHEMA_URNS } from './schema';
import { isObject, type Json, type JsonObject } from './values';

export type BulkMethod = 'POST' | 'PUT' | 'PATCH' | 'DELETE';
const METHODS: readonly BulkMethod[] = ['POST', 'PUT', 'PATCH', 'DELETE'];

/** The prefix of a reference to a resource created in the same request (RFC 7644 §3.7.2). */
export const BULK_ID_PREFIX = 'bulkId:';

/** The limits of RFC 7644 §3.7.4, advertised in ServiceProviderConfig `bulk`. */
export interface BulkLimits {
  maxOperations: number;
  /** Bytes of request body. */
  maxPayloadSize: number;
}

export const DEFAULT_BULK_LIMITS: Readonly<BulkLimits> = Object.freeze({ maxOperations: 1000, maxPayloadSize: 4 * 1024 * 1024 });

/** One operation as the client sent it, read. */
export interface BulkOperation {
  /** Its position in `Operations`, from 0. */
  index: number;
  method: BulkMethod;
  bulkId?: string;
  /** The ETag the client asserts (`version`), used as If-Match. */
  version?: string;
  /** The resource type's endpoint, e.g. `/Users`. */
  endpoint: string;
  /** PUT, PATCH, DELETE: the resource's id, or a reference `bulkId:<id>`. */
  id?: string;
  /** POST, PUT: the resource; PATCH: the PatchOp message. */
  data?: unknown;
  /** The bulkIds the operation refers to (in its data or path), each once, in the order found. */
  references: string[];
}

/** An operation that could not be read: it fails in its place, with what could be read of it for the response. */
export interface MalformedOperation {
  index: number;
  method?: string;
  bulkId?: string;
  error: ScimError;
}

export interface BulkRequest {
  /** Stop after this many errors (RFC 7644 §3.7: failOnErrors); undefined: never stop. */
  failOnErrors?: number;
  operations: (BulkOperation | MalformedOperation)[];
}

export function isMalformed(op: BulkOperation | MalformedOperation): op is MalformedOperation {
  return 'error' in op;
}

/** "operation N: " — N counts from 1. */
export function bulkPrefix(index: number): string {
  return `operation ${index + 1}: `;
}

/** A member of an object by name in any case (RFC 7643 §2.1: attribute names are case-insensitive). */
function member(body: JsonObject, name: string): Json | undefined {
  if (name in body) return body[name];
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(body)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

/**
 * Reads a BulkRequest body. `endpoints`: the resource types' endpoints (`/Users`, `/Groups`). Throws for what makes
 * the whole request unusable: not a BulkRequest (400 invalidSyntax), more operations than maxOperations (413, as
 * §3.7.4 says: "If either limit is exceeded, the service provider MUST return HTTP response code 413"), a bad
 * failOnErrors or a bulkId given to two POSTs (400 invalidValue: references to it would be ambiguous).
 */
export function parseBulkRequest(body: unknown, endpoints: readonly string[], limits: BulkLimits = DEFAULT_BULK_LIMITS): BulkRequest {
  if (!isObject(body)) throw errors.invalidSyntax('a BulkRequest body must be a JSON object');
  const schemas = member(body, 'schemas');
  const urn = SCHEMA_URNS.bulkRequest.toLowerCase();
  if (!Array.isArray(schemas) || !schemas.some((s) => typeof s === 'string' && s.toLowerCase() === urn)) {
    throw errors.invalidSyntax(`"schemas" must contain "${SCHEMA_URNS.bulkRequest}"`);
  }
  const ops = member(body, 'Operations');
  if (!Array.isArray(ops) || ops.length === 0) throw errors.invalidSyntax('"Operations" must be a non-empty array');
  if (ops.length > limits.maxOperations) {
    throw errors.payloadTooLarge(
      `the request has ${ops.length} operations, more than maxOperations (${limits.maxOperations}); send them in several requests (SCIM_BULK_MAX_OPERATIONS)`,
      'SCIM_BULK_MAX_OPERATIONS',
    );
  }
  const fail = member(body, 'failOnErrors');
  let failOnErrors: number | undefined;
  if (fail !== undefined && fail !== null) {
    if (typeof fail !== 'number' || !Number.isInteger(fail) || fail < 1) {
      throw errors.invalidValue(`"failOnErrors" must be a whole number of at least 1, got ${JSON.stringify(fail)}`);
    }
    failOnErrors = fail;
  }
  const operations = ops.map((op, index) => readOperation(op, index, endpoints));
  const posted = new Map<string, number>();
  for (const op of operations) {
    if (isMalformed(op) || op.method !== 'POST' || op.bulkId === undefined) continue;
    const earlier = posted.get(op.bulkId);
    if (earlier !== undefined) {
      throw errors.invalidValue(`${bulkPrefix(op.index)}bulkId '${op.bulkId}' is already the bulkId of operation ${earlier + 1}; a bulkId must be unique within a request`);
    }
    posted.set(op.bulkId, op.index);
  }
  return failOnErrors === undefined ? { operations } : { failOnErrors, operations };
}

function readOperation(raw: Json, index: number, endpoints: readonly string[]): BulkOperation | MalformedOperation {
  const where = bulkPrefix(index);
  if (!isObject(raw)) return { index, error: errors.invalidSyntax(`${where}an operation must be a JSON object`) };
  const methodValue = member(raw, 'method');
  const bulkIdValue = member(raw, 'bulkId');
  const method = typeof methodValue === 'string' ? methodValue.toUpperCase() : undefined;
  const bulkId = typeof bulkIdValue === 'string' ? bulkIdValue : undefined;
  const fail = (error: ScimError): MalformedOperation => ({
    index,
    ...(method !== undefined ? { method } : {}),
    ...(bulkId !== undefined ? { bulkId } : {}),
    error,
  });
  if (method === undefined || !(METHODS as readonly string[]).includes(method)) {
    return fail(errors.invalidValue(`${where}"method" must be one of ${METHODS.join(', ')}, got ${JSON.stringify(methodValue ?? null)}`));
  }
  if (bulkIdValue !== undefined && bulkIdValue !== null && (bulkId === undefined || bulkId === '')) {
    return fail(errors.invalidValue(`${where}"bulkId" must be a non-empty string, got ${JSON.stringify(bulkIdValue)}`));
  }
  const versionValue = member(raw, 'version');
  if (versionValue !== undefined && versionValue !== null && typeof versionValue !== 'string') {
    return fail(errors.invalidValue(`${where}"version" must be an ETag string such as W/"3", got ${JSON.stringify(versionValue)}`));
  }
  const pathValue = member(raw, 'path');
  if (typeof pathValue !== 'string' || pathValue === '') {
    return fail(errors.invalidValue(`${where}"path" must name ${method === 'POST' ? 'a resource endpoint such as /Users' : 'a resource such as /Users/{id}'}`));
  }
  const target = readPath(pathValue, endpoints);
  if (!target) {
    return fail(errors.notFound(`${where}path '${pathValue}' is not a resource endpoint of this server (${endpoints.join(', ')})`));
  }
  if (method === 'POST' && target.id !== undefined) {
    return fail(errors.invalidValue(`${where}a POST's path must be a resource endpoint such as ${target.endpoint}, not a resource ('${pathValue}')`));
  }
  if (method !== 'POST' && target.id === undefined) {
    return fail(errors.invalidValue(`${where}a ${method}'s path must name a resource, such as ${target.endpoint}/{id}`));
  }
  const data = member(raw, 'data');
  if (method !== 'DELETE' && !isObject(data)) {
    return fail(errors.invalidSyntax(`${where}a ${method} needs "data": ${method === 'PATCH' ? 'a PatchOp message' : 'the resource'} as a JSON object`));
  }
  const references: string[] = [];
  const seen = new Set<string>();
  const note = (ref: string) => {
    if (!seen.has(ref)) {
      seen.add(ref);
      references.push(ref);
    }
  };
  if (target.id?.startsWith(BULK_ID_PREFIX)) note(target.id.slice(BULK_ID_PREFIX.length));
  if (method !== 'DELETE') walkReferences(data!, note);
  const op: BulkOperation = { index, method: method as BulkMethod, endpoint: target.endpoint, references };
  if (bulkId !== undefined) op.bulkId = bulkId;
  if (typeof versionValue === 'string') op.version = versionValue;
  if (target.id !== undefined) op.id = target.id;
  if (method !== 'DELETE') op.data = data;
  return op;
}

/** `/Users` or `/Users/{id}` (a trailing slash allowed), matched against the endpoints in any case. */
function readPath(path: string, endpoints: readonly string[]): { endpoint: string; id?: string } | undefined {
  const trimmed = path.replace(/\/+$/, '');
  const slash = trimmed.indexOf('/', 1);
  const head = slash === -1 ? trimmed : trimmed.slice(0, slash);
  const endpoint = endpoints.find((e) => e.toLowerCase() === head.toLowerCase());
  if (!endpoint) return undefined;
  if (slash === -1) return { endpoint };
  const id = trimmed.slice(slash + 1);
  if (id === '' || id.includes('/') || id.includes('?')) return undefined;
  return { endpoint, id: decodeURIComponentSafe(id) };
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Calls `found` with the bulkId of every "bulkId:<id>" string in `value`. */
function walkReferences(value: Json, found: (bulkId: string) => void): void {
  if (typeof value === 'string') {
    if (value.startsWith(BULK_ID_PREFIX) && value.length > BULK_ID_PREFIX.length) found(value.slice(BULK_ID_PREFIX.length));
  } else if (Array.isArray(value)) {
    for (const v of value) walkReferences(v, found);
  } else if (isObject(value)) {
    for (const v of Object.values(value)) walkReferences(v, found);
  }
}

/**
 * A copy of `value` with every "bulkId:<id>" replaced by the id it was created with. A reference the map does not
 * hold is left to `missing`, which throws the operation's error.
 */
export function resolveReferences<T extends Json>(value: T, ids: ReadonlyMap<string, string>, missing: (bulkId: string) => never): T {
  if (typeof value === 'string') {
    if (!value.startsWith(BULK_ID_PREFIX) || value.length === BULK_ID_PREFIX.length) return value;
    const bulkId = value.slice(BULK_ID_PREFIX.length);
    const id = ids.get(bulkId);
    return (id === undefined ? missing(bulkId) : id) as T;
  }
  if (Array.isArray(value)) return value.map((v) => resolveReferences(v, ids, missing)) as T;
  if (isObject(value)) {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value)) out[k] = resolveReferences(v, ids, missing);
    return out as T;
  }
  return value;
}

/** A step of the plan: run this operation, unless it is a POST in a reference cycle (`cycle`: its operations' bulkIds). */
export interface PlanStep {
  index: number;
  cycle?: string[];
}

/**
 * The order to run the operations in: request order, each POST pulled forward to just before the first operation
 * that refers to it (depth first), so that every reference names a resource already created. A reference back to a
 * POST still waiting for its own references closes a cycle: every POST on it is marked.
 */
export function planBulk(operations: readonly (BulkOperation | MalformedOperation)[]): PlanStep[] {
  const byBulkId = new Map<string, number>();
  for (const op of operations) if (!isMalformed(op) && op.method === 'POST' && op.bulkId !== undefined) byBulkId.set(op.bulkId, op.index);
  const done = new Set<number>();
  const stack: number[] = [];
  const cycles = new Map<number, string[]>();
  const plan: PlanStep[] = [];
  const visit = (index: number) => {
    if (done.has(index) || stack.includes(index)) return;
    stack.push(index);
    const op = operations[index]!;
    for (const ref of isMalformed(op) ? [] : op.references) {
      const target = byBulkId.get(ref);
      if (target === undefined) continue; // an unknown bulkId: the operation fails when it runs
      const at = stack.indexOf(target);
      if (at === -1) {
        visit(target);
        continue;
      }
      const members = stack.slice(at);
      const bulkIds = members.map((i) => (operations[i] as BulkOperation).bulkId!);
      for (const i of members) cycles.set(i, [...new Set([...(cycles.get(i) ?? []), ...bulkIds])]);
    }
    stack.pop();
    done.add(index);
    const cycle = cycles.get(index);
    plan.push(cycle ? { index, cycle } : { index });
  };
  for (let i = 0; i < operations.length; i++) visit(i);
  return plan;
}

/** One operation's outcome in the BulkResponse (RFC 7644 §3.7.3). */
export interface BulkResult {
  method: string;
  bulkId?: string;
  version?: string;
  location?: string;
  /** The HTTP status code, as a string as in the RFC's examples. */
  status: string;
  /** A failed operation's SCIM error. */
  response?: JsonObject;
}

export function bulkResponse(results: readonly BulkResult[]): JsonObject {
  return { schemas: [SCHEMA_URNS.bulkResponse], Operations: results as unknown as Json[] };
}
