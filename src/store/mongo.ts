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
import { randomUUID } from 'node:crypto';
import { Collection, Document, MongoBulkWriteError, MongoClient, MongoClientOptions, MongoServerError, Sort } from 'mongodb';
import type { StoredRecord } from '../scim/resource';
import type { ResourceSchema } from '../scim/schema';
import { errors, ScimError } from '../scim/errors';
import { evaluateFilter } from '../scim/filter/evaluate';
import { queryCopy } from '../scim/query-copy';
import { compileFilter } from './mongo-filter';
import { collectionName, decodeKeys, fieldPath, fromDocument, ResourceDocument, toDocument } from './mongo-document';
import { asScimError, isDuplicateKey, isWriteConflict, retryWriteConflicts } from './mongo-errors';
import { indexPlan, UniqueIndex } from './mongo-indexes';
import { SortWindows } from './mongo-window';
import { KeyedQueue } from './keyed-queue';
import { compareKeys, Keyset, pageOf, SortKey, sortKeyOf, sortPlan, SortPlan } from './sort';
import { uniquenessError } from './unique';
import type { CreateItem, CreateOutcome, MemberChange, MemberEntry, Membership, QueryOptions, QueryResult, ResourceStore, StoredView, WriteOutcome } from './store';
import { chunks, MEMBERSHIPS, MongoMemberships, PEND_STALE_MS, type PairDocument, type Pending } from './mongo-members';
import { membersAttribute } from '../scim/members';
import type { AuditEntry, AuditPage, AuditQuery } from '../scim/audit';
import { encodeEntry, MongoAudit, SWEEP_EVERY_MS } from './mongo-audit';
import type { JsonObject } from '../scim/values';

/** Runs `task` on the first call and hands every later call its promise, unless it failed: then it runs again. */
function onceUntilItWorks(task: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => {
    if (!running) {
      const attempt = task();
      attempt.catch(() => {
        if (running === attempt) running = undefined;
      });
      running = attempt;
    }
    return running;
  };
}

export interface MongoStoreOptions {
  uri: string;
  dbName: string;
  /** How long an operation waits for a reachable server before failing with 503; a value in the URI wins. */
  serverSelectionTimeoutMS?: number;
  /** The longest one store call may take before it fails with 503 (SCIM_DB_TIMEOUT_MS). */
  operationTimeoutMS?: number;
  /**
   * A query that matches at most this many resources is read whole, unsorted, and ordered and paged here (see
   * query()); larger ones are sorted and paged by the database. Default SMALL_RESULT; tests set 0 to run every
   * query through the database's sort.
   */
  smallResult?: number;
  /**
   * Sorted pages of larger results that end within the first `windowCap` documents of their order are read as a
   * window of values (mongo-window.ts) rather than sorted by the database; 0 leaves every such sort to the
   * database. Default SMALL_RESULT.
   */
  windowCap?: number;
  /** Documents `$sample` draws to place a window when no hint is known. Default WINDOW_SAMPLE. */
  windowSample?: number;
  clientOptions?: MongoClientOptions;
}

const DEFAULT_SERVER_SELECTION_TIMEOUT_MS = 2000;
export const DEFAULT_OPERATION_TIMEOUT_MS = 5000;
/** See MongoStoreOptions.smallResult: one page at the largest page size. */
export const SMALL_RESULT = 1000;
/** See MongoStoreOptions.windowSample. */
export const WINDOW_SAMPLE = 1000;
/** Attribute types whose values are all of one BSON type bracket (strings or numbers), which windows need. */
const WINDOW_TYPES = new Set(['string', 'dateTime', 'reference', 'binary', 'integer', 'decimal']);

/** A record without its normalised copy and its view, which only filters and GET by id read. */
const RECORD_PROJECTION = { q: 0, view: 0, aud: 0 } as const;
/** A record read by get(), which a write may follow: with its audit entry. */
const WRITE_READ_PROJECTION = { q: 0, view: 0 } as const;

/**
 * Part of a result: the documents matching `where`, in the order of `field` (then `_id`) in direction `dir`, or of
 * `_id` alone when there is no field.
 */
interface Segment {
  where: Document;
  field?: string;
  dir: 1 | -1;
  /** Whether a page of the segment may be read as a window of values (mongo-window.ts). */
  windowed?: boolean;
}

