/**
 * The single catalogue of SCIM errors (RFC 7644 §3.12).
 *
 * Every error the server can answer with is a `ScimError` built by one of the factories below, so the
 * status/scimType pairs live in one place and a test can compare them with openapi.yaml. Each scimType is declared
 * once, with its status; its code, its catalogue entry and its factory are derived from that.
 */

export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';

/** Seconds a client is asked to wait before retrying after a 503. */
export const RETRY_AFTER_SECONDS = 5;

/** RFC 7644 §3.12 Table 9, plus the pagination errors of RFC 9865 §2.1 (Table 3): each scimType and its status. */
const SCIM_TYPES = {
  invalidFilter: 400,
  tooMany: 400,
  uniqueness: 409,
  mutability: 400,
  invalidSyntax: 400,
  invalidPath: 400,
  noTarget: 400,
  invalidValue: 400,
  invalidVers: 400,
  sensitive: 400,
  invalidCursor: 400,
  expiredCursor: 400,
  invalidCount: 400,
} as const;

export type ScimType = keyof typeof SCIM_TYPES;

/** The errors without a scimType, by code, and their status. */
const PLAIN = {
  unauthorized: 401,
  forbidden: 403,
  notFound: 404,
  methodNotAllowed: 405,
  conflict: 409,
  preconditionFailed: 412,
  payloadTooLarge: 413,
  unsupportedMediaType: 415,
  tooManyRequests: 429,
  internal: 500,
  notImplemented: 501,
  unavailable: 503,
} as const;

type Catalogue = { readonly [T in ScimType]: { readonly status: (typeof SCIM_TYPES)[T]; readonly scimType: T } } & {
  readonly [C in keyof typeof PLAIN]: { readonly status: (typeof PLAIN)[C] };
};

/** code -> HTTP status and scimType. The code is what logs and tests refer to; a scimType is its own code. */
export const ERROR_CATALOGUE: Catalogue = Object.freeze({
  ...(Object.fromEntries(Object.entries(SCIM_TYPES).map(([scimType, status]) => [scimType, { status, scimType }])) as {
    [T in ScimType]: { status: (typeof SCIM_TYPES)[T]; scimType: T };
  }),
  ...(Object.fromEntries(Object.entries(PLAIN).map(([code, status]) => [code, { status }])) as { [C in keyof typeof PLAIN]: { status: (typeof PLAIN)[C] } }),
});

export type ErrorCode = keyof Catalogue;

export interface ScimErrorBody {
  schemas: [typeof ERROR_SCHEMA];
  status: string;
  scimType?: ScimType;
  detail: string;
}

export class ScimError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly scimType?: ScimType;
  readonly detail: string;
  /** Extra response headers (WWW-Authenticate, Allow). */
  readonly headers: Record<string, string>;
  /**
   * The request bound that refused the request, named by its setting (`SCIM_MAX_VALUES`, `SCIM_BODY_LIMIT`…), which
   * the detail also names; /metrics counts refusals by it.
   */
  readonly bound?: string;

  constructor(code: ErrorCode, detail: string, headers: Record<string, string> = {}, bound?: string) {
    super(detail);
    this.name = 'ScimError';
    const entry: { status: number; scimType?: ScimType } = ERROR_CATALOGUE[code];
    this.code = code;
    this.status = entry.status;
    this.scimType = entry.scimType;
    this.detail = detail;
    this.headers = headers;
    if (bound !== undefined) this.bound = bound;
  }

  toJSON(): ScimErrorBody {
    const body: ScimErrorBody = { schemas: [ERROR_SCHEMA], status: String(this.status), detail: this.detail };
    if (this.scimType) body.scimType = this.scimType;
    return body;
  }

  /** The same error with its detail prefixed, e.g. by "operation 2: ". */
  prefixed(prefix: string): ScimError {
    return new ScimError(this.code, prefix + this.detail, this.headers, this.bound);
  }
}

export function isScimError(e: unknown): e is ScimError {
  return e instanceof ScimError;
}

/** A factory of an error that names a request bound (the setting) when it is one's refusal. */
type Factory = (detail: string, bound?: string) => ScimError;

const scimTypeFactories = Object.fromEntries(
  Object.keys(SCIM_TYPES).map((scimType) => [scimType, (detail: string, bound?: string) => new ScimError(scimType as ScimType, detail, {}, bound)]),
) as { [T in ScimType]: Factory };

/** One factory per scimType and per status, so call sites read as the RFC does. */
export const errors = {
  ...scimTypeFactories,
  unauthorized: (detail: string, challenge = 'Bearer') => new ScimError('unauthorized', detail, { 'www-authenticate': challenge }),
  forbidden: (detail: string, challenge?: string) => new ScimError('forbidden', detail, challenge ? { 'www-authenticate': challenge } : {}),
  notFound: (detail: string) => new ScimError('notFound', detail),
  methodNotAllowed: (method: string, allow: readonly string[]) =>
    new ScimError('methodNotAllowed', `method ${method} is not allowed here; allowed: ${allow.join(', ')}`, { allow: allow.join(', ') }),
  conflict: (detail: string) => new ScimError('conflict', detail),
  preconditionFailed: (detail: string) => new ScimError('preconditionFailed', detail),
  payloadTooLarge: (detail: string, bound?: string) => new ScimError('payloadTooLarge', detail, {}, bound),
  // RFC 7694 §3: a 415 for a content coding the server does not accept SHOULD list those it does in Accept-Encoding.
  unsupportedMediaType: (detail: string, acceptEncoding?: string) =>
    new ScimError('unsupportedMediaType', detail, acceptEncoding ? { 'accept-encoding': acceptEncoding } : {}),
  // RFC 6585 §4: 429 "MAY include a Retry-After header indicating how long to wait before making a new request";
  // Entra ID backs off by it.
  tooManyRequests: (detail: string, retryAfterSeconds: number) => new ScimError('tooManyRequests', detail, { 'retry-after': String(retryAfterSeconds) }),
  internal: (detail = 'internal server error') => new ScimError('internal', detail),
  notImplemented: (detail: string) => new ScimError('notImplemented', detail),
  // RFC 7231 §7.1.3: Retry-After with 503 tells the client how long the outage is expected to last; provisioning
  // clients (Entra ID) back off by it instead of hammering a server that is waiting for its database.
  unavailable: (detail: string, retryAfterSeconds = RETRY_AFTER_SECONDS) => new ScimError('unavailable', detail, { 'retry-after': String(retryAfterSeconds) }),
};
