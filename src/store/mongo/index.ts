/**
 * The MongoDB store: its concerns over one client (connection.ts): records and their writes (records.ts, batches in
 * create-many.ts, writes that span documents in intents.ts), queries (queries.ts, filter.ts, window.ts, indexes.ts),
 * group memberships (members.ts) and the audit trail (audit.ts).
 */
import type { MongoClient } from 'mongodb';
import type { ResourceSchema } from '../../scim/schema';
import type { DirectoryReader, IndexBuild, NoteStore, SchemaStateStore, Store } from '../store';
import type { SchemaState } from '../../scim/schema-state';

/** The collection of the schema states (one document per resource type). */
const SCHEMA_STATE = 'scim_schema_state';
/** The collection of the server's notes (NoteStore): one document per name. */
const NOTES = 'scim_notes';
import { MongoConnection, type ConnectionOptions } from './connection';
import { MongoMemberships } from './members';
import { MongoAudit } from './audit';
import { Intents } from './intents';
import { MongoResources } from './records';
import type { QueryTuning } from './queries';
import { MongoReader } from './reader';

export type MongoStoreOptions = ConnectionOptions & QueryTuning;

export class MongoStore implements Store {
  readonly kind = 'mongodb' as const;
  readonly resources: MongoResources;
  readonly memberships: MongoMemberships;
  readonly audit: MongoAudit;
  private readonly conn: MongoConnection;

  constructor(options: MongoStoreOptions) {
    this.conn = new MongoConnection(options);
    this.memberships = new MongoMemberships(this.conn);
    this.audit = new MongoAudit(this.conn);
    this.resources = new MongoResources(this.conn, new Intents(this.memberships, this.audit), this.audit, options);
  }

  get client(): MongoClient {
    return this.conn.client;
  }

  async init(schemas: readonly ResourceSchema[] = []): Promise<void> {
    await this.ping();
    // Creating indexes over an existing large collection may take a while: start-up gets a longer deadline.
    await this.conn.guard(
      'init',
      () => Promise.all([...schemas.map((s) => this.conn.collection(s)), this.memberships.ready(), this.audit.ready()]),
      this.conn.operationTimeoutMS * 12,
    );
    // Audit entries another run left in their documents (it stopped before copying them) are copied now and then.
    await this.audit.startSweeping();
  }

  ping(): Promise<void> {
    return this.conn.ping();
  }

  /** One document per resource type in `scim_schema_state`: the shapes its data was last checked against. */
  readonly schemaState: SchemaStateStore = {
    read: (type) =>
      this.conn.guard('schema state', async () => {
        const doc = await this.conn.db.collection<{ _id: string; state: string }>(SCHEMA_STATE).findOne({ _id: type });
        return doc ? (JSON.parse(doc.state) as SchemaState) : undefined;
      }),
    write: (type, state) =>
      this.conn.guard('schema state', async () => {
        // Text, not a document: labels hold dots (`name.givenName`, `urn:…:2.0:User:…`), which field names may not.
        await this.conn.db.collection<{ _id: string; state: string }>(SCHEMA_STATE).replaceOne({ _id: type }, { state: JSON.stringify(state) }, { upsert: true });
      }),
  };

  readonly notes: NoteStore = {
    read: (name) =>
      this.conn.guard('notes', async () => (await this.conn.db.collection<{ _id: string; value: string }>(NOTES).findOne({ _id: name }))?.value),
    write: (name, value) =>
      this.conn.guard('notes', async () => {
        const coll = this.conn.db.collection<{ _id: string; value: string }>(NOTES);
        if (value === undefined) await coll.deleteOne({ _id: name });
        else await coll.replaceOne({ _id: name }, { value }, { upsert: true });
      }),
  };

  reader(): DirectoryReader {
    return new MongoReader(this.conn, this.memberships, this.audit);
  }

  indexing(): IndexBuild[] {
    return [...this.conn.builds.values()].map((b) => ({ ...b }));
  }

  indexed(): Promise<void> {
    return this.conn.settled;
  }

  /** Told of a background index build that failed. */
  set onIndexError(listener: (err: unknown, index: string) => void) {
    this.conn.onIndexError = listener;
  }

  /** A database elsewhere: its figures are its own tools' to give. */
  stats(): undefined {
    return undefined;
  }

  async close(): Promise<void> {
    await this.audit.close();
    await this.conn.close();
  }
}

/** A store for the database `dbName` at `uri`, its indexes created and the database reached (or a 503 thrown). */
export async function connectMongoStore(options: MongoStoreOptions & { schemas?: readonly ResourceSchema[] }): Promise<MongoStore> {
  const store = new MongoStore(options);
  try {
    await store.init(options.schemas);
  } catch (e) {
    await store.close().catch(() => undefined);
    throw e;
  }
  return store;
}