/** The value at a dotted field path of a document (keys never hold a '.': mongo-document.ts encodes them). */
function valueAtPath(doc: Document, path: string): unknown {
  let at: unknown = doc;
  for (const key of path.split('.')) at = at !== null && typeof at === 'object' ? (at as Document)[key] : undefined;
  return at;
}

function and(a: Document, b: Document): Document {
  if (Object.keys(a).length === 0) return b;
  if (Object.keys(b).length === 0) return a;
  return { $and: [a, b] };
}

/** The sort of a segment, or its reverse (for pages before a cursor). */
function sortOf(segment: Segment, reverse = false): Sort {
  const dir: 1 | -1 = reverse ? (segment.dir === 1 ? -1 : 1) : segment.dir;
  return segment.field === undefined ? { _id: dir } : { [segment.field]: dir, _id: dir };
}

/**
 * The result order as a list of segments. MongoDB sorts a missing value before every present one, and RFC 7644
 * §3.4.2.3 wants it last when ascending ("if there is no data for the specified "sortBy" value, they are sorted via
 * the "sortOrder" parameter, i.e., they are ordered last if ascending and first if descending"), so a sorted result
 * is two queries: the records with a value, in the order of the `{field: 1, _id: 1}` lookup index, then those
 * without, by id (reversed for descending).
 */
function segmentsOf(plan: SortPlan | undefined): Segment[] {
  if (!plan) return [{ where: {}, dir: 1 }];
  const path = fieldPath(plan.resolved);
  const dir = plan.descending ? -1 : 1;
  const type = (plan.resolved.sub ?? plan.resolved.attribute).type;
  const present: Segment = { where: { [path]: { $ne: null } }, field: path, dir, windowed: WINDOW_TYPES.has(type) };
  const missing: Segment = { where: { [path]: { $eq: null } }, dir };
  return plan.descending ? [missing, present] : [present, missing];
}

/** The segment a sort key falls in: with a value, the one with the field; without, the other. */
function segmentOf(segments: Segment[], key: SortKey): number {
  if (segments.length === 1) return 0;
  return segments.findIndex((s) => (s.field !== undefined) === (key.value !== undefined));
}

/**
 * The documents of `segment` strictly after (`side` 1) or before (-1) `key` in the result order: a range on the
 * segment's index, `(field, _id) > (value, id)` written as `field >= value and (field > value or _id > id)` so
 * that the index bounds come from the first condition alone.
 */
function beyond(segment: Segment, key: SortKey, side: 1 | -1): Document {
  const up = segment.dir * side > 0;
  const gt = up ? '$gt' : '$lt';
  if (segment.field === undefined) return { _id: { [gt]: key.id } };
  const gte = up ? '$gte' : '$lte';
  return {
    $and: [{ [segment.field]: { [gte]: key.value } }, { $or: [{ [segment.field]: { [gt]: key.value } }, { _id: { [gt]: key.id } }] }],
  };
}

export class MongoStore implements ResourceStore {
  readonly kind = 'mongodb' as const;
  readonly client: MongoClient;
  private readonly dbName: string;
  /** Collections whose indexes exist (or are being created), by name. */
  private readonly prepared = new Map<string, Promise<Collection<ResourceDocument>>>();

  private readonly operationTimeoutMS: number;
  private readonly smallResult: number;
  private readonly windows: SortWindows;
  /**
   * Inserts and replaces that write one unique value (a userName) take turns in this process. The unique index
   * decides between instances; but an engine that enforces it with locks (DocumentDB: exclusion constraints) lets
   * many concurrent writers of one key deadlock each other over and over, so that all of them can fail. In turns,
   * the database sees one contender per instance.
   */
  private readonly uniqueTurns = new KeyedQueue();
  /** The schemas of the collections in use, by resource type (members are marked in their type's collection). */
  private readonly schemas = new Map<string, ResourceSchema>();
  private readonly memberships: MongoMemberships;
  /** The audit trail and its outbox (mongo-audit.ts). */
  private readonly auditTrail: MongoAudit;
  private readonly auditIndexes = onceUntilItWorks(() => this.auditTrail.createIndexes());
  private sweepTimer?: NodeJS.Timeout;
  /** The audit entry each record read by get() had in its document (null: none), for the write that follows. */
  private readonly entriesRead = new WeakMap<StoredRecord, JsonObject | null>();
  /** The resource collections this instance has used: where the audit sweep looks. */
  private readonly used = new Set<Collection<ResourceDocument>>();
  private readonly membershipIndexes = onceUntilItWorks(() => this.memberships.createIndexes());
  /** Names this instance in the intents it writes (mongo-members.ts). */
  private readonly instance = randomUUID();
  /** Ids whose intent this instance is carrying out right now. */
  private readonly inFlight = new Set<string>();

