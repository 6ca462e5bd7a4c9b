/**
 * Which MongoDB driver errors the client could not have caused and that go away when the database is back, or
 * when the request is tried again. Those become 503 (RFC 7644 §3.12: "503 SERVICE UNAVAILABLE: Service is unavailable"), so a provisioning client
 * retries instead of giving up on a 500.
 */
import {
  MongoClientClosedError,
  MongoError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoOperationTimeoutError,
  MongoServerError,
  MongoServerClosedError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
} from 'mongodb';
import { setTimeout as sleep } from 'node:timers/promises';
import { errors, isScimError, ScimError } from '../../scim/errors';

/** Server codes that mean "this node cannot serve you right now" (shutdown, failover, network). */
const UNAVAILABLE_CODES = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  89, // NetworkTimeout
  91, // ShutdownInProgress
  189, // PrimarySteppedDown
  9001, // SocketException
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
]);

/**
 * Node's codes for a connection that failed or went away under the driver. The driver wraps most of these in a
 * MongoNetworkError, but not all: a write that waited for the socket to drain rejects with the socket's own error
 * (`EPIPE`, "This socket has been ended by the other party", when the database died mid-write).
 */
const NETWORK_CODES = new Set([
  'EPIPE',
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENETRESET',
  'ENOTCONN',
  'ESHUTDOWN',
  'EAI_AGAIN',
  'ERR_SOCKET_CLOSED',
  'ERR_STREAM_DESTROYED',
  'ERR_STREAM_PREMATURE_CLOSE',
  'ERR_STREAM_WRITE_AFTER_END',
]);

function isUnavailableItself(e: Error): boolean {
  // MongoNetworkError covers the pool-cleared error (MongoPoolClearedError) and network timeouts;
  // MongoOperationTimeoutError only occurs when the URI sets timeoutMS.
  if (
    e instanceof MongoNetworkError ||
    e instanceof MongoServerSelectionError ||
    e instanceof MongoTopologyClosedError ||
    e instanceof MongoNotConnectedError ||
    e instanceof MongoOperationTimeoutError ||
    e instanceof MongoClientClosedError ||
    e instanceof MongoServerClosedError
  ) {
    return true;
  }
  if (e instanceof MongoServerError && typeof e.code === 'number' && UNAVAILABLE_CODES.has(e.code)) return true;
  if (e instanceof MongoError && e.hasErrorLabel('RetryableWriteError')) return true;
  // A socket's error, also as the code of a driver error made from it (an insertMany cut off mid-write is a
  // MongoBulkWriteError with code 'EPIPE' and the socket's error as its errorResponse).
  const code = (e as NodeJS.ErrnoException).code;
  return typeof code === 'string' && NETWORK_CODES.has(code);
}

/** The error, or one it was made from (its cause, a driver error's errorResponse), says the database cannot be reached. */
export function isUnavailable(e: unknown): boolean {
  const seen = new Set<unknown>();
  const queue = [e];
  while (queue.length > 0 && seen.size < 16) {
    const at = queue.shift();
    if (!(at instanceof Error) || seen.has(at)) continue;
    seen.add(at);
    if (isUnavailableItself(at)) return true;
    queue.push(at.cause);
    if (at instanceof MongoServerError) queue.push(at.errorResponse);
  }
  return false;
}

/**
 * A duplicate-key error of a unique index. MongoDB reports E11000. FerretDB 1.24 (SQLite backend) reports a
 * unique violation on update as an InternalError whose message carries SQLite's "UNIQUE constraint failed";
 * accepting that too costs nothing on MongoDB.
 */
export function isDuplicateKey(e: unknown): e is MongoServerError {
  if (!(e instanceof MongoServerError)) return false;
  if (e.code === 11000 || e.code === 11001) return true;
  return e.code === 1 && /UNIQUE constraint failed/.test(e.message);
}

/**
 * A write that lost a race with a concurrent write and was rolled back, so running it again is safe: MongoDB's
 * WriteConflict (or the TransientTransactionError label); on PostgreSQL-based engines (FerretDB 2 with DocumentDB,
 * which enforces unique indexes as exclusion constraints), PostgreSQL's deadlock_detected (SQLSTATE 40P01) and
 * serialization_failure (40001), passed through as their numeric SQLSTATE codes. Concurrent inserts of one unique
 * value from two connections there can end in "deadlock detected" instead of a duplicate-key error.
 */
const WRITE_CONFLICT_CODES = new Set([
  112, // WriteConflict
  16908292, // PostgreSQL 40P01 deadlock_detected
  16777220, // PostgreSQL 40001 serialization_failure
]);

export function isWriteConflict(e: unknown): boolean {
  if (e instanceof MongoServerError && typeof e.code === 'number' && WRITE_CONFLICT_CODES.has(e.code)) return true;
  return e instanceof MongoError && e.hasErrorLabel('TransientTransactionError');
}

/**
 * Runs a single-document write again when it lost such a race, after a random pause that doubles each time (up to
 * 250 ms): contenders that retried in step would deadlock again, and spreading them out lets one commit.
 */
export async function retryWriteConflicts<T>(write: () => Promise<T>, attempts = 10): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (e) {
      if (attempt >= attempts || !isWriteConflict(e)) throw e;
      await sleep(Math.floor(Math.random() * Math.min(250, 5 * 2 ** attempt)));
    }
  }
}

/** Maps an error thrown while serving `what` to what the client should see; unknown errors stay as they are (500). */
export function asScimError(e: unknown, what: string): unknown {
  if (isScimError(e)) return e;
  if (isUnavailable(e)) {
    const err: ScimError = errors.unavailable(`the database is unavailable (${what}); try again later`);
    err.cause = e;
    return err;
  }
  if (isWriteConflict(e)) {
    const err: ScimError = errors.unavailable(`a concurrent write got in the way (${what}); try again`);
    err.cause = e;
    return err;
  }
  return e;
}

/** An unordered insertMany whose every failure was a duplicate key. */
export function everyDuplicate(e: unknown): boolean {
  const writeErrors = (e as { writeErrors?: { code?: number }[] | { code?: number } }).writeErrors;
  const list = Array.isArray(writeErrors) ? writeErrors : writeErrors ? [writeErrors] : [];
  return list.length > 0 && list.every((w) => w.code === 11000);
}
