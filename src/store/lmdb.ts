/**
 * The embedded store: LMDB (through the `lmdb` package) in a data directory, the default when no MONGODB_URI is set.
 *
 * Durable: a write is acknowledged only after its LMDB transaction committed and was flushed to disk (write()), so
 * it survives the process being killed right after the response, and a power loss. Atomic: a record,
 * its unique keys, its index entries and the per-type count change in one write transaction, in which the version
 * guard and the uniqueness checks are made; LMDB serialises write transactions across every process that opens the
 * directory (the benchmark's bare calls open it beside the server). One server process per directory is what is
 * supported: under heavy concurrent writes from two, batches of commits were seen to fail (README, "The embedded
 * store").
 *
 * Sub-databases (keys are ordered-binary arrays, so strings order by code point, as MongoDB orders them):
 *   records  [type, id]                      -> { version, resource, secrets }
 *   unique   [type, attribute, key]          -> id          (userName over the case-folded NFC copy)
 *   index    [type, slot, value, id]         -> 1           (slot: the indexed path; one entry per value)
 *   views    [type, id]                      -> "version view": the record's serialised default representation
 *                                               (StoredRecord.view), a string, so a GET reads no record
 *   counts   [type]                          -> number of records
 *   members  ['g', group, member]            -> { t: type, d?: display }   a group's members (one pair each)
 *            ['m', member, group]            -> type                       the same pair, looked up by member
 *            ['n', member, '']               -> number of groups holding the member (absent: none), so that
 *                                               a read tells a member by one key, not a range
 *   meta     ['indexes', type]               -> the index plan the entries were built with
 *   audit    ['t', at, entryId]              -> AuditEntry   the audit trail in time order
 *            ['r', resourceId, at, entryId]  -> 1            the same entries, by resource
 *            (written in the transaction of the write they record: no write without its entry, no entry without it)
 *
 * Queries are planned onto the index (lmdb-plan.ts): equality, prefix and range comparisons on indexed paths read
 * only their key range; every candidate is re-checked with the filter evaluator, so a plan can only narrow, never
 * change, what matches. What no index serves falls back to a scan of the type's records, which stays correct.
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { open, type Database, type Key, type RootDatabase } from 'lmdb';
import type { StoredRecord } from '../scim/resource';
import type { ResourceSchema } from '../scim/schema';
import type { Json, JsonObject } from '../scim/values';
import { evaluateFilter } from '../scim/filter/evaluate';
import { queryCopy } from '../scim/query-copy';
import { comparator, pageOf, sortKeyOf, sortPlan, SortPlan } from './sort';
import { uniqueAttributes, uniquenessError } from './unique';
import { INDEX_FORMAT, indexedPaths, indexEntries, IndexKey, KEY_CHARS, pathLabel, planFilter, PlanStep, PRESENT_START, TOP } from './lmdb-plan';
import type { AuditEntry, AuditPage, AuditQuery } from '../scim/audit';
import type { CreateItem, CreateOutcome, MemberChange, MemberEntry, Membership, MemberType, QueryOptions, QueryResult, ResourceStore, StoredView, WriteOutcome } from './store';
import { isScimError } from '../scim/errors';

/** Orders two keys of strings as the database does (by code point, element by element). */
function compareKeys(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  }
  return a.length - b.length;
}

export interface LmdbStoreOptions {
  /** The data directory; created when missing. */
  path: string;
}

/** A pair of the members sub-database, by group: the member's type and display. */
interface StoredMember {
  t: MemberType;
  d?: string;
}

interface Stored {
  version: number;
  resource: StoredRecord['resource'];
  secrets?: StoredRecord['secrets'];
}

/** One unique value of a record: the attribute label, the normalised key, the value as written (for messages). */
interface UniqueKey {
  label: string;
  key: string;
  original: Json;
}

/**
 * How the environment is opened; a second process on the directory (the benchmark's bare calls) opens it so too.
 * noSubdir is stated because the package guesses it from the path: a directory whose name has a dot
 * (`/srv/scim.d`, `mktemp -d -t x.XXXX`) would be taken for the database file itself.
 */
export const LMDB_OPTIONS = { compression: false, maxDbs: 12, mapSize: 2 ** 34, noReadAhead: true, noSubdir: false };