  constructor(options: MongoStoreOptions) {
    const clientOptions: MongoClientOptions = { ...options.clientOptions };
    const inUri = (name: string) => new RegExp(`[?&]${name}=`, 'i').test(options.uri);
    this.operationTimeoutMS = options.operationTimeoutMS ?? DEFAULT_OPERATION_TIMEOUT_MS;
    this.smallResult = options.smallResult ?? SMALL_RESULT;
    this.windows = new SortWindows({ cap: options.windowCap ?? SMALL_RESULT, sample: options.windowSample ?? WINDOW_SAMPLE });
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
    this.memberships = new MongoMemberships(this.client.db(this.dbName).collection<PairDocument>(MEMBERSHIPS), async (type) => {
      const schema = this.schemas.get(type);
      return schema ? this.collection(schema) : undefined;
    });
    this.auditTrail = MongoAudit.of(this.client.db(this.dbName));
  }

  async init(schemas: readonly ResourceSchema[] = []): Promise<void> {
    await this.ping();
    // Creating indexes over an existing large collection may take a while: start-up gets a longer deadline.
    await this.guard('init', () => Promise.all([...schemas.map((s) => this.collection(s)), this.pairs(), this.trail()]), this.operationTimeoutMS * 12);
    // Audit entries another run left in their documents (it stopped before copying them) are copied now and then.
    await this.guard('init', () => this.auditTrail.sweep(this.used), this.operationTimeoutMS * 12);
    if (!this.sweepTimer) {
      this.sweepTimer = setInterval(() => void this.auditTrail.sweep(this.used).catch(() => undefined), SWEEP_EVERY_MS);
      this.sweepTimer.unref();
    }
  }

  /** The audit collection, its indexes created on first use. */
  private async trail(): Promise<MongoAudit> {
    await this.auditIndexes();
    return this.auditTrail;
  }

  async auditLog(query: AuditQuery): Promise<AuditPage> {
    return this.guard('audit', async () => {
      const trail = await this.trail();
      // This instance's own entries not yet copied are copied first: a client reads its writes' entries at once.
      await trail.flush();
      return trail.query(query);
    });
  }

  async pruneAudit(before: string): Promise<number> {
    return this.guard('audit', async () => (await this.trail()).prune(before), this.operationTimeoutMS * 12);
  }

  /** The memberships collection, its indexes created on first use. */
  private async pairs(): Promise<MongoMemberships> {
    await this.membershipIndexes();
    return this.memberships;
  }

  private pending(change: { members?: MemberChange; delete?: true }): Pending {
    return { ...change, at: Date.now(), by: this.instance };
  }

  /**
   * Carries out the intent of `doc` (see mongo-members.ts) and removes it, if it is this instance's own (and not
   * being carried out right now) or stale. Returns the document as it is afterwards (undefined once deleted), or
   * as it was when the intent is someone else's work in progress.
   */
  private async settle(coll: Collection<ResourceDocument>, doc: ResourceDocument): Promise<ResourceDocument | undefined> {
    const pend = doc.pend;
    if (!pend) return doc;
    if (this.inFlight.has(doc._id)) return doc;
    if (pend.by !== this.instance && Date.now() - pend.at < PEND_STALE_MS) return doc;
    await this.finish(coll, doc._id, doc.v, pend);
    return (await coll.findOne({ _id: doc._id }, { projection: WRITE_READ_PROJECTION })) ?? undefined;
  }

