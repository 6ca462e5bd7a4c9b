/**
 * The MongoDB store: one collection per resource type, one document per resource (layout in mongo-document.ts).
 *
 * Correctness rests on single-document operations only — no multi-document transactions, nothing FerretDB-only:
 *  - uniqueness: unique indexes over the normalised copy (mongo-indexes.ts); a duplicate-key error becomes 409;
 *  - lost updates: every replace/delete names the version it expects, `replaceOne({_id, v: expected}, doc)`.
 *
 * When the database cannot be reached, operations fail fast (serverSelectionTimeoutMS, 2 s unless the URI says
 * otherwise) with 503, and work again once it is back: the driver reconnects on its own. When it is reachable but
 * does not answer (a frozen process, a network partition that drops packets), every store call is bounded by
 * `operationTimeoutMS` (SCIM_DB_TIMEOUT_MS): the call fails with 503 at that deadline, and the socket is given up
 * shortly after (socketTimeoutMS), so a hung database never hangs a client for longer than the bound. A write that
 * timed out may still have been applied; 503 tells the client to retry, and the version guard keeps a retry safe.
 */
import { Collection, Document, MongoClient, MongoClientOptions, MongoServerError, Sort } from 'mongodb';
import type { StoredRecord } from '../scim/resource';
import type { ResourceSchema } from '../scim/schema';
import { errors, ScimError } from '../scim/errors';
import { evaluateFilter } from '../scim/filter/evaluate';
import { queryCopy } from '../scim/query-copy';
import { compileFilter } from './mongo-filter';
import { collectionName, decodeKeys, fieldPath, fromDocument, ResourceDocument, toDocument } from './mongo-document';
import { isDuplicateKey, retryWriteConflicts, translate } from './mongo-errors';
import { indexPlan, UniqueIndex } from './mongo-indexes';
import { comparator, sortPlan, SortPlan } from './sort';
import { uniquenessError } from './unique';
import type { QueryOptions, QueryResult, ResourceStore, WriteOutcome } from './store';

export interface MongoStoreOptions {
  uri: string;
  dbName: string;
  /** How long an operation waits for a reachable server before failing with 503; a value in the URI wins. */
  serverSelectionTimeoutMS?: number;
  /** The longest one store call may take before it fails with 503 (SCIM_DB_TIMEOUT_MS). */
  operationTimeoutMS?: number;
  clientOptions?: MongoClientOptions;
}

const DEFAULT_SERVER_SELECTION_TIMEOUT_MS = 2000;
export const DEFAULT_OPERATION_TIMEOUT_MS = 5000;

/** Everything but the normalised copy, which only the database reads. */
const RECORD_PROJECTION = { q: 0 } as const;

/** Part of a sorted result: the documents matching `where`, in `sort` order. */
interface Segment {
  where: Document;
  sort: Sort;
}

function and(a: Document, b: Document): Document {
  if (Object.keys(a).length === 0) return b;
  if (Object.keys(b).length === 0) return a;
  return { $and: [a, b] };
}

/**
 * The result order as a list of segments. MongoDB sorts a missing value before every present one, and RFC 7644
 * §3.4.2.3 wants it last when ascending ("if there is no data for the specified "sortBy" value, they are sorted via
 * the "sortOrder" parameter, i.e., they are ordered last if ascending and first if descending"), so a sorted result
 * is two queries: the records with a value, in index order, then those without, by id (reversed for descending).
 * Each segment is served by the `{field: 1, _id: 1}` lookup index (or `_id`) and pages with skip/limit.
 */
function segmentsOf(plan: SortPlan | undefined): Segment[] {
  if (!plan) return [{ where: {}, sort: { _id: 1 } }];
  const path = fieldPath(plan.resolved);
  const dir = plan.descending ? -1 : 1;
  const present: Segment = { where: { [path]: { $ne: null } }, sort: { [path]: dir, _id: dir } };
  const missing: Segment = { where: { [path]: { $eq: null } }, sort: { _id: dir } };
  return plan.descending ? [missing, present] : [present, missing];
}

export class MongoStore implements ResourceStore {
  readonly kind = 'mongodb' as const;
  readonly client: MongoClient;
  private readonly dbName: string;
  /** Collections whose indexes exist (or are being created), by name. */
  private readonly prepared = new Map<string, Promise<Collection<ResourceDocument>>>();