const MAX_ID = '\uffff';
/** meta: the id of the last transaction written by a store that keeps views. */
const VIEWS_WRITER: [string, string] = ['views', 'writer-txn'];
/** Records a scan reads between two turns of the event loop. */
const SCAN_CHUNK = 2000;

function uniqueKeys(schema: ResourceSchema, resource: JsonObject, q: JsonObject): UniqueKey[] {
  const keys: UniqueKey[] = [];
  for (const attribute of uniqueAttributes(schema)) {
    const normalised = attribute.read(q);
    const original = attribute.read(resource);
    normalised.forEach((v, i) => {
      // LMDB keys hold ~2 KB; a longer unique value is kept by its digest.
      const text = JSON.stringify(v);
      const key = text.length > 256 ? `sha256:${createHash('sha256').update(text).digest('hex')}` : text;
      keys.push({ label: attribute.label, key, original: original[i] ?? v });
    });
  }
  return keys;
}

export class LmdbStore implements ResourceStore {
  readonly kind = 'lmdb' as const;
  readonly path: string;
  private readonly env: RootDatabase;
  private readonly records: Database<Stored, [string, string]>;
  private readonly unique: Database<string, [string, string, string]>;
  /** Keys are IndexKey; typed as Key because the package's type leaves out null, which its encoding orders first. */
  private readonly index: Database<number, Key>;
  private readonly counts: Database<number, [string]>;
  private readonly views: Database<string, [string, string]>;
  private readonly meta: Database<string, [string, string]>;
  private readonly memberPairs: Database<StoredMember | MemberType | number, [string, string, string]>;
  private readonly audit: Database<AuditEntry | 1, string[]>;

  constructor(options: LmdbStoreOptions) {
    this.path = options.path;
    mkdirSync(options.path, { recursive: true, mode: 0o700 });
    // One environment for every sub-database, so one transaction covers them all. Values are msgpack (the
    // package's default); keys are arrays in ordered-binary encoding.
    // noReadAhead (MDB_NORDAHEAD): lookups touch pages at random, and the kernel's read-ahead would fault in dozens
    // of neighbouring pages for each, filling the server's RSS with pages no request asked for.
    this.env = open({ path: options.path, ...LMDB_OPTIONS } as Parameters<typeof open>[0]);
    this.records = this.env.openDB({ name: 'records' });
    this.unique = this.env.openDB({ name: 'unique' });
    this.index = this.env.openDB({ name: 'index' });
    this.counts = this.env.openDB({ name: 'counts' });
    this.views = this.env.openDB({ name: 'views', encoding: 'string' });
    this.meta = this.env.openDB({ name: 'meta' });
    this.memberPairs = this.env.openDB({ name: 'members' });
    this.audit = this.env.openDB({ name: 'audit' });
  }

  /**
   * Makes sure each type's index entries were built with today's index plan: a plan that changed (an attribute
   * indexed since) rebuilds that type's entries from its records, once, in one transaction.
   */
  async init(schemas: readonly ResourceSchema[] = []): Promise<void> {
    this.dropViewsAfterForeignWrites();
    for (const schema of schemas) {
      const type = schema.type.id;
      const plan = JSON.stringify([INDEX_FORMAT, ...indexedPaths(schema).map((p) => p.path)]);
      if (this.meta.get(['indexes', type]) === plan) continue;
      await this.write(() => {
        for (const key of this.index.getKeys({ start: [type], end: [type, MAX_ID] })) this.index.remove(key);
        for (const { value } of this.records.getRange({ start: [type], end: [type, MAX_ID] })) {
          for (const entry of indexEntries(schema, value.resource.id, queryCopy(schema, value.resource))) this.index.put(entry as unknown as Key, 1);
        }
        this.meta.put(['indexes', type], plan);
      });
    }
  }

  async create(schema: ResourceSchema, record: StoredRecord, members?: MemberChange, audit?: AuditEntry): Promise<void> {
    const keys = this.keysOf(schema, record.id, record.resource);
    await this.write(() => this.insert(schema.type.id, record, keys, members, audit));
  }

