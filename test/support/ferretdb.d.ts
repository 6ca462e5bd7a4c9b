/** Types of ferretdb.js, the one FerretDB starter shared by test/run-tap.js and the TypeScript tests. */

export interface FerretDB {
  /** mongodb://127.0.0.1:<port>/ */
  uri: string;
  port: number;
  dataDir: string;
  /** Stops the process; removes the data directory unless the caller supplied it. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Listen on this port instead of a free one (to restart a stopped instance where clients expect it). */
  port?: number;
  /** Keep the SQLite files here (kept after stop) instead of in a fresh temporary directory. */
  dataDir?: string;
  bin?: string;
}

/** FERRETDB_BIN, or <repo>/.tools/bin/ferretdb. */
export function ferretdbBinary(): string;

/** Finds the binary, building it with scripts/install-ferretdb.sh when it is missing and Go is installed. */
export function locateFerretDB(): { bin: string } | { reason: string };

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number>;

export function startFerretDB(options?: StartOptions): Promise<FerretDB>;
