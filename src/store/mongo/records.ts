/**
 * Records on MongoDB: one collection per resource type, one document per resource (layout in document.ts).
 *
 * Correctness rests on single-document operations only (no multi-document transactions, nothing FerretDB-only):
 *  - uniqueness: unique indexes over the normalised copy (indexes.ts); a duplicate-key error becomes 409;
 *  - lost updates: every replace/delete names the version it expects, `updateOne({_id, v: expected}, …)`;
 *  - a write that also changes other documents (a group's member pairs, a delete's pairs) goes by intent
 *    (intents.ts); its audit entry travels in the document's own write (audit.ts).
 */
import { Collection, Document, MongoServerError } from 'mongodb';
import type { StoredRecord } from '../../scim/resource';
import type { ResourceSchema } from '../../scim/schema';
import { errors, ScimError } from '../../scim/errors';
import { queryCopy } from '../../scim/query-copy';
import { membersAttribute } from '../../scim/members';
import type { JsonObject } from '../../scim/values';
import { KeyedQueue } from '../keyed-queue';
import { uniquenessError } from '../unique';
import type {
  Alongside,
  CreateItem,
  CreateOutcome,
  DeleteRequest,
  QueryOptions,
  QueryResult,
  ReplaceRequest,
  ResourceStore,
  StoredView,
  WriteOutcome,
} from '../store';
import { auditEntriesOf } from '../store';
import { collectionName, fromDocument, toDocument, type ResourceDocument } from './document';
import { isDuplicateKey, retryWriteConflicts } from './errors';
import { indexPlan, type UniqueIndex } from './indexes';
import { chunks } from './members';
import { encodeEntry, type MongoAudit } from './audit';
import { WRITE_READ_PROJECTION, type Intents } from './intents';
import { MongoQueries, RECORD_PROJECTION, type QueryTuning } from './queries';
import type { MongoConnection } from './connection';
import { createMany } from './create-many';

/** The value at a dotted field path of a document (keys never hold a '.': document.ts encodes them). */
function valueAtPath(doc: Document, path: string): unknown {
  let at: unknown = doc;
  for (const key of path.split('.')) at = at !== null && typeof at === 'object' ? (at as Document)[key] : undefined;
  return at;
}

/** Reads the index a duplicate-key error names (MongoDB gives keyPattern and the index name). */
function identifyIndex(unique: UniqueIndex[], e: MongoServerError): UniqueIndex | 'id' | undefined {
  const pattern: unknown = e.keyPattern ?? e.errorResponse.keyPattern;
  if (pattern && typeof pattern === 'object') {
    const fields = Object.keys(pattern);
    if (fields.length === 1 && fields[0] === '_id') return 'id';
    const byPath = unique.find((u) => fields.includes(u.path));
    if (byPath) return byPath;
  }
  const message = e.message;
  const byName = [...unique].sort((a, b) => b.name.length - a.name.length).find((u) => message.includes(u.name));
  if (byName) return byName;
  if (/index: _id_ /.test(message)) return 'id';
  return undefined;
}

/** Documents a walk reads per round trip. */
const WALK_BATCH = 1000;

export class MongoResources implements ResourceStore {
  readonly queries: MongoQueries;
  /**
   * Inserts and replaces that write one unique value (a userName) take turns in this process. The unique index
   * decides between instances; but an engine that enforces it with locks (DocumentDB: exclusion constraints) lets
   * many concurrent writers of one key deadlock each other over and over, so that all of them can fail. In turns,
   * the database sees one contender per instance.
   */
  private readonly uniqueTurns = new KeyedQueue();
  /** The audit entry each record read by get() had in its document (null: none), for the write that follows. */
  private readonly entriesRead = new WeakMap<StoredRecord, JsonObject | JsonObject[] | null>();

  constructor(
    private readonly conn: MongoConnection,
    private readonly intents: Intents,
    private readonly audit: MongoAudit,
    tuning: QueryTuning = {},
  ) {
    this.queries = new MongoQueries(conn, tuning);
  }

