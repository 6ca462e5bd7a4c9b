/**
 * Opaque cursors for cursor-based paging (RFC 9865).
 *
 * A cursor names a position in the result order (keyset: the sort value and id of a record), not an offset, so it
 * stays valid while resources are created and deleted: paging on returns every resource that existed throughout
 * exactly once. It records the page size it was issued for, since RFC 9865 §2.1 wants every page of a query asked
 * with the same `count` (`invalidCount` otherwise). It is signed (HMAC-SHA256) so a client cannot forge a position
 * (with a key that must never be public: see withProcessKeys in dev-key.ts), bound to the resource type, filter and
 * sort it was issued for, and valid for at least the advertised cursorTimeout (RFC 9865 §4: "the minimum number of
 * seconds that a cursor is valid between page requests").
 * Invalid cursors answer `invalidCursor`, expired ones `expiredCursor`.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { errors } from './errors';
import type { Json } from './values';

/** A record's place in the result order: its id, and the value it sorts by when the result is sorted (absent: none). */
export interface CursorKey {
  id: string;
  value?: Json;
}

export type CursorPosition =
  /** The page strictly after (next) or strictly before (previous) a key. */
  | { direction: 'after' | 'before'; key: CursorKey }
  /** The first page: what an empty previous page links to as its next page. */
  | { direction: 'start' };

export interface CursorState {
  position: CursorPosition;
  /** The page size of the query that issued the cursor. */
  count: number;
}

interface Payload {
  v: 2;
  d: 'a' | 'b' | 's';
  id?: string;
  /** The sort value, when there is one. */
  k?: Json;
  c: number;
  /** Hash of what the cursor is bound to: resource type, filter and sort. */
  q: string;
  /** Expiry, seconds since the epoch. */
  exp: number;
}

const DIRECTIONS = { after: 'a', before: 'b', start: 's' } as const;

export class CursorCodec {
  private readonly key: Buffer;

  constructor(
    secret: string,
    readonly timeoutSeconds: number,
    private readonly now: () => number = () => Date.now(),
  ) {
    this.key = createHash('sha256').update('scim-cursor\0').update(secret).digest();
  }

  private scope(context: string): string {
    return createHash('sha256').update(context).digest('base64url').slice(0, 16);
  }

  private sign(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }

  encode(state: CursorState, context: string): string {
    const { position } = state;
    const payload: Payload = {
      v: 2,
      d: DIRECTIONS[position.direction],
      ...(position.direction === 'start' ? {} : { id: position.key.id, ...('value' in position.key ? { k: position.key.value } : {}) }),
      c: state.count,
      q: this.scope(context),
      // cursorTimeout is a minimum: the expiry is rounded up to the next whole second, never down.
      exp: Math.ceil(this.now() / 1000) + this.timeoutSeconds,
    };
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return `${body}.${this.sign(body)}`;
  }

  /** `context` must be what the cursor was issued for (resource type, filter, sort); anything else is invalid. */
  decode(cursor: string, context: string): CursorState {
    const invalid = () => errors.invalidCursor(`cursor ${JSON.stringify(cursor.slice(0, 64))} is not a cursor this server issued for this query`);
    const [body, mac, extra] = cursor.split('.');
    if (!body || !mac || extra !== undefined) throw invalid();
    const expected = Buffer.from(this.sign(body));
    const given = Buffer.from(mac);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) throw invalid();
    let payload: Payload;
    try {
      payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Payload;
    } catch {
      throw invalid();
    }
    if (typeof payload !== 'object' || payload === null || payload.v !== 2 || !Number.isSafeInteger(payload.c) || payload.c < 0 || !Number.isSafeInteger(payload.exp)) throw invalid();
    if (payload.d !== 's' && (typeof payload.id !== 'string' || (payload.d !== 'a' && payload.d !== 'b'))) throw invalid();
    if (payload.q !== this.scope(context)) {
      throw errors.invalidCursor('the cursor was issued for a different filter, sort or resource type');
    }
    if (payload.exp * 1000 < this.now()) {
      throw errors.expiredCursor(`the cursor expired; cursors are valid for ${this.timeoutSeconds} seconds`);
    }
    if (payload.d === 's') return { position: { direction: 'start' }, count: payload.c };
    const key: CursorKey = { id: payload.id! };
    if ('k' in payload) key.value = payload.k;
    return { position: { direction: payload.d === 'a' ? 'after' : 'before', key }, count: payload.c };
  }
}