  private async finish(coll: Collection<ResourceDocument>, id: string, version: number, pend: Pending): Promise<void> {
    this.inFlight.add(id);
    try {
      const pairs = await this.pairs();
      if (pend.delete) {
        await pairs.dropAll(id);
        // The delete's audit entry (and any not copied yet) goes into the trail before the document goes.
        await this.auditTrail.copyFrom(coll, await coll.findOne({ _id: id }, { projection: { aud: 1 } }));
        await coll.deleteOne({ _id: id, 'pend.at': pend.at });
        return;
      }
      if (pend.members) await pairs.apply(id, pend.members);
      await coll.updateOne({ _id: id, v: version, 'pend.at': pend.at }, { $unset: { pend: '' } });
    } finally {
      this.inFlight.delete(id);
    }
  }

  async getMany(schema: ResourceSchema, ids: readonly string[]): Promise<StoredRecord[]> {
    if (ids.length === 0) return [];
    return this.guard('get', async () => {
      const coll = await this.collection(schema);
      const out: StoredRecord[] = [];
      for (const part of chunks(ids)) {
        for (const doc of await coll.find({ _id: { $in: part } }, { projection: RECORD_PROJECTION }).toArray()) out.push(fromDocument(schema, doc));
      }
      return out;
    });
  }

  async members(groupId: string): Promise<MemberEntry[]> {
    return this.guard('members', async () => (await this.pairs()).members(groupId));
  }

  async membersAmong(groupId: string, ids: readonly string[]): Promise<Set<string>> {
    return this.guard('members', async () => (await this.pairs()).membersAmong(groupId, ids));
  }

  async groupsOf(memberIds: readonly string[]): Promise<Membership[]> {
    if (memberIds.length === 0) return [];
    return this.guard('members', async () => (await this.pairs()).groupsOf(memberIds));
  }

  async renameMember(memberId: string, display: string | undefined): Promise<void> {
    await this.guard('members', async () => (await this.pairs()).rename(memberId, display));
  }

  async create(schema: ResourceSchema, record: StoredRecord, members?: MemberChange, audit?: AuditEntry): Promise<void> {
    const pend = members ? this.pending({ members }) : undefined;
    const coll = await this.guard('create', () => this.collection(schema));
    await this.guard('create', async () => {
      const doc = toDocument(schema, record);
      if (audit) doc.aud = encodeEntry(audit);
      if (pend) {
        doc.pend = pend;
        this.inFlight.add(record.id);
      }
      try {
        await this.inTurn(coll, schema, doc, () => retryWriteConflicts(() => coll.insertOne(doc)));
      } catch (e) {
        this.inFlight.delete(record.id);
        if (isDuplicateKey(e)) throw await this.duplicate(schema, coll, record, e, true);
        throw e;
      }
    });
    if (audit) this.auditTrail.enqueue(coll, audit);
    if (pend) await this.guard('create', () => this.finish(coll, record.id, record.version, pend));
  }

  /**
   * insertMany, ordered, in slices of INSERT_SLICE documents (each slice one round trip, bounded by the operation
   * deadline). An ordered insert stops at its first failing document: the documents before it are stored, that one
   * gets its error (a duplicate key becomes its uniqueness error; a write conflict is tried again), and the next
   * insert starts after it. Audit entries and intents are handled per document as create() does.
   */
  async createMany(schema: ResourceSchema, items: readonly (CreateItem | null)[], maxErrors = Infinity): Promise<CreateOutcome[]> {
    const coll = await this.guard('create', () => this.collection(schema));
    const out: CreateOutcome[] = items.map(() => 'skipped');
    const docs = items.map((item) => {
      if (!item) return undefined;
      const doc = toDocument(schema, item.record);
      if (item.audit) doc.aud = encodeEntry(item.audit);
      return doc;
    });
    const pending = new Map<number, Pending>();
    let failed = 0;
    let i = 0;
    let conflicts = 0;
    try {
      while (i < items.length && failed < maxErrors) {
        const item = items[i];
        if (!item) {
          failed++;
          i++;
          continue;
        }
        // A slice runs up to the next item that already failed, at most INSERT_SLICE long.
        let end = i;
        while (end < items.length && items[end] && end - i < INSERT_SLICE) end++;
        for (let k = i; k < end; k++) {
          if (items[k]!.members && !pending.has(k)) {
            const pend = this.pending({ members: items[k]!.members! });
            pending.set(k, pend);
            docs[k]!.pend = pend;
            this.inFlight.add(items[k]!.record.id);
          }
        }
        const slice = docs.slice(i, end) as ResourceDocument[];
        try {
          await this.guard('create', () => coll.insertMany(slice, { ordered: true }));
          for (let k = i; k < end; k++) out[k] = 'created';
          i = end;
        } catch (e) {
          const at = failedIndex(e);
          if (at === undefined) throw e;
          for (let k = i; k < i + at; k++) out[k] = 'created';
          const k = i + at;
          const cause = writeErrorOf(e);
          if (isWriteConflict(cause) && conflicts++ < 20) {
            i = k; // rolled back: the same document again
            continue;
          }
          if (!isDuplicateKey(cause)) throw cause;
          this.inFlight.delete(items[k]!.record.id);
          pending.delete(k);
          out[k] = await this.duplicate(schema, coll, items[k]!.record, cause, true);
          failed++;
          i = k + 1;
        }
      }
    } finally {
      for (let k = 0; k < items.length; k++) if (out[k] !== 'created' && pending.has(k)) this.inFlight.delete(items[k]!.record.id);
    }
    for (let k = 0; k < items.length; k++) {
      const audit = items[k]?.audit;
      if (out[k] === 'created' && audit) this.auditTrail.enqueue(coll, audit);
    }
    for (const [k, pend] of pending) {
      if (out[k] === 'created') await this.guard('create', () => this.finish(coll, items[k]!.record.id, items[k]!.record.version, pend));
    }
    return out;
  }