  /** One transaction (one commit and flush) for the whole batch; an item's checks come before its first put. */
  async createMany(schema: ResourceSchema, items: readonly (CreateItem | null)[], maxErrors = Infinity): Promise<CreateOutcome[]> {
    const type = schema.type.id;
    const keyed = items.map((item) => item && { item, keys: this.keysOf(schema, item.record.id, item.record.resource) });
    return this.write(() => {
      const out: CreateOutcome[] = [];
      let failed = 0;
      for (const k of keyed) {
        if (failed >= maxErrors || !k) {
          if (!k) failed++;
          out.push('skipped');
          continue;
        }
        try {
          this.insert(type, k.item.record, k.keys, k.item.members, k.item.audit);
          out.push('created');
        } catch (e) {
          if (!isScimError(e)) throw e;
          failed++;
          out.push(e);
        }
      }
      return out;
    });
  }

  /** Inserts a record (inside the caller's transaction): every check first, so a refused record writes nothing. */
  private insert(type: string, record: StoredRecord, { keys, entries }: ReturnType<LmdbStore['keysOf']>, members?: MemberChange, audit?: AuditEntry): void {
    if (this.records.get([type, record.id]) !== undefined) throw uniquenessError('id', record.id);
    this.checkUnique(type, keys, record.id);
    this.records.put([type, record.id], stored(record));
    if (record.view !== undefined) this.putView(type, record);
    for (const k of keys) this.unique.put([type, k.label, k.key], record.id);
    for (const entry of entries) this.index.put(entry as unknown as Key, 1);
    this.counts.put([type], (this.counts.get([type]) ?? 0) + 1);
    if (members) this.changeMembers(record.id, members);
    if (audit) this.putAudit(audit);
  }

  async getMany(schema: ResourceSchema, ids: readonly string[]): Promise<StoredRecord[]> {
    const out: StoredRecord[] = [];
    for (const id of ids) {
      const value = this.records.get([schema.type.id, id]);
      if (value) out.push(this.recordOf(schema, id, value));
    }
    return out;
  }

  async members(groupId: string): Promise<MemberEntry[]> {
    const out: MemberEntry[] = [];
    for (const { key, value } of this.memberPairs.getRange({ start: ['g', groupId], end: ['g', groupId, MAX_ID] })) {
      const pair = value as StoredMember;
      out.push(pair.d === undefined ? { value: key[2], type: pair.t } : { value: key[2], type: pair.t, display: pair.d });
    }
    return out;
  }

  async membersAmong(groupId: string, ids: readonly string[]): Promise<Set<string>> {
    return new Set(ids.filter((id) => this.memberPairs.get(['g', groupId, id]) !== undefined));
  }

  async groupsOf(memberIds: readonly string[]): Promise<Membership[]> {
    const out: Membership[] = [];
    for (const member of memberIds) {
      for (const { key, value } of this.memberPairs.getRange({ start: ['m', member], end: ['m', member, MAX_ID] })) {
        out.push({ group: key[2], member, type: value as MemberType });
      }
    }
    return out;
  }

  async renameMember(memberId: string, display: string | undefined): Promise<void> {
    await this.write(() => {
      for (const { key } of this.memberPairs.getRange({ start: ['m', memberId], end: ['m', memberId, MAX_ID] })) {
        const pair = this.memberPairs.get(['g', key[2], memberId]) as StoredMember | undefined;
        if (!pair || pair.d === display) continue;
        this.memberPairs.put(['g', key[2], memberId], storedMember(pair.t, display));
      }
    });
  }

  /** Applies a change of a group's members (inside the caller's transaction): both keys of each pair. */
  private changeMembers(groupId: string, change: MemberChange): void {
    if (change.replace) {
      const keep = new Set(change.replace.map((m) => m.value));
      for (const member of this.memberIdsOf(groupId)) if (!keep.has(member)) this.removePair(groupId, member);
    }
    for (const m of [...(change.replace ?? []), ...(change.add ?? [])]) {
      // In the same transaction as the check: a member deleted meanwhile is not added (its delete took its pairs).
      if (!this.records.doesExist([m.type, m.value])) continue;
      if (!this.memberPairs.doesExist(['g', groupId, m.value])) this.countGroups(m.value, 1);
      this.memberPairs.put(['g', groupId, m.value], storedMember(m.type, m.display));
      this.memberPairs.put(['m', m.value, groupId], m.type);
    }
    for (const id of change.remove ?? []) this.removePair(groupId, id);
  }