  private readonly operationTimeoutMS: number;

  constructor(options: MongoStoreOptions) {
    const clientOptions: MongoClientOptions = { ...options.clientOptions };
    const inUri = (name: string) => new RegExp(`[?&]${name}=`, 'i').test(options.uri);
    this.operationTimeoutMS = options.operationTimeoutMS ?? DEFAULT_OPERATION_TIMEOUT_MS;
    if (clientOptions.serverSelectionTimeoutMS === undefined && !inUri('serverSelectionTimeoutMS')) {
      clientOptions.serverSelectionTimeoutMS = Math.min(options.serverSelectionTimeoutMS ?? DEFAULT_SERVER_SELECTION_TIMEOUT_MS, this.operationTimeoutMS);
    }
    // The driver's own bounds, so a hung connection is closed and replaced rather than kept: a socket that stays
    // silent past the operation deadline, a connection that cannot be opened, a wait for a free connection.
    if (clientOptions.socketTimeoutMS === undefined && !inUri('socketTimeoutMS')) clientOptions.socketTimeoutMS = this.operationTimeoutMS + 1000;
    if (clientOptions.connectTimeoutMS === undefined && !inUri('connectTimeoutMS')) clientOptions.connectTimeoutMS = this.operationTimeoutMS;
    if (clientOptions.waitQueueTimeoutMS === undefined && !inUri('waitQueueTimeoutMS')) clientOptions.waitQueueTimeoutMS = this.operationTimeoutMS;
    this.client = new MongoClient(options.uri, clientOptions);
    this.dbName = options.dbName;
  }

  async init(schemas: readonly ResourceSchema[] = []): Promise<void> {
    await this.ping();
    // Creating indexes over an existing large collection may take a while: start-up gets a longer deadline.
    await this.guard('init', () => Promise.all(schemas.map((s) => this.collection(s))), this.operationTimeoutMS * 12);
  }

  async create(schema: ResourceSchema, record: StoredRecord): Promise<void> {
    await this.guard('create', async () => {
      const coll = await this.collection(schema);
      try {
        await retryWriteConflicts(() => coll.insertOne(toDocument(schema, record)));
      } catch (e) {
        if (isDuplicateKey(e)) throw await this.duplicate(schema, coll, record, e, true);
        throw e;
      }
    });
  }

  async get(schema: ResourceSchema, id: string): Promise<StoredRecord | undefined> {
    return this.guard('get', async () => {
      const coll = await this.collection(schema);
      const doc = await coll.findOne({ _id: id }, { projection: RECORD_PROJECTION });
      return doc ? fromDocument(schema, doc) : undefined;
    });
  }

  async replace(schema: ResourceSchema, record: StoredRecord, expectedVersion: number): Promise<WriteOutcome> {
    if (record.version !== expectedVersion + 1) {
      throw new Error(`replace of ${record.id}: version ${record.version} does not follow ${expectedVersion}`);
    }
    const coll = await this.guard('replace', () => this.collection(schema));
    return this.guard('replace', async () => {
      const { _id, ...replacement } = toDocument(schema, record);
      try {
        // A rename racing another onto one unique value can end in a write conflict (a deadlock on PostgreSQL-based
        // engines) rather than a duplicate key; the statement was rolled back, so running it again is safe.
        const result = await retryWriteConflicts(() => coll.replaceOne({ _id, v: expectedVersion }, replacement));
        if (result.matchedCount === 1) return 'ok';
      } catch (e) {
        if (isDuplicateKey(e)) throw await this.duplicate(schema, coll, record, e, false);
        throw e;
      }
      return this.missOutcome(coll, record.id);
    });
  }

  async delete(schema: ResourceSchema, id: string, expectedVersion?: number): Promise<WriteOutcome> {
    const coll = await this.guard('delete', () => this.collection(schema));
    return this.guard('delete', async () => {
      const guard = expectedVersion === undefined ? { _id: id } : { _id: id, v: expectedVersion };
      const result = await coll.deleteOne(guard);
      if (result.deletedCount === 1) return 'ok';
      return expectedVersion === undefined ? 'missing' : this.missOutcome(coll, id);
    });
  }

