/**
 * The single catalogue of SCIM errors (RFC 7644 §3.12).
 *
 * Every error the server can answer with is a `ScimError` built by one of the factories below, so the
 * status/scimType pairs live in one place and a test can compare them with openapi.yaml.
 */

export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';

/** Seconds a client is asked to wait before retrying after a 503. */
export const RETRY_AFTER_SECONDS = 5;

/** RFC 7644 §3.12 Table 9, plus the pagination errors of RFC 9865 §2.1 (Table 3). */
export type ScimType =
  | 'invalidFilter'
  | 'tooMany'
  | 'uniqueness'
  | 'mutability'
  | 'invalidSyntax'
  | 'invalidPath'
  | 'noTarget'
  | 'invalidValue'
  | 'invalidVers'
  | 'sensitive'
  | 'invalidCursor'
  | 'expiredCursor'
  | 'invalidCount';

/** code -> HTTP status and scimType. The code is what logs and tests refer to. */
export const ERROR_CATALOGUE = {
  invalidFilter: { status: 400, scimType: 'invalidFilter' },
  tooMany: { status: 400, scimType: 'tooMany' },
  uniqueness: { status: 409, scimType: 'uniqueness' },
  mutability: { status: 400, scimType: 'mutability' },
  invalidSyntax: { status: 400, scimType: 'invalidSyntax' },
  invalidPath: { status: 400, scimType: 'invalidPath' },
  noTarget: { status: 400, scimType: 'noTarget' },
  invalidValue: { status: 400, scimType: 'invalidValue' },
  invalidVers: { status: 400, scimType: 'invalidVers' },
  sensitive: { status: 400, scimType: 'sensitive' },
  invalidCursor: { status: 400, scimType: 'invalidCursor' },
  expiredCursor: { status: 400, scimType: 'expiredCursor' },
  invalidCount: { status: 400, scimType: 'invalidCount' },
  unauthorized: { status: 401 },
  forbidden: { status: 403 },
  notFound: { status: 404 },
  methodNotAllowed: { status: 405 },
  conflict: { status: 409 },
  preconditionFailed: { status: 412 },
  payloadTooLarge: { status: 413 },
  unsupportedMediaType: { status: 415 },
  tooManyRequests: { status: 429 },
  internal: { status: 500 },
  notImplemented: { status: 501 },
  unavailable: { status: 503 },
} as const satisfies Record<string, { status: number; scimType?: ScimType }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

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

  constructor(code: ErrorCode, detail: string, headers: Record<string, string> = {}) {
    super(detail);
    this.name = 'ScimError';
    const entry: { status: number; scimType?: ScimType } = ERROR_CATALOGUE[code];
    this.code = code;
    this.status = entry.status;
    this.scimType = entry.scimType;
    this.detail = detail;
    this.headers = headers;
  }

  toJSON(): ScimErrorBody {
    const body: ScimErrorBody = { schemas: [ERROR_SCHEMA], status: String(this.status), detail: this.detail };
    if (this.scimType) body.scimType = this.scimType;
    return body;
  }

  /** The same error with its detail prefixed, e.g. by "operation 2: ". */
  prefixed(prefix: string): ScimError {
    return new ScimError(this.code, prefix + this.detail, this.headers);
  }
}

export function isScimError(e: unknown): e is ScimError {
  return e instanceof ScimError;
}

/** One factory per scimType and per status, so call sites read as the RFC does. */
export const errors = {
  invalidFilter: (detail: string) => new ScimError('invalidFilter', detail),
  tooMany: (detail: string) => new ScimError('tooMany', detail),
  uniqueness: (detail: string) => new ScimError('uniqueness', detail),
  mutability: (detail: string) => new ScimError('mutability', detail),
  invalidSyntax: (detail: string) => new ScimError('invalidSyntax', detail),
  invalidPath: (detail: string) => new ScimError('invalidPath', detail),
  noTarget: (detail: string) => new ScimError('noTarget', detail),
  invalidValue: (detail: string) => new ScimError('invalidValue', detail),
  invalidVers: (detail: string) => new ScimError('invalidVers', detail),
  sensitive: (detail: string) => new ScimError('sensitive', detail),
  invalidCursor: (detail: string) => new ScimError('invalidCursor', detail),
  expiredCursor: (detail: string) => new ScimError('expiredCursor', detail),
  invalidCount: (detail: string) => new ScimError('invalidCount', detail),
  unauthorized: (detail: string, challenge = 'Bearer') =>
    new ScimError('unauthorized', detail, { 'www-authenticate': challenge }),
  forbidden: (detail: string, challenge?: string) =>
    new ScimError('forbidden', detail, challenge ? { 'www-authenticate': challenge } : {}),
  notFound: (detail: string) => new ScimError('notFound', detail),
  methodNotAllowed: (method: string, allow: readonly string[]) =>
    new ScimError('methodNotAllowed', `method ${method} is not allowed here; allowed: ${allow.join(', ')}`, {
      allow: allow.join(', '),
    }),
  conflict: (detail: string) => new ScimError('conflict', detail),
  preconditionFailed: (detail: string) => new ScimError('preconditionFailed', detail),
  payloadTooLarge: (detail: string) => new ScimError('payloadTooLarge', detail),
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
