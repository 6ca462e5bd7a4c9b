/**
 * The embedded store: LMDB (through the `lmdb` package) in a data directory, the default when no MONGODB_URI is
 * set. One environment (environment.ts) shared by its concerns: records (records.ts), queries (queries.ts, planned
 * by plan.ts), group memberships (members.ts) and the audit trail (audit.ts).
 */
import { mkdirSync } from 'node:fs';
import type { ResourceSchema } from '../../scim/schema';
import type { Store, StoreStats } from '../store';
import { LmdbEnvironment } from './environment';
import { LmdbAudit } from './audit';
import { LmdbMemberships } from './members';
import { LmdbResources } from './records';

export { LMDB_OPTIONS } from './environment';

export interface LmdbStoreOptions {
  /** The data directory; created when missing. */
  path: string;
}

export class LmdbStore implements Store {
  readonly kind = 'lmdb' as const;
  readonly path: string;
  readonly resources: LmdbResources;
  readonly memberships: LmdbMemberships;
  readonly audit: LmdbAudit;
  private readonly db: LmdbEnvironment;

  constructor(options: LmdbStoreOptions) {
    this.path = options.path;
    this.db = new LmdbEnvironment(options.path);
    this.memberships = new LmdbMemberships(this.db);
    this.audit = new LmdbAudit(this.db);
    this.resources = new LmdbResources(this.db, this.memberships, this.audit);
  }

  /** Drops views another writer made stale, and (re)builds index entries made with an older index plan. */
  async init(schemas: readonly ResourceSchema[] = []): Promise<void> {
    this.db.dropViewsAfterForeignWrites();
    await this.resources.queries.buildIndexes(schemas);
  }

  async ping(): Promise<void> {
    // A read of the environment: fails when it was closed.
    this.db.counts.get(['']);
  }

  stats(): StoreStats {
    return this.db.stats();
  }

  /** A consistent, compacted copy of the environment in `target` (a directory), taken while writes go on. */
  async backup(target: string): Promise<void> {
    await this.db.backup(target);
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

/**
 * Copies the environment in `source` (possibly in use by a running server) to `target`, compacted, and reports
 * what the copy holds.
 */
export async function backupLmdb(source: string, target: string): Promise<StoreStats> {
  const store = new LmdbStore({ path: source });
  try {
    mkdirSync(target, { recursive: true, mode: 0o700 });
    await store.backup(target);
  } finally {
    await store.close();
  }
  const copy = new LmdbStore({ path: target });
  try {
    return copy.stats();
  } finally {
    await copy.close();
  }
}