  async create(schema: ResourceSchema, record: StoredRecord, { members, audit }: Alongside = {}): Promise<void> {
    const pend = members ? this.intents.intent({ members }) : undefined;
    const coll = await this.conn.guard('create', () => this.conn.collection(schema));
    await this.conn.guard('create', async () => {
      const doc = toDocument(schema, record);
      if (audit) doc.aud = encodeEntry(audit);
      if (pend) {
        doc.pend = pend;
        this.intents.begin(record.id);
      }
      try {
        await this.inTurn(coll, schema, doc, () => retryWriteConflicts(() => coll.insertOne(doc)));
      } catch (e) {
        this.intents.abandon(record.id);
        if (isDuplicateKey(e)) throw await this.duplicate(schema, coll, record, e, true);
        throw e;
      }
    });
    if (audit) this.audit.enqueue(coll, audit);
    if (pend) await this.conn.guard('create', () => this.intents.finish(coll, record.id, record.version, pend));
  }

  createMany(schema: ResourceSchema, items: readonly (CreateItem | null)[], maxErrors = Infinity): Promise<CreateOutcome[]> {
    return createMany(
      { conn: this.conn, intents: this.intents, audit: this.audit, duplicate: (coll, record, e) => this.duplicate(schema, coll, record, e, true) },
      schema,
      items,
      maxErrors,
    );
  }

  async get(schema: ResourceSchema, id: string): Promise<StoredRecord | undefined> {
    return this.conn.guard('get', async () => {
      const coll = await this.conn.collection(schema);
      // The audit entry comes along: a write of this record replaces it, and must know whether it was copied.
      let doc: ResourceDocument | null | undefined = await coll.findOne({ _id: id }, { projection: WRITE_READ_PROJECTION });
      if (doc?.pend) doc = await this.intents.settle(coll, doc);
      if (!doc) return undefined;
      const record = fromDocument(schema, doc);
      this.entriesRead.set(record, doc.aud ?? null);
      return record;
    });
  }

  async getMany(schema: ResourceSchema, ids: readonly string[]): Promise<StoredRecord[]> {
    if (ids.length === 0) return [];
    return this.conn.guard('get', async () => {
      const coll = await this.conn.collection(schema);
      const out: StoredRecord[] = [];
      for (const part of chunks(ids)) {
        for (const doc of await coll.find({ _id: { $in: part } }, { projection: RECORD_PROJECTION }).toArray()) out.push(fromDocument(schema, doc));
      }
      return out;
    });
  }

  /**
   * The view and version alone: the document's other fields are neither sent by the database nor decoded. A
   * member of some group (`gm`) is flagged: its representation has `groups`, which the view does not hold.
   */
  async getView(schema: ResourceSchema, id: string): Promise<StoredView | undefined> {
    return this.conn.guard('get', async () => {
      const coll = await this.conn.collection(schema);
      const doc = await coll.findOne({ _id: id }, { projection: { v: 1, view: 1, gm: 1 } });
      if (!doc || typeof doc.view !== 'string') return undefined;
      return doc.gm ? { version: doc.v, view: doc.view, member: true } : { version: doc.v, view: doc.view };
    });
  }

  /**
   * Every document of the collection in _id order, WALK_BATCH at a time, through the plain collection: no index is
   * made on the way (the schema check walks before indexes stored data might contradict are created).
   */
  async walk(schema: ResourceSchema, visit: (records: StoredRecord[]) => Promise<void> | void): Promise<void> {
    const coll = this.conn.db.collection<ResourceDocument>(collectionName(schema));
    let from: string | undefined;
    for (;;) {
      const after = from;
      const docs = await this.conn.guard('walk', () =>
        coll.find(after === undefined ? {} : { _id: { $gt: after } }, { projection: RECORD_PROJECTION, sort: { _id: 1 }, limit: WALK_BATCH }).toArray(),
      );
      if (docs.length === 0) return;
      await visit(docs.map((d) => fromDocument(schema, d)));
      from = docs[docs.length - 1]!._id;
    }
  }

