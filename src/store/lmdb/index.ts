/**
 * The embedded store: LMDB (through the `lmdb` package) in a data directory, the default when no MONGODB_URI is
 * set. One environment (environment.ts) shared by its concerns: records (records.ts), queries (queries.ts, planned
 * by plan.ts), group memberships (members.ts) and the audit trail (audit.ts).
 */
import { mkdirSync } from 'node:fs';
import type { ResourceSchema } from '../../scim/schema';
import type { DirectoryReader, IndexBuild, NoteStore, SchemaStateStore, Store, StoreStats } from '../store';
import type { SchemaState } from '../../scim/schema-state';
import { LmdbEnvironment } from './environment';
import { LmdbAudit } from './audit';
import { LmdbMemberships } from './members';
import { LmdbResources } from './records';
import { LmdbReader } from './reader';

export { LMDB_OPTIONS, SUB_DATABASES } from './environment';

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

  /**
   * Drops views another writer made stale, keeps unique keys in step with the unique attributes, and lays out the
   * index (paths indexed since the records were stored are built in the background: indexing()).
   */
  async init(schemas: readonly ResourceSchema[] = []): Promise<void> {
    this.db.dropViewsAfterForeignWrites();
    await this.resources.buildUniqueKeys(schemas);
    await this.resources.queries.buildIndexes(schemas);
  }

  readonly schemaState: SchemaStateStore = {
    read: async (type) => {
      const text = this.db.meta.get(['schema-state', type]);
      return text === undefined ? undefined : (JSON.parse(text) as SchemaState);
    },
    write: async (type, state) => {
      await this.db.write(() => this.db.meta.put(['schema-state', type], JSON.stringify(state)));
    },
  };

  readonly notes: NoteStore = {
    read: async (name) => this.db.meta.get(['note', name]),
    write: async (name, value) => {
      await this.db.write(() => (value === undefined ? this.db.meta.remove(['note', name]) : this.db.meta.put(['note', name], value)));
    },
  };

  reader(): DirectoryReader {
    return new LmdbReader(this.db, this.audit);
  }

  indexing(): IndexBuild[] {
    return this.resources.queries.indexing();
  }

  indexed(): Promise<void> {
    return this.resources.queries.settled;
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