  private memberIdsOf(groupId: string): string[] {
    return [...this.memberPairs.getKeys({ start: ['g', groupId], end: ['g', groupId, MAX_ID] })].map((k) => k[2]);
  }

  private removePair(groupId: string, member: string): void {
    if (!this.memberPairs.doesExist(['g', groupId, member])) return;
    this.memberPairs.remove(['g', groupId, member]);
    this.memberPairs.remove(['m', member, groupId]);
    this.countGroups(member, -1);
  }

  /** Keeps ['n', member] the number of groups holding the member. */
  private countGroups(member: string, by: number): void {
    const key: [string, string, string] = ['n', member, ''];
    const n = ((this.memberPairs.get(key) as number | undefined) ?? 0) + by;
    if (n > 0) this.memberPairs.put(key, n);
    else this.memberPairs.remove(key);
  }

  /** Removes every pair a resource is in, as a group and as a member (inside the caller's transaction). */
  private dropMemberships(id: string): void {
    for (const member of this.memberIdsOf(id)) this.removePair(id, member);
    const groups = [...this.memberPairs.getKeys({ start: ['m', id], end: ['m', id, MAX_ID] })].map((k) => k[2]);
    for (const group of groups) this.removePair(group, id);
  }

  /** A record as read, flagged when the resource is in some group. */
  private recordOf(schema: ResourceSchema, id: string, value: Stored): StoredRecord {
    const record = recordOf(schema, id, value);
    if (this.isMember(id)) record.member = true;
    return record;
  }

  /** Whether the resource is in some group (its representation then has `groups`). */
  private isMember(id: string): boolean {
    return this.memberPairs.doesExist(['n', id, '']);
  }

  async get(schema: ResourceSchema, id: string): Promise<StoredRecord | undefined> {
    const value = this.records.get([schema.type.id, id]);
    return value ? this.recordOf(schema, id, value) : undefined;
  }

  /**
   * Every write transaction of this store notes its id in meta, so that a later start can tell whether anything
   * else wrote since (a server from before the views existed, run on this directory and then replaced again, would
   * change records and leave their views as they were).
   */
  private async write<T>(body: () => T): Promise<T> {
    const result = await this.env.transaction(() => {
      this.meta.put(VIEWS_WRITER, String(this.env.getWriteTxnId()));
      return body();
    });
    // The lmdb package resolves a transaction when it is committed, before the disk has it: the flush (fdatasync)
    // runs beside the next transaction ("overlapping sync"). A write is answered once its commit is flushed, so an
    // answered write survives a power loss too, not only the process being killed. Commits are batched, so this
    // costs a write latency, hardly any throughput (bare LMDB at 50 concurrent writes: 7,400/s without, 8,800/s
    // with, within this machine's noise).
    await this.env.flushed;
    return result;
  }

  /**
   * The views are only as good as every writer since they were made: if the last committed transaction is not one
   * of this store's (noted by write()), something that does not keep views wrote after it, and every view is
   * dropped (GET renders until the next write of each record makes its view again).
   */
  private dropViewsAfterForeignWrites(): void {
    this.env.transactionSync(() => {
      const last = this.env.getWriteTxnId() - 1;
      if (this.meta.get(VIEWS_WRITER) === String(last)) return;
      for (const key of this.views.getKeys({})) this.views.remove(key);
      this.meta.put(VIEWS_WRITER, String(this.env.getWriteTxnId()));
    });
  }

  getView(schema: ResourceSchema, id: string): StoredView | undefined {
    const view = this.viewOf(schema, id);
    if (view && this.isMember(id)) view.member = true;
    return view;
  }

  /** Views of records just read: whether each is a member, their records already say (StoredRecord.member). */
  getViews(schema: ResourceSchema, ids: readonly string[]): (StoredView | undefined)[] {
    return ids.map((id) => this.viewOf(schema, id));
  }

  private viewOf(schema: ResourceSchema, id: string): StoredView | undefined {
    const text = this.views.get([schema.type.id, id]);
    if (text === undefined) return undefined;
    const space = text.indexOf(' ');
    return { version: Number(text.slice(0, space)), view: text.slice(space + 1) };
  }