  /** A list's views would cost another round trip to read: its page is rendered instead. */
  getViews(): undefined {
    return undefined;
  }

  async replace(schema: ResourceSchema, { record, expectedVersion, current, members, audit }: ReplaceRequest): Promise<WriteOutcome> {
    if (record.version <= expectedVersion) {
      throw new Error(`replace of ${record.id}: version ${record.version} does not follow ${expectedVersion}`);
    }
    const coll = await this.conn.guard('replace', () => this.conn.collection(schema));
    const pend = members ? this.intents.intent({ members }) : undefined;
    const entries = auditEntriesOf(audit);
    const outcome = await this.conn.guard('replace', async (): Promise<WriteOutcome> => {
      const doc = toDocument(schema, record);
      const { _id, ...replacement } = doc;
      if (pend) replacement.pend = pend;
      // The membership mark stays with the document (a replacement would drop it): it is taken from the record the
      // caller read, and the guard checks it is still so (a member added meanwhile makes this a conflict, retried).
      const marked = current !== undefined ? current.member === true : (await coll.findOne({ _id }, { projection: { gm: 1 } }))?.gm === true;
      if (marked) replacement.gm = true;
      try {
        // A rename racing another onto one unique value can end in a write conflict (a deadlock on PostgreSQL-based
        // engines) rather than a duplicate key; the statement was rolled back, so running it again is safe. A
        // document with an intent still to carry out is not replaced (intents.ts): the caller retries.
        if (pend) this.intents.begin(_id);
        // Every field of the document is set (or unset), this write's audit entry among them, in one single-document
        // update (audit.ts): the entry is stored if and only if the write is. The entry it replaces was copied.
        if (entries.length > 0) {
          await this.audit.beforeReplacing(coll, _id, expectedVersion, current ? this.entriesRead.get(current) : undefined);
          replacement.aud = entries.length === 1 ? encodeEntry(entries[0]!) : entries.map(encodeEntry);
        }
        const unset: Record<string, ''> = {};
        for (const field of ['secrets', 'view'] as const) if (replacement[field] === undefined) unset[field] = '';
        const update: Document = { $set: replacement };
        if (Object.keys(unset).length > 0) update.$unset = unset;
        const result = await this.inTurn(coll, schema, doc, () =>
          retryWriteConflicts(() => coll.updateOne({ _id, v: expectedVersion, pend: { $exists: false }, gm: marked ? true : { $exists: false } }, update)),
        );
        if (result.matchedCount === 1) return 'ok';
      } catch (e) {
        this.intents.abandon(_id);
        if (isDuplicateKey(e)) throw await this.duplicate(schema, coll, record, e, false);
        throw e;
      }
      this.intents.abandon(_id);
      return this.missOutcome(coll, record.id);
    });
    if (outcome === 'ok') for (const entry of entries) this.audit.enqueue(coll, entry);
    if (outcome === 'ok' && pend) await this.conn.guard('replace', () => this.intents.finish(coll, record.id, record.version, pend));
    return outcome;
  }

