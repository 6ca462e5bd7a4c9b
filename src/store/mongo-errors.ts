/**
 * Which MongoDB driver errors the client could not have caused and that go away when the database is back.
 * Those become 503 (RFC 7644 §3.12: "503 SERVICE UNAVAILABLE: Service is unavailable"), so a provisioning client
 * retries instead of giving up on a 500.
 */
import {
  MongoClientClosedError,
  MongoError,
  MongoNetworkError,
  MongoNotConnectedError,
  MongoOperationTimeoutError,
  MongoServerError,
  MongoServerSelectionError,
  MongoTopologyClosedError,
} from 'mongodb';
import { errors, isScimError, ScimError } from '../scim/errors';

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

export function isUnavailable(e: unknown): boolean {
  // MongoNetworkError covers the pool-cleared error (MongoPoolClearedError) and network timeouts;
  // MongoOperationTimeoutError only occurs when the URI sets timeoutMS.
  if (
    e instanceof MongoNetworkError ||
    e instanceof MongoServerSelectionError ||
    e instanceof MongoTopologyClosedError ||
    e instanceof MongoNotConnectedError ||
    e instanceof MongoOperationTimeoutError ||
    e instanceof MongoClientClosedError
  ) {
    return true;
  }
  if (e instanceof MongoServerError && typeof e.code === 'number' && UNAVAILABLE_CODES.has(e.code)) return true;
  return e instanceof MongoError && e.hasErrorLabel('RetryableWriteError');
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

/** Maps an error thrown while serving `what` to what the client should see; unknown errors stay as they are (500). */
export function translate(e: unknown, what: string): unknown {
  if (isScimError(e)) return e;
  if (isUnavailable(e)) {
    const err: ScimError = errors.unavailable(`the database is unavailable (${what}); try again later`);
    err.cause = e;
    return err;
  }
  return e;
}