  async get(schema: ResourceSchema, id: string): Promise<StoredRecord | undefined> {
    return this.guard('get', async () => {
      const coll = await this.collection(schema);
      // The audit entry comes along: a write of this record replaces it, and must know whether it was copied.
      let doc: ResourceDocument | null | undefined = await coll.findOne({ _id: id }, { projection: WRITE_READ_PROJECTION });
      if (doc?.pend) doc = await this.settle(coll, doc);
      if (!doc) return undefined;
      const record = fromDocument(schema, doc);
      this.entriesRead.set(record, doc.aud ?? null);
      return record;
    });
  }

  /**
   * The view and version alone: the document's other fields are neither sent by the database nor decoded. A
   * member of some group (`gm`) is flagged: its representation has `groups`, which the view does not hold.
   */
  async getView(schema: ResourceSchema, id: string): Promise<StoredView | undefined> {
    return this.guard('get', async () => {
      const coll = await this.collection(schema);
      const doc = await coll.findOne({ _id: id }, { projection: { v: 1, view: 1, gm: 1 } });
      if (!doc || typeof doc.view !== 'string') return undefined;
      return doc.gm ? { version: doc.v, view: doc.view, member: true } : { version: doc.v, view: doc.view };
    });
  }

  async replace(
    schema: ResourceSchema,
    record: StoredRecord,
    expectedVersion: number,
    current?: StoredRecord,
    members?: MemberChange,
    audit?: AuditEntry,
  ): Promise<WriteOutcome> {
    if (record.version !== expectedVersion + 1) {
      throw new Error(`replace of ${record.id}: version ${record.version} does not follow ${expectedVersion}`);
    }
    const coll = await this.guard('replace', () => this.collection(schema));
    const pend = members ? this.pending({ members }) : undefined;
    const outcome = await this.guard('replace', async (): Promise<WriteOutcome> => {
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
        // document with an intent still to carry out is not replaced (mongo-members.ts): the caller retries.
        if (pend) this.inFlight.add(_id);
        // Every field of the document is set (or unset), this write's audit entry among them, in one single-document
        // update (mongo-audit.ts): the entry is stored if and only if the write is. The entry it replaces was copied.
        if (audit) {
          await this.auditTrail.beforeReplacing(coll, _id, expectedVersion, current ? this.entriesRead.get(current) : undefined);
          replacement.aud = encodeEntry(audit);
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
        this.inFlight.delete(_id);
        if (isDuplicateKey(e)) throw await this.duplicate(schema, coll, record, e, false);
        throw e;
      }
      this.inFlight.delete(_id);
      return this.missOutcome(coll, record.id);
    });
    if (outcome === 'ok' && audit) this.auditTrail.enqueue(coll, audit);
    if (outcome === 'ok' && pend) await this.guard('replace', () => this.finish(coll, record.id, record.version, pend));
    return outcome;
  }