  async query(schema: ResourceSchema, options: QueryOptions): Promise<QueryResult> {
    return this.guard('query', async () => {
      const coll = await this.collection(schema);
      // RFC 7644 §3.4.2.4: "A value less than 1 SHALL be interpreted as 1"; "A negative value SHALL be interpreted
      // as "0"" for count.
      const skip = Math.max(1, Math.floor(options.startIndex)) - 1;
      const count = Math.max(0, Math.floor(options.count));
      const { filter } = options;
      const compiled = filter ? compileFilter(filter) : { query: {}, exact: true };
      // When the compiled query is only a superset, every candidate is checked against the filter itself.
      const keep =
        filter && !compiled.exact ? (r: StoredRecord) => evaluateFilter(filter, r.resource) : undefined;
      if (options.keyset) return this.keysetPage(schema, coll, compiled.query, keep, options.keyset, count);
      const plan = options.sort ? sortPlan(schema, options.sort) : undefined;
      if (plan?.multiValued) return this.sortInMemory(schema, coll, compiled.query, keep, plan, skip, count);
      const segments = segmentsOf(plan);
      if (keep) return this.scan(schema, coll, compiled.query, keep, segments, skip, count);
      return this.page(schema, coll, compiled.query, segments, skip, count);
    });
  }

  async ping(): Promise<void> {
    await this.guard('ping', () => this.client.db(this.dbName).command({ ping: 1 }));
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  /** The collection of a resource type, its indexes created on first use (retried if that failed). */
  private collection(schema: ResourceSchema): Promise<Collection<ResourceDocument>> {
    const name = collectionName(schema);
    let ready = this.prepared.get(name);
    if (!ready) {
      const coll = this.client.db(this.dbName).collection<ResourceDocument>(name);
      const attempt = createIndexes(coll, schema).then(() => coll);
      attempt.catch(() => {
        if (this.prepared.get(name) === attempt) this.prepared.delete(name);
      });
      this.prepared.set(name, attempt);
      ready = attempt;
    }
    return ready;
  }

  /**
   * Runs one store call with its deadline: past `operationTimeoutMS` the caller gets a 503 at once, whatever the
   * driver is still waiting for (the driver's socket timeout then closes the hung connection).
   */
  private async guard<T>(what: string, task: () => Promise<T>, timeoutMS = this.operationTimeoutMS): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(errors.unavailable(`the database did not answer within ${timeoutMS} ms (${what}); try again later`)),
        timeoutMS,
      );
    });
    const work = task();
    // The work may still fail after the deadline has answered; that failure is nobody's to handle.
    work.catch(() => undefined);
    try {
      return await Promise.race([work, deadline]);
    } catch (e) {
      throw translate(e, what);
    } finally {
      clearTimeout(timer);
    }
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

  /**
   * Keyset page by `_id` (see QueryOptions.keyset): the `_id` index serves both the range and the order, so a deep
   * page costs what the first one does. One extra document is read to tell whether more follow.
   */
  private async keysetPage(
    schema: ResourceSchema,
    coll: Collection<ResourceDocument>,
    query: Document,
    keep: ((r: StoredRecord) => boolean) | undefined,
    keyset: { after?: string; before?: string },
    count: number,
  ): Promise<QueryResult> {
    const backwards = keyset.before !== undefined;
    const range = backwards ? { _id: { $lt: keyset.before } } : keyset.after !== undefined ? { _id: { $gt: keyset.after } } : {};
    const cursor = coll.find(and(query, range), { projection: RECORD_PROJECTION }).sort({ _id: backwards ? -1 : 1 });
    if (!keep) cursor.limit(count + 1);
    const records: StoredRecord[] = [];
    for await (const doc of cursor) {
      const record = fromDocument(schema, doc);
      if (keep && !keep(record)) continue;
      records.push(record);
      if (records.length > count) break;
    }
    await cursor.close();
    const more = records.length > count;
    const page = records.slice(0, count);
    if (backwards) page.reverse();
    const totalResults = keep ? await this.countMatching(schema, coll, query, keep) : await coll.countDocuments(query);
    return { totalResults, records: page, more };
  }

  private async countMatching(
    schema: ResourceSchema,
    coll: Collection<ResourceDocument>,
    query: Document,
    keep: (r: StoredRecord) => boolean,
  ): Promise<number> {
    let n = 0;
    for await (const doc of coll.find(query, { projection: RECORD_PROJECTION })) if (keep(fromDocument(schema, doc))) n++;
    return n;
  }

  /** Exact query: the database counts, sorts and pages. */
  private async page(
    schema: ResourceSchema,
    coll: Collection<ResourceDocument>,
    query: Document,
    segments: Segment[],
    skip: number,
    count: number,
  ): Promise<QueryResult> {
    if (count === 0 || segments.length === 1) {
      const total = await coll.countDocuments(query);
      if (count === 0) return { totalResults: total, records: [] };
      const docs = await coll
        .find(query, { projection: RECORD_PROJECTION })
        .sort(segments[0]!.sort)
        .skip(skip)
        .limit(count)
        .toArray();
      return { totalResults: total, records: docs.map((d) => fromDocument(schema, d)) };
    }
    const sizes = await Promise.all(segments.map((s) => coll.countDocuments(and(query, s.where))));
    const records: StoredRecord[] = [];
    let toSkip = skip;
    for (const [i, segment] of segments.entries()) {
      const size = sizes[i]!;
      if (records.length >= count) break;
      if (toSkip >= size) {
        toSkip -= size;
        continue;
      }
      const docs = await coll
        .find(and(query, segment.where), { projection: RECORD_PROJECTION })
        .sort(segment.sort)
        .skip(toSkip)
        .limit(count - records.length)
        .toArray();
      toSkip = 0;
      for (const d of docs) records.push(fromDocument(schema, d));
    }
    return { totalResults: sizes.reduce((a, b) => a + b, 0), records };
  }

  /** Superset query: every candidate is read, in order, to count the matches and keep the requested page. */
  private async scan(
    schema: ResourceSchema,
    coll: Collection<ResourceDocument>,
    query: Document,
    keep: (r: StoredRecord) => boolean,
    segments: Segment[],
    skip: number,
    count: number,
  ): Promise<QueryResult> {
    let total = 0;
    const records: StoredRecord[] = [];
    for (const segment of segments) {
      const cursor = coll.find(and(query, segment.where), { projection: RECORD_PROJECTION }).sort(segment.sort);
      for await (const doc of cursor) {
        const record = fromDocument(schema, doc);
        if (!keep(record)) continue;
        total++;
        if (total > skip && records.length < count) records.push(record);
      }
    }
    return { totalResults: total, records };
  }

  /**
   * Sorting by a multi-valued attribute uses "the value of the primary attribute, if any, or else the first value
   * in the list" (RFC 7644 §3.4.2.3); MongoDB would sort an array by its least (greatest) element, so the matching
   * records are read and ordered here. Costs a read of the whole result; such sorts are rare.
   */
  private async sortInMemory(
    schema: ResourceSchema,
    coll: Collection<ResourceDocument>,
    query: Document,
    keep: ((r: StoredRecord) => boolean) | undefined,
    plan: SortPlan,
    skip: number,
    count: number,
  ): Promise<QueryResult> {
    const rows: { id: string; q: ReturnType<typeof decodeKeys>; record: StoredRecord }[] = [];
    for await (const doc of coll.find(query)) {
      const record = fromDocument(schema, doc);
      if (keep && !keep(record)) continue;
      rows.push({ id: record.id, q: decodeKeys(doc.q), record });
    }
    rows.sort(comparator(plan));
    const page = count === 0 ? [] : rows.slice(skip, skip + count);
    return { totalResults: rows.length, records: page.map((r) => r.record) };
  }
}

/**
 * Creates the indexes one command each. Idempotent (an existing identical index is left alone), but not in one
 * `createIndexes` command: FerretDB 1.24 drops the connection when such a command names several indexes of which
 * some already exist, i.e. on every restart of the server.
 */
async function createIndexes(coll: Collection<ResourceDocument>, schema: ResourceSchema): Promise<void> {
  for (const { key, ...options } of indexPlan(schema).all) await coll.createIndex(key, options);
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

/** A store for the database `dbName` at `uri`, its indexes created and the database reached (or a 503 thrown). */
export async function connectMongoStore(
  options: MongoStoreOptions & { schemas?: readonly ResourceSchema[] },
): Promise<MongoStore> {
  const store = new MongoStore(options);
  try {
    await store.init(options.schemas);
  } catch (e) {
    await store.close().catch(() => undefined);
    throw e;
  }
  return store;
}