  /** The record's view, or none: a view left from an earlier version must never answer for this one. */
  private putView(type: string, record: StoredRecord): void {
    if (record.view !== undefined) this.views.put([type, record.id], `${record.version} ${record.view}`);
    else this.views.remove([type, record.id]);
  }

  async replace(
    schema: ResourceSchema,
    record: StoredRecord,
    expectedVersion: number,
    read?: StoredRecord,
    members?: MemberChange,
    audit?: AuditEntry,
  ): Promise<WriteOutcome> {
    if (record.version !== expectedVersion + 1) {
      throw new Error(`replace of ${record.id}: version ${record.version} does not follow ${expectedVersion}`);
    }
    const type = schema.type.id;
    // Only what changed is written: a job-info PATCH touches the record, the department and lastModified entries,
    // not the other nine index entries and the userName key, each of which lies on its own page of the B-tree, and
    // a commit writes every page it dirtied. What to remove is computed from the expected version: the caller's
    // copy when it has one, else the transaction's own read.
    const { keys, entries } = this.keysOf(schema, record.id, record.resource);
    const diff = (from: Stored) => {
      const old = this.keysOf(schema, record.id, from.resource);
      return {
        uniques: changes(old.keys, keys, (k) => k.label, (k) => k.key),
        indexed: changes(old.entries, entries, (e) => e[1], (e) => e[2]),
      };
    };
    const early = read?.version === expectedVersion ? diff(read) : undefined;
    return this.write((): WriteOutcome => {
      const current = this.records.get([type, record.id]);
      if (!current) return 'missing';
      if (current.version !== expectedVersion) return 'conflict';
      this.checkUnique(type, keys, record.id);
      const { uniques, indexed } = early ?? diff(current);
      for (const k of uniques.removed) if (this.unique.get([type, k.label, k.key]) === record.id) this.unique.remove([type, k.label, k.key]);
      for (const entry of indexed.removed) this.index.remove(entry as unknown as Key);
      this.records.put([type, record.id], stored(record));
      this.putView(type, record);
      for (const k of uniques.added) this.unique.put([type, k.label, k.key], record.id);
      for (const entry of indexed.added) this.index.put(entry as unknown as Key, 1);
      if (members) this.changeMembers(record.id, members);
      if (audit) this.putAudit(audit);
      return 'ok';
    });
  }

  async delete(schema: ResourceSchema, id: string, expectedVersion?: number, audit?: AuditEntry): Promise<WriteOutcome> {
    const type = schema.type.id;
    return this.write((): WriteOutcome => {
      const current = this.records.get([type, id]);
      if (!current) return 'missing';
      if (expectedVersion !== undefined && current.version !== expectedVersion) return 'conflict';
      this.unindex(schema, id, current);
      this.records.remove([type, id]);
      this.views.remove([type, id]);
      this.counts.put([type], Math.max(0, (this.counts.get([type]) ?? 1) - 1));
      this.dropMemberships(id);
      if (audit) this.putAudit({ ...audit, versionBefore: current.version });
      return 'ok';
    });
  }

  private putAudit(entry: AuditEntry): void {
    this.audit.put(['t', entry.at, entry.id], entry);
    this.audit.put(['r', entry.resourceId, entry.at, entry.id], 1);
  }

  async auditLog(query: AuditQuery): Promise<AuditPage> {
    // One range of keys: the resource's (['r', id, at, entryId]) or everyone's (['t', at, entryId]), bounded by
    // since/until and by the previous page's position, walked forwards or backwards.
    const prefix = query.resourceId !== undefined ? ['r', query.resourceId] : ['t'];
    const low = [...prefix, query.since ?? ''];
    const high = [...prefix, query.until ?? MAX_ID];
    const descending = query.order === 'descending';
    let start = descending ? high : low;
    const end = descending ? low : high;
    const after = query.after;
    if (after) {
      const position = [...prefix, after.at, after.id];
      if (descending ? compareKeys(position, start) < 0 : compareKeys(position, start) > 0) start = position;
    }
    const entries: AuditEntry[] = [];
    for (const { key, value } of this.audit.getRange({ start, end, reverse: descending })) {
      const at = key[prefix.length]!;
      const id = key[prefix.length + 1]!;
      if (after && at === after.at && id === after.id) continue;
      const entry = value === 1 ? this.audit.get(['t', at, id]) : value;
      if (!entry || entry === 1) continue;
      if (entries.length === query.count) return { entries, more: true };
      entries.push(entry);
    }
    return { entries, more: false };
  }

