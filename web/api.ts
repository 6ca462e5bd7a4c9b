/**
 * The page's only way out: this server's SCIM API (/scim/v2) with the signed-in bearer token. Errors come back as
 * ApiError with the SCIM error's fields (RFC 7644 §3.12: status, scimType, detail), which the views show next to
 * what they are about.
 */

export const BASE = '/scim/v2';
export { ENTERPRISE, MANAGER, PATCH_OP, PROFILE } from './urns';

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface ListResponse<T = JsonObject> {
  totalResults?: number;
  itemsPerPage?: number;
  nextCursor?: string;
  previousCursor?: string;
  Resources?: T[];
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly scimType?: string,
    /** Seconds to wait before trying again (Retry-After of a 429 or 503), when the server said. */
    readonly retryAfter?: number,
  ) {
    super(detail);
    this.name = 'ApiError';
  }
}

export interface Answer<T> {
  body: T;
  status: number;
  /** The resource's version (ETag header, RFC 7644 §3.14), for If-Match. */
  etag?: string;
}

export interface RequestOptions {
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  ifMatch?: string;
}

/** Requests time out rather than leave a button spinning forever on a hung connection. */
const TIMEOUT_MS = 30_000;

export class Api {
  /**
   * `token` reads the current token (from session storage, see session.ts); `unauthorized` is told when the server
   * answers 401, so the page can ask for a new one (an expired token).
   */
  constructor(
    private readonly token: () => string | undefined,
    private readonly unauthorized: (error: ApiError) => void = () => undefined,
  ) {}

  async request<T = JsonObject>(method: string, path: string, opts: RequestOptions = {}): Promise<Answer<T>> {
    const url = new URL(BASE + path, location.origin);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { accept: 'application/scim+json, application/json' };
    const token = this.token();
    if (token) headers.authorization = `Bearer ${token}`;
    if (opts.body !== undefined) headers['content-type'] = 'application/scim+json';
    if (opts.ifMatch) headers['if-match'] = opts.ifMatch;
    let res: Response;
    try {
      // no-store: answers depend on the token, and the page always wants the current version (If-Match is ours).
      res = await fetch(url, {
        method,
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        cache: 'no-store',
        credentials: 'omit',
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (e) {
      const why = e instanceof DOMException && e.name === 'TimeoutError' ? `no answer in ${TIMEOUT_MS / 1000} s` : 'the server could not be reached';
      throw new ApiError(0, why, 'network');
    }
    const text = await res.text();
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (!res.ok) {
      const err = body as { detail?: unknown; scimType?: unknown } | undefined;
      const retryAfter = Number(res.headers.get('retry-after') ?? NaN);
      const error = new ApiError(
        res.status,
        typeof err?.detail === 'string' ? err.detail : `${res.status} ${res.statusText}`,
        typeof err?.scimType === 'string' ? err.scimType : undefined,
        Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter : undefined,
      );
      if (res.status === 401) this.unauthorized(error);
      throw error;
    }
    return { body: body as T, status: res.status, etag: res.headers.get('etag') ?? undefined };
  }

  get<T = JsonObject>(path: string, query?: RequestOptions['query']): Promise<Answer<T>> {
    return this.request<T>('GET', path, { query });
  }
}

/** A SCIM filter string literal (RFC 7644 §3.4.2.2: JSON string syntax), safe for any text the user types. */
export function literal(text: string): string {
  return JSON.stringify(text);
}

/** The ETag's version number (W/"4" -> 4), for showing; the ETag itself is what If-Match sends. */
export function versionOf(etag: string | undefined): string | undefined {
  return etag?.match(/"(.*)"/)?.[1];
}