  async delete(schema: ResourceSchema, id: string, expectedVersion?: number, audit?: AuditEntry): Promise<WriteOutcome> {
    const coll = await this.guard('delete', () => this.collection(schema));
    return this.guard('delete', async () => {
      for (let attempt = 1; ; attempt++) {
        const doc = await coll.findOne({ _id: id }, { projection: { v: 1, gm: 1, pend: 1, aud: 1 } });
        if (!doc) return 'missing';
        if (expectedVersion !== undefined && doc.v !== expectedVersion) return 'conflict';
        if (attempt > 20) throw errors.conflict(`${schema.type.name} ${id} is being modified concurrently; retry`);
        if (doc.pend) {
          // Another write of it is half done: finish it if it is ours or stale, else give it a moment.
          if (!(await this.settle(coll, doc))) return 'missing';
          await new Promise((r) => setTimeout(r, 5 * attempt));
          continue;
        }
        // A resource in no group (never marked) that holds no members goes in one statement; one with pairs goes by
        // intent: marked for deletion, its pairs removed, then the document (mongo-members.ts).
        if (!doc.gm && !membersAttribute(schema) && !audit) {
          const result = await coll.deleteOne({ _id: id, v: doc.v, gm: { $exists: false }, pend: { $exists: false } });
          if (result.deletedCount === 1) return 'ok';
          continue;
        }
        const pend = this.pending({ delete: true });
        const mark: Document = { $set: { pend } };
        if (audit) {
          await this.auditTrail.beforeReplacing(coll, id, doc.v, doc.aud ?? null);
          mark.$set.aud = encodeEntry({ ...audit, versionBefore: doc.v });
        }
        const marked = await coll.updateOne({ _id: id, v: doc.v, pend: { $exists: false } }, mark);
        if (marked.matchedCount === 0) continue;
        await this.finish(coll, id, doc.v, pend);
        return 'ok';
      }
    });
  }

  /**
   * Every query is served by indexes where the filter has an indexed condition, whatever it is sorted by:
   *  - the total is `countDocuments(filter)`, which the filter's index answers (an unfiltered total is the
   *    collection's own count, see total());
   *  - a result of at most `smallResult` resources (a lookup by userName, externalId or email; a short prefix) is
   *    then read whole without a sort, so that the database reads it through the filter's index, and ordered and
   *    paged here, by the same order the database uses (sort.ts);
   *  - a larger result is sorted and paged by the database, segment by segment (segmentsOf): by startIndex with
   *    skip/limit, by cursor with a range on the sort key and id (beyond), so a deep cursor page costs what the
   *    first does wherever the database can walk the sort index in order.
   * Filters the database can only narrow down (not exact) and sorts by multi-valued attributes are read whole and
   * finished here.
   */
  async query(schema: ResourceSchema, options: QueryOptions): Promise<QueryResult> {
    return this.guard('query', async () => {
      const coll = await this.collection(schema);
      // RFC 7644 §3.4.2.4: "A value less than 1 SHALL be interpreted as 1"; "A negative value SHALL be interpreted
      // as "0"" for count.
      const skip = Math.max(1, Math.floor(options.startIndex)) - 1;
      const count = Math.max(0, Math.floor(options.count));
      const paging = { startIndex: skip + 1, count, keyset: options.keyset };
      const { filter } = options;
      const compiled = filter ? compileFilter(filter) : { query: {}, exact: true };
      // When the compiled query is only a superset, every candidate is checked against the filter itself.
      const keep = filter && !compiled.exact ? (r: StoredRecord) => evaluateFilter(filter, r.resource) : undefined;
      const plan = options.sort ? sortPlan(schema, options.sort) : undefined;
      if (keep || plan?.multiValued) return (await this.inMemory(schema, coll, compiled.query, keep, plan, paging, Infinity))!;
      const { total, exact } = await this.total(coll, compiled.query);
      if (count === 0) return { totalResults: total, records: [] };
      if (total <= this.smallResult) {
        const small = await this.inMemory(schema, coll, compiled.query, undefined, plan, paging, this.smallResult);
        if (small) return small;
      }
      if (options.keyset) return { totalResults: total, ...(await this.keysetInDatabase(schema, coll, compiled.query, plan, options.keyset, count, total)) };
      if (exact) return { totalResults: total, records: await this.pageInDatabase(schema, coll, compiled.query, plan, skip, count, total) };
      // An estimated total is corrected by what the page shows, so that it never tells an index-paging client (which
      // pages while startIndex <= totalResults) that the results end before they do, or go on after they end.
      const records = await this.pageInDatabase(schema, coll, compiled.query, plan, skip, count + 1, total);
      const more = records.length > count;
      const page = records.slice(0, count);
      const bounded = more ? Math.max(total, skip + count + 1) : page.length > 0 || skip === 0 ? skip + page.length : Math.min(total, skip);
      return { totalResults: bounded, records: page };
    });
  }

