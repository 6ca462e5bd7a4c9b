/**
 * Types of ferretdb.js, the one starter of the test database (FerretDB 2.5 on a private PostgreSQL 15 cluster with
 * DocumentDB) shared by test/run-tap.js, the TypeScript tests and bench/.
 */

export interface FerretDB {
  /** mongodb://127.0.0.1:<port>/ */
  uri: string;
  /** FerretDB's TCP port (PostgreSQL listens on a Unix socket in the data directory only). */
  port: number;
  /** pgdata/ (the PostgreSQL cluster), state/ (FerretDB's), run/ (socket, postgres.log, ferretdb.log). */
  dataDir: string;
  /** Stops FerretDB, then PostgreSQL; removes the data directory unless the caller supplied it. */
  stop(): Promise<void>;
  /**
   * The database dies at once (SIGKILL to FerretDB, PostgreSQL and its backends), as under an OOM killer; the data
   * directory is removed unless the caller supplied it.
   */
  kill(): Promise<void>;
}

export interface StartOptions {
  /** Listen on this port instead of a free one (to restart a stopped instance where clients expect it). */
  port?: number;
  /** Keep the database here (kept after stop, so a later start reopens it) instead of in a fresh temporary directory. */
  dataDir?: string;
  /** The FerretDB 2.5 binary (default: ferretdbBinary()). */
  bin?: string;
}

/** Machine-level state: SCIM_TESTDB_HOME, or /opt/scim-testdb as root, else ~/.cache/scim-testdb. */
export function testdbHome(): string;

/** FERRETDB_BIN, or <testdbHome()>/bin/ferretdb. */
export function ferretdbBinary(): string;

/**
 * Finds FerretDB and PostgreSQL 15 + DocumentDB, installing them with scripts/install-test-db.sh when something is
 * missing; the reason when that cannot be done.
 */
export function locateFerretDB(): { bin: string } | { reason: string };

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number>;

export function startFerretDB(options?: StartOptions): Promise<FerretDB>;