  async pruneAudit(before: string): Promise<number> {
    let removed = 0;
    // In bounded transactions, so that a first prune of a long log does not hold the write lock for long.
    for (;;) {
      const batch = [...this.audit.getRange({ start: ['t'], end: ['t', before], limit: 5000 })];
      if (batch.length === 0) return removed;
      await this.write(() => {
        for (const { key, value } of batch) {
          this.audit.remove(key);
          if (value !== 1) this.audit.remove(['r', value.resourceId, value.at, value.id]);
        }
      });
      removed += batch.length;
    }
  }

  async query(schema: ResourceSchema, options: QueryOptions): Promise<QueryResult> {
    const type = schema.type.id;
    const plan = options.sort ? sortPlan(schema, options.sort) : undefined;
    const { filter, keyset } = options;
    const count = Math.max(0, Math.floor(options.count));

    if (!filter && !plan) {
      // The whole type in id order: a slice of the records range (by offset, or from a keyset's id), and the total
      // from the per-type counter. Cost follows the page, not the directory.
      const totalResults = this.counts.get([type]) ?? 0;
      if (!keyset) {
        // RFC 7644 §3.4.2.4: "A value less than 1 SHALL be interpreted as 1".
        const skip = Math.max(1, Math.floor(options.startIndex)) - 1;
        return { totalResults, records: count === 0 ? [] : this.recordsRange(schema, { start: [type], end: [type, MAX_ID], offset: skip, limit: count }) };
      }
      if (keyset.before) {
        const window = this.recordsRange(schema, { start: [type, keyset.before.id], end: [type], reverse: true, limit: count + 2 }).filter(
          (r) => r.id !== keyset.before!.id,
        );
        const items = window.slice(0, count).reverse();
        return { totalResults, records: items, more: window.length > count };
      }
      const from = keyset.after?.id;
      const window = this.recordsRange(schema, { start: [type, from ?? ''], end: [type, MAX_ID], limit: count + 2 }).filter((r) => r.id !== from);
      return { totalResults, records: window.slice(0, count), more: window.length > count };
    }

    if (!filter && plan && !plan.multiValued) {
      const walked = this.walkSorted(schema, plan, options, count);
      if (walked) return walked;
    }

    const step = filter ? planFilter(schema, filter) : undefined;
    // The normalised copy is what a sort reads; without one, keys are ids alone and no copy is made.
    const matched = (await this.matching(schema, step, filter)).map((r) => ({ id: r.id, q: plan ? queryCopy(schema, r.resource) : {}, r }));
    if (plan) {
      const order = comparator(plan);
      matched.sort(order);
    }
    const { items, more } = pageOf(matched, (m) => sortKeyOf(plan, m), plan, options);
    const result: QueryResult = { totalResults: matched.length, records: items.map((m) => m.r) };
    if (keyset) result.more = more;
    return result;
  }