  async delete(schema: ResourceSchema, { id, expectedVersion, audit }: DeleteRequest): Promise<WriteOutcome> {
    const coll = await this.conn.guard('delete', () => this.conn.collection(schema));
    return this.conn.guard('delete', async () => {
      for (let attempt = 1; ; attempt++) {
        const doc = await coll.findOne({ _id: id }, { projection: { v: 1, gm: 1, pend: 1, aud: 1 } });
        if (!doc) return 'missing';
        if (expectedVersion !== undefined && doc.v !== expectedVersion) return 'conflict';
        if (attempt > 20) throw errors.conflict(`${schema.type.name} ${id} is being modified concurrently; retry`);
        if (doc.pend) {
          // Another write of it is half done: finish it if it is ours or stale, else give it a moment.
          if (!(await this.intents.settle(coll, doc))) return 'missing';
          await new Promise((r) => setTimeout(r, 5 * attempt));
          continue;
        }
        // A resource in no group (never marked) that holds no members goes in one statement; one with pairs goes by
        // intent: marked for deletion, its pairs removed, then the document (intents.ts).
        if (!doc.gm && !membersAttribute(schema) && !audit) {
          const result = await coll.deleteOne({ _id: id, v: doc.v, gm: { $exists: false }, pend: { $exists: false } });
          if (result.deletedCount === 1) return 'ok';
          continue;
        }
        const pend = this.intents.intent({ delete: true });
        const mark: Document = { $set: { pend } };
        if (audit) {
          await this.audit.beforeReplacing(coll, id, doc.v, doc.aud ?? null);
          mark.$set.aud = encodeEntry({ ...audit, versionBefore: doc.v });
        }
        const marked = await coll.updateOne({ _id: id, v: doc.v, pend: { $exists: false } }, mark);
        if (marked.matchedCount === 0) continue;
        await this.intents.finish(coll, id, doc.v, pend);
        return 'ok';
      }
    });
  }

  query(schema: ResourceSchema, options: QueryOptions): Promise<QueryResult> {
    return this.queries.query(schema, options);
  }

  /**
   * Runs a write of `doc` in the turn of its unique values (see uniqueTurns), read from the normalised copy the
   * document already holds, where the unique indexes read them; at once when it has none.
   */
  private inTurn<T>(coll: Collection<ResourceDocument>, schema: ResourceSchema, doc: ResourceDocument, write: () => Promise<T>): Promise<T> {
    const values = indexPlan(schema).unique.map((u) => valueAtPath(doc as unknown as Document, u.path));
    if (values.every((v) => v === undefined || v === null)) return write();
    return this.uniqueTurns.run(`${coll.collectionName}\0${JSON.stringify(values)}`, write);
  }

  /** A guarded write matched nothing: the resource is gone, or it is there at another version. */
  private async missOutcome(coll: Collection<ResourceDocument>, id: string): Promise<WriteOutcome> {
    const exists = await coll.findOne({ _id: id }, { projection: { _id: 1 } });
    return exists ? 'conflict' : 'missing';
  }

  /** Names the attribute of a duplicate-key error in a 409 `uniqueness` error. */
  private async duplicate(
    schema: ResourceSchema,
    coll: Collection<ResourceDocument>,
    record: StoredRecord,
    e: MongoServerError,
    creating: boolean,
  ): Promise<ScimError> {
    const { unique } = indexPlan(schema);
    const which = identifyIndex(unique, e) ?? (await this.probe(coll, schema, unique, record, creating));
    if (which === 'id') return uniquenessError('id', record.id);
    if (which) {
      const values = which.attribute.read(record.resource);
      return uniquenessError(which.attribute.label, values.length === 1 ? values[0]! : values);
    }
    return errors.uniqueness('a unique attribute of the resource is already taken');
  }

  /**
   * FerretDB's duplicate-key errors name no index, so the attribute is found by looking for the other holder of
   * each unique value. This read only words the error; the unique index alone decided that the write failed.
   */
  private async probe(
    coll: Collection<ResourceDocument>,
    schema: ResourceSchema,
    unique: UniqueIndex[],
    record: StoredRecord,
    creating: boolean,
  ): Promise<UniqueIndex | 'id' | undefined> {
    try {
      const q = queryCopy(schema, record.resource);
      for (const u of unique) {
        const values = u.attribute.read(q);
        if (values.length === 0) continue;
        const other = await coll.findOne({ [u.path]: { $in: values }, _id: { $ne: record.id } }, { projection: { _id: 1 } });
        if (other) return u;
      }
      if (creating && (await coll.findOne({ _id: record.id }, { projection: { _id: 1 } }))) return 'id';
    } catch {
      // The generic message will do.
    }
    return undefined;
  }
}
