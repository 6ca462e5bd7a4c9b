/**
 * Opaque cursors for cursor-based paging (RFC 9865).
 *
 * A cursor names a position in the id order (keyset), not an offset, so it stays valid while resources are created
 * and deleted: paging on returns every resource that existed throughout exactly once. It is signed (HMAC-SHA256) so
 * a client cannot forge a position, bound to the resource type and filter it was issued for, and expires after the
 * advertised cursorTimeout. Invalid cursors answer `invalidCursor`, expired ones `expiredCursor`.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { errors } from './errors';

export interface CursorPosition {
  /** Page strictly after this id (next), or strictly before it (previous). */
  direction: 'after' | 'before';
  id: string;
}

interface Payload {
  v: 1;
  d: 'a' | 'b';
  id: string;
  /** Hash of what the cursor is bound to: resource type and filter. */
  q: string;
  /** Expiry, seconds since the epoch. */
  exp: number;
}

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

  encode(position: CursorPosition, context: string): string {
    const payload: Payload = {
      v: 1,
      d: position.direction === 'after' ? 'a' : 'b',
      id: position.id,
      q: this.scope(context),
      exp: Math.floor(this.now() / 1000) + this.timeoutSeconds,
    };
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return `${body}.${this.sign(body)}`;
  }

  /** `context` must be what the cursor was issued for (resource type and filter); anything else is invalid. */
  decode(cursor: string, context: string): CursorPosition {
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
    if (payload.v !== 1 || typeof payload.id !== 'string' || (payload.d !== 'a' && payload.d !== 'b')) throw invalid();
    if (payload.q !== this.scope(context)) {
      throw errors.invalidCursor('the cursor was issued for a different filter or resource type');
    }
    if (payload.exp * 1000 < this.now()) {
      throw errors.expiredCursor(`the cursor expired; cursors are valid for ${this.timeoutSeconds} seconds`);
    }
    return { direction: payload.d === 'a' ? 'after' : 'before', id: payload.id };
  }
}