  async ping(): Promise<void> {
    await this.guard('ping', () => this.client.db(this.dbName).command({ ping: 1 }));
  }

  async close(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    await this.auditTrail.flush();
    await this.client.close();
  }

  /** The collection of a resource type, its indexes created on first use (retried if that failed). */
  private collection(schema: ResourceSchema): Promise<Collection<ResourceDocument>> {
    this.schemas.set(schema.type.id, schema);
    const name = collectionName(schema);
    let ready = this.prepared.get(name);
    if (!ready) {
      const coll = this.client.db(this.dbName).collection<ResourceDocument>(name);
      this.used.add(coll);
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
      throw asScimError(e, what);
    } finally {
      clearTimeout(timer);
    }
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

  /**
   * The number of matches. With a filter, `countDocuments`, which the filter's index serves. Without one, the
   * collection's own document count (`estimatedDocumentCount`: MongoDB keeps it in the collection's metadata, so it
   * costs nothing however large the collection; it can be off after an unclean shutdown, or by orphaned documents
   * on a sharded cluster; on the test database it is PostgreSQL's statistics), since counting a million documents
   * one by one costs a million reads on every request. Small collections are counted exactly.
   */
  private async total(coll: Collection<ResourceDocument>, query: Document): Promise<{ total: number; exact: boolean }> {
    if (Object.keys(query).length > 0) return { total: await coll.countDocuments(query), exact: true };
    const estimate = await this.estimatedCount(coll);
    if (estimate > this.smallResult) return { total: estimate, exact: false };
    return { total: await coll.countDocuments({}), exact: true };
  }

  /** The collection's own count (a separate method so that tests can give it an error, as after a crash). */
  protected estimatedCount(coll: Collection<ResourceDocument>): Promise<number> {
    return coll.estimatedDocumentCount();
  }

  /**
   * Reads every match (at most `limit`; undefined when there are more) and orders and pages them here. Without a
   * sort the query has none either, so the database is free to read the matches through the filter's index.
   */
  private async inMemory(
    schema: ResourceSchema,
    coll: Collection<ResourceDocument>,
    query: Document,
    keep: ((r: StoredRecord) => boolean) | undefined,
    plan: SortPlan | undefined,
    paging: { startIndex: number; count: number; keyset?: Keyset },
    limit: number,
  ): Promise<QueryResult | undefined> {
    // The sort value is read from the normalised copy, so a sorted read needs it.
    const cursor = coll.find(query, plan ? {} : { projection: RECORD_PROJECTION });
    if (Number.isFinite(limit)) cursor.limit(limit + 1);
    const rows: { record: StoredRecord; key: SortKey }[] = [];
    let read = 0;
    for await (const doc of cursor) {
      if (++read > limit) {
        await cursor.close();
        return undefined;
      }
      const record = fromDocument(schema, doc);
      if (keep && !keep(record)) continue;
      rows.push({ record, key: sortKeyOf(plan, { id: record.id, q: plan ? decodeKeys(doc.q) : {} }) });
    }
    rows.sort((a, b) => compareKeys(plan, a.key, b.key));
    const { items, more } = pageOf(rows, (r) => r.key, plan, paging);
    const result: QueryResult = { totalResults: rows.length, records: items.map((r) => r.record) };
    if (paging.keyset) result.more = more;
    return result;
  }

  /**
   * An index page sorted by the database: skip/limit through the segments in order; a sorted segment's page that
   * ends early enough in its order is read as a window (mongo-window.ts) instead.
   */
  private async pageInDatabase(
    schema: ResourceSchema,
    coll: Collection<ResourceDocument>,
    query: Document,
    plan: SortPlan | undefined,
    skip: number,
    count: number,
    total: number,
  ): Promise<StoredRecord[]> {
    const segments = segmentsOf(plan);
    const records: StoredRecord[] = [];
    let toSkip = skip;
    for (const [i, segment] of segments.entries()) {
      const where = and(query, segment.where);
      const want = count - records.length;
      const prefix = segment.windowed
        ? await this.windows.prefix(coll, { where, base: where, field: segment.field!, dir: segment.dir, need: toSkip + want, total, scope: coll.collectionName })
        : undefined;
      const docs = prefix
        ? prefix.slice(toSkip)
        : await coll.find(where, { projection: RECORD_PROJECTION }).sort(sortOf(segment)).skip(toSkip).limit(want).toArray();
      for (const d of docs) records.push(fromDocument(schema, d));
      if (records.length >= count || i === segments.length - 1) break;
      // The next segment starts after this one: if the page began past its end, by how much. A window shorter
      // than asked for is the whole segment.
      const size = prefix ? prefix.length : docs.length > 0 ? 0 : await coll.countDocuments(where);
      toSkip = docs.length > 0 ? 0 : Math.max(0, toSkip - size);
    }
    return records;
  }

  /**
   * A keyset page sorted by the database: up to `count` + 1 documents strictly after (before) the key, the rest of
   * its segment first, then the following (preceding) segments. The extra document tells whether more follow.
   */
  private async keysetInDatabase(
    schema: ResourceSchema,
    coll: Collection<ResourceDocument>,
    query: Document,
    plan: SortPlan | undefined,
    keyset: Keyset,
    count: number,
    total: number,
  ): Promise<{ records: StoredRecord[]; more: boolean }> {
    const segments = segmentsOf(plan);
    const backwards = keyset.before !== undefined;
    const key = keyset.before ?? keyset.after;
    const side = backwards ? -1 : 1;
    const start = key ? segmentOf(segments, key) : 0;
    const docs: ResourceDocument[] = [];
    for (let i = start; i >= 0 && i < segments.length && docs.length <= count; i += side) {
      const segment = segments[i]!;
      const base = and(query, segment.where);
      const from = key && i === start ? key : undefined;
      const where = and(base, from ? beyond(segment, from, side) : {});
      const want = count + 1 - docs.length;
      const window = segment.windowed
        ? await this.windows.prefix(coll, {
            where,
            base,
            field: segment.field!,
            dir: backwards ? (segment.dir === 1 ? -1 : 1) : segment.dir,
            need: want,
            total,
            from,
            // The next cursor starts beyond the last item of this page.
            next: docs.length === 0 ? count - 1 : undefined,
            scope: coll.collectionName,
          })
        : undefined;
      const batch = window ?? (await coll.find(where, { projection: RECORD_PROJECTION }).sort(sortOf(segment, backwards)).limit(want).toArray());
      docs.push(...batch);
    }
    const records = docs.slice(0, count).map((d) => fromDocument(schema, d));
    if (backwards) records.reverse();
    return { records, more: docs.length > count };
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
/** Documents one insertMany sends: a slice of a batch of creates. */
const INSERT_SLICE = 200;

/** Where an ordered insertMany stopped: the index (in the slice) of the document that failed. */
function failedIndex(e: unknown): number | undefined {
  if (!(e instanceof MongoBulkWriteError)) return undefined;
  const first = e.writeErrors;
  const list = Array.isArray(first) ? first : first ? [first] : [];
  return list.length > 0 ? Math.min(...list.map((w) => w.index)) : undefined;
}

/** The failing document's own error, as a server error the duplicate-key handling reads. */
function writeErrorOf(e: unknown): MongoServerError {
  const bulk = e as MongoBulkWriteError;
  const list = Array.isArray(bulk.writeErrors) ? bulk.writeErrors : [bulk.writeErrors];
  const first = list.sort((a, b) => a.index - b.index)[0]!;
  const raw = first.err as { errmsg?: string; code?: number; keyPattern?: Document; keyValue?: Document };
  return new MongoServerError({ message: first.errmsg ?? raw.errmsg ?? 'write error', errmsg: first.errmsg, code: first.code, keyPattern: raw.keyPattern, keyValue: raw.keyValue });
}

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