  /**
   * A sorted page of the whole type, walked from the sort attribute's index instead of sorting every record: the
   * ascending order is the present values (key order: value, then id) followed by the records without one
   * (`[type, path, null, id]`, by id), as RFC 7644 §3.4.2.3 orders them; descending is that order reversed. A page
   * costs its own length (plus startIndex), whatever the directory's size. Undefined when the index cannot give
   * the exact order: an attribute that is not indexed, or values longer than an index key holds.
   */
  private walkSorted(schema: ResourceSchema, plan: SortPlan, options: QueryOptions, count: number): QueryResult | undefined {
    const type = schema.type.id;
    const label = pathLabel(plan.resolved);
    const path = indexedPaths(schema).find((p) => p.path === label)?.slot;
    if (path === undefined) return undefined;
    const { keyset } = options;
    const from = keyset?.before ?? keyset?.after;
    if (from && typeof from.value === 'string' && from.value.length >= KEY_CHARS) return undefined;
    // Walking "up" is the ascending order; a descending query walks down, and `before` walks against the query.
    const up = (plan.descending ? 1 : 0) ^ (keyset?.before ? 1 : 0) ? false : true;
    const present = { start: [type, path, PRESENT_START], end: [type, path, TOP] };
    const missing = { start: [type, path, null], end: [type, path, null, MAX_ID] };
    const segments = up ? [present, missing] : [missing, present];
    const ids: string[] = [];
    const want = keyset ? count + 1 : Math.max(1, Math.floor(options.startIndex)) - 1 + count;
    let started = from === undefined;
    for (const seg of segments) {
      if (ids.length >= want) break;
      const isPresent = seg === present;
      if (!started) {
        if ((from!.value !== undefined) !== isPresent) continue; // the keyset lies in the other segment
        started = true;
      }
      const at = from && (from.value !== undefined) === isPresent ? [type, path, from.value ?? null, from.id] : undefined;
      const range = up
        ? { start: at ?? seg.start, end: seg.end }
        : // Walking down, a segment ends (exclusively) just below its first key: for the present values that is
          // after the last `null` entry, so a value `false` is not left out.
          { start: at ?? seg.end, end: isPresent ? [type, path, null, MAX_ID] : [type, path], reverse: true };
      for (const key of this.index.getKeys(range as unknown as Parameters<typeof this.index.getKeys>[0])) {
        const k = key as unknown as IndexKey;
        if (typeof k[2] === 'string' && k[2].length >= KEY_CHARS) return undefined; // possibly truncated: not exact
        if (at && k[2] === at[2] && k[3] === from!.id) continue; // strictly after (before) the keyset
        ids.push(k[3]);
        if (ids.length >= want) break;
      }
    }
    const totalResults = this.counts.get([type]) ?? 0;
    const records: StoredRecord[] = [];
    for (const id of keyset ? ids.slice(0, count) : ids.slice(want - count)) {
      const value = this.records.get([type, id]);
      if (value) records.push(this.recordOf(schema, id, value));
    }
    if (!keyset) return { totalResults, records: count === 0 ? [] : records };
    if (keyset.before) records.reverse();
    return { totalResults, records, more: ids.length > count };
  }

  /** Records of one type from a key range of the records database. */
  private recordsRange(
    schema: ResourceSchema,
    range: { start: [string, string?]; end: [string, string?]; offset?: number; limit: number; reverse?: boolean },
  ): StoredRecord[] {
    const out: StoredRecord[] = [];
    for (const { key, value } of this.records.getRange(range as Parameters<typeof this.records.getRange>[0])) {
      out.push(this.recordOf(schema, (key as [string, string])[1], value));
    }
    return out;
  }

  async ping(): Promise<void> {
    // A read of the environment: fails when it was closed.
    this.counts.get(['']);
  }

  async close(): Promise<void> {
    await this.env.close();
  }

  /** A consistent, compacted copy of the environment in `target` (a directory), taken while writes go on. */
  async backup(target: string): Promise<void> {
    await this.env.backup(target, true);
  }

  /** Records in the data directory, by type, and the size of its data file (for /readyz and the start-up line). */
  stats(): { records: number; bytes: number } {
    let records = 0;
    for (const { value } of this.counts.getRange({})) records += value;
    const s = this.env.getStats() as { pageSize?: number; lastPageNumber?: number };
    return { records, bytes: (s.lastPageNumber ?? 0) * (s.pageSize ?? 4096) };
  }

  /**
   * The matching records in id order: the plan's candidate ids when an index serves the filter, every record of
   * the type otherwise; each re-checked with the filter itself.
   */
  private async matching(schema: ResourceSchema, step: PlanStep | undefined, filter: QueryOptions['filter']): Promise<StoredRecord[]> {
    const type = schema.type.id;
    const out: StoredRecord[] = [];
    if (step && step.kind !== 'scan') {
      const ids = [...this.candidates(type, step)].sort();
      for (const id of ids) {
        const value = this.records.get([type, id]);
        if (!value) continue;
        const record = this.recordOf(schema, id, value);
        if (!filter || evaluateFilter(filter, record.resource)) out.push(record);
      }
      return out;
    }
    // A scan of a large directory must not hold the event loop: it reads SCAN_CHUNK records at a time and lets
    // other requests (and /healthz) run in between.
    let from = '';
    for (;;) {
      let n = 0;
      let last: string | undefined;
      for (const { key, value } of this.records.getRange({ start: [type, from], end: [type, MAX_ID], limit: SCAN_CHUNK + 1 })) {
        if (key[1] === from && from !== '') continue;
        n++;
        last = key[1];
        const record = this.recordOf(schema, key[1], value);
        if (!filter || evaluateFilter(filter, record.resource)) out.push(record);
        if (n >= SCAN_CHUNK) break;
      }
      if (n < SCAN_CHUNK || last === undefined) return out;
      from = last;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** The ids an index plan step selects (a superset of the matches; the caller re-checks). */
  private candidates(type: string, step: Exclude<PlanStep, { kind: 'scan' }>): Set<string> {
    switch (step.kind) {
      case 'range': {
        const ids = new Set<string>();
        for (const key of this.index.getKeys({ start: [type, step.slot, ...step.start], end: [type, step.slot, ...step.end] })) {
          const k = key as unknown as IndexKey;
          if (step.accept && !step.accept(k[2])) continue;
          ids.add(k[3]);
        }
        return ids;
      }
      case 'ids':
        return new Set(step.ids);
      case 'union': {
        const ids = new Set<string>();
        for (const part of step.parts) for (const id of this.candidates(type, part)) ids.add(id);
        return ids;
      }
    }
  }

  private checkUnique(type: string, keys: UniqueKey[], id: string): void {
    for (const k of keys) {
      const holder = this.unique.get([type, k.label, k.key]);
      if (holder !== undefined && holder !== id) throw uniquenessError(k.label, k.original);
    }
  }

  /** A record's unique keys and index entries, from its normalised copy. */
  private keysOf(schema: ResourceSchema, id: string, resource: JsonObject): { keys: UniqueKey[]; entries: IndexKey[] } {
    const q = queryCopy(schema, resource);
    return { keys: uniqueKeys(schema, resource, q), entries: indexEntries(schema, id, q) };
  }

  /** Removes a stored record's unique keys and index entries (inside the caller's transaction). */
  private unindex(schema: ResourceSchema, id: string, current: Stored): void {
    const type = schema.type.id;
    const { keys, entries } = this.keysOf(schema, id, current.resource);
    for (const k of keys) {
      if (this.unique.get([type, k.label, k.key]) === id) this.unique.remove([type, k.label, k.key]);
    }
    for (const entry of entries) this.index.remove(entry as unknown as Key);
  }
}

/**
 * What is in `after` and not in `before` (added) and the reverse (removed), items compared by their group (a unique
 * attribute, an index slot) and value; values are compared as a Set does (1 and '1' differ, as in the keys).
 */
function changes<T, G, V>(before: T[], after: T[], group: (item: T) => G, value: (item: T) => V): { added: T[]; removed: T[] } {
  const setOf = (items: T[]) => {
    const m = new Map<G, Set<V>>();
    for (const x of items) {
      const g = group(x);
      let s = m.get(g);
      if (!s) m.set(g, (s = new Set()));
      s.add(value(x));
    }
    return m;
  };
  const had = setOf(before);
  const has = setOf(after);
  return { added: after.filter((x) => !had.get(group(x))?.has(value(x))), removed: before.filter((x) => !has.get(group(x))?.has(value(x))) };
}

function storedMember(t: MemberType, d: string | undefined): StoredMember {
  return d === undefined ? { t } : { t, d };
}

function stored(record: StoredRecord): Stored {
  const out: Stored = { version: record.version, resource: record.resource };
  if (record.secrets) out.secrets = record.secrets;
  return out;
}

function recordOf(schema: ResourceSchema, id: string, value: Stored): StoredRecord {
  const record: StoredRecord = { resourceType: schema.type.id, id, version: value.version, resource: value.resource };
  if (value.secrets) record.secrets = value.secrets;
  return record;
}

/**
 * Copies the environment in `source` (possibly in use by a running server) to `target`, compacted, and reports
 * what the copy holds.
 */
export async function backupLmdb(source: string, target: string): Promise<{ records: number; bytes: number }> {
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
