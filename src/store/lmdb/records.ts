/**
 * Records in the embedded store, with their versions, views, unique keys and index entries. Atomic: a record, its
 * unique keys, its index entries, its view, the per-type count, a group's member pairs and the write's audit entry
 * change in one write transaction, in which the version guard and the uniqueness checks are made.
 */
import { createHash } from 'node:crypto';
import type { Key } from 'lmdb';
import type { StoredRecord } from '../../scim/resource';
import type { ResourceSchema } from '../../scim/schema';
import type { Json, JsonObject } from '../../scim/values';
import { queryCopy, type Fold } from '../../scim/query-copy';
import { isScimError } from '../../scim/errors';
import { uniqueAttributes, uniquenessError } from '../unique';
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
import { recordOf, stored, type LmdbEnvironment, type Stored } from './environment';
import { indexEntries, type IndexKey } from './plan';
import type { LmdbMemberships } from './members';
import type { LmdbAudit } from './audit';
import { LmdbQueries } from './queries';

/** Creates of a batch put in one transaction: about 3 ms of the event loop each. */

/** One unique value of a record: the attribute label, the normalised key, the value as written (for messages). */
interface UniqueKey {
  label: string;
  key: string;
  original: Json;
}

/** What a record is looked up by: its unique keys and its index entries, both from its normalised copy. */
interface Keys {
  keys: UniqueKey[];
  entries: IndexKey[];
}

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

export class LmdbResources implements ResourceStore {
  readonly queries: LmdbQueries;

  constructor(
    private readonly db: LmdbEnvironment,
    private readonly memberships: LmdbMemberships,
    private readonly audit: LmdbAudit,
  ) {
    this.queries = new LmdbQueries(db, (schema, id, value) => this.recordOf(schema, id, value));
  }

  async create(schema: ResourceSchema, record: StoredRecord, alongside: Alongside = {}): Promise<void> {
    const keys = this.keysOf(schema, record.id, record.resource);
    await this.db.write(() => this.insert(schema.type.id, record, keys, alongside));
  }

  /**
   * In transactions of a few milliseconds each (environment.ts writeInTurns: 100 creates of HR-sized users held the
   * event loop for 27 ms in one transaction body), committed one after another and answered after one flush; an
   * item's checks come before its first put, so each item is stored whole or not at all.
   */
  async createMany(schema: ResourceSchema, items: readonly (CreateItem | null)[], maxErrors = Infinity): Promise<CreateOutcome[]> {
    const type = schema.type.id;
    const out: CreateOutcome[] = [];
    let failed = 0;
    if (items.length === 0) return out;
    await this.db.writeInTurns(() => {
      const item = items[out.length];
      if (failed >= maxErrors || !item) {
        if (!item) failed++;
        out.push('skipped');
      } else {
        try {
          this.insert(type, item.record, this.keysOf(schema, item.record.id, item.record.resource), item);
          out.push('created');
        } catch (e) {
          if (!isScimError(e)) throw e;
          failed++;
          out.push(e);
        }
      }
      return out.length < items.length;
    });
    return out;
  }

  /** Inserts a record (inside the caller's transaction): every check first, so a refused record writes nothing. */
  private insert(type: string, record: StoredRecord, { keys, entries }: Keys, { members, audit }: Alongside): void {
    if (this.db.records.get([type, record.id]) !== undefined) throw uniquenessError('id', record.id);
    this.checkUnique(type, keys, record.id);
    const value = stored(record);
    if (audit) {
      const ref = this.audit.putReferring(audit, value);
      if (ref) value.a = ref;
    }
    this.db.records.put([type, record.id], value);
    if (record.view !== undefined) this.putView(type, record);
    for (const k of keys) this.db.unique.put([type, k.label, k.key], record.id);
    for (const entry of entries) this.db.index.put(entry as unknown as Key, 1);
    this.db.counts.put([type], (this.db.counts.get([type]) ?? 0) + 1);
    if (members) this.memberships.change(record.id, members);
  }

  async get(schema: ResourceSchema, id: string): Promise<StoredRecord | undefined> {
    const value = this.db.records.get([schema.type.id, id]);
    return value ? this.recordOf(schema, id, value) : undefined;
  }

  async getMany(schema: ResourceSchema, ids: readonly string[]): Promise<StoredRecord[]> {
    const out: StoredRecord[] = [];
    for (const id of ids) {
      const value = this.db.records.get([schema.type.id, id]);
      if (value) out.push(this.recordOf(schema, id, value));
    }
    return out;
  }

  getView(schema: ResourceSchema, id: string): StoredView | undefined {
    const view = this.viewOf(schema, id);
    if (view && this.memberships.isMember(id)) view.member = true;
    return view;
  }

  /** Views of records just read: whether each is a member, their records already say (StoredRecord.member). */
  getViews(schema: ResourceSchema, ids: readonly string[]): (StoredView | undefined)[] {
    return ids.map((id) => this.viewOf(schema, id));
  }

  async replace(schema: ResourceSchema, { record, expectedVersion, current: read, members, audit, storedFold }: ReplaceRequest): Promise<WriteOutcome> {
    if (record.version <= expectedVersion) {
      throw new Error(`replace of ${record.id}: version ${record.version} does not follow ${expectedVersion}`);
    }
    const type = schema.type.id;
    // Only what changed is written: a job-info PATCH touches the record, the department and lastModified entries,
    // not the other nine index entries and the userName key, each of which lies on its own page of the B-tree, and
    // a commit writes every page it dirtied. What to remove is computed from the expected version: the caller's
    // copy when it has one, else the transaction's own read.
    const { keys, entries } = this.keysOf(schema, record.id, record.resource);
    const diff = (from: Stored) => {
      const old = this.keysOf(schema, record.id, from.resource, storedFold);
      return {
        uniques: changes(old.keys, keys, (k) => k.label, (k) => k.key),
        indexed: changes(old.entries, entries, (e) => e[1], (e) => e[2]),
      };
    };
    const early = read?.version === expectedVersion ? diff(read) : undefined;
    return this.db.write((): WriteOutcome => {
      const current = this.db.records.get([type, record.id]);
      if (!current) return 'missing';
      if (current.version !== expectedVersion) return 'conflict';
      const { uniques, indexed } = early ?? diff(current);
      // A unique value the record keeps is held by the record already (each write puts its keys, in the same
      // transaction as the record): only the values it gains can be taken by another. A job-info PATCH reads none.
      this.checkUnique(type, uniques.added, record.id);
      for (const k of uniques.removed) if (this.db.unique.get([type, k.label, k.key]) === record.id) this.db.unique.remove([type, k.label, k.key]);
      for (const entry of indexed.removed) this.db.index.remove(entry as unknown as Key);
      this.audit.writeOut(current);
      this.db.records.put([type, record.id], stored(record));
      this.putView(type, record);
      for (const k of uniques.added) this.db.unique.put([type, k.label, k.key], record.id);
      for (const entry of indexed.added) this.db.index.put(entry as unknown as Key, 1);
      if (members) this.memberships.change(record.id, members);
      for (const entry of auditEntriesOf(audit)) this.audit.put(entry);
      return 'ok';
    });
  }

  async delete(schema: ResourceSchema, { id, expectedVersion, audit }: DeleteRequest): Promise<WriteOutcome> {
    const type = schema.type.id;
    return this.db.write((): WriteOutcome => {
      const current = this.db.records.get([type, id]);
      if (!current) return 'missing';
      if (expectedVersion !== undefined && current.version !== expectedVersion) return 'conflict';
      this.unindex(schema, id, current);
      this.audit.writeOut(current);
      this.db.records.remove([type, id]);
      this.db.views.remove([type, id]);
      this.db.counts.put([type], Math.max(0, (this.db.counts.get([type]) ?? 1) - 1));
      this.memberships.dropAll(id);
      if (audit) this.audit.put({ ...audit, versionBefore: current.version });
      return 'ok';
    });
  }

  query(schema: ResourceSchema, options: QueryOptions): Promise<QueryResult> {
    return this.queries.query(schema, options);
  }

  walk(schema: ResourceSchema, visit: (records: StoredRecord[]) => Promise<void> | void): Promise<void> {
    return this.queries.walk(schema, visit);
  }

  /**
   * Keeps each type's unique keys in step with its unique attributes: an attribute made unique since the records
   * were stored gets its keys from every record (the schema check at start has made sure no two share a value; a
   * pair found anyway stops the start), an attribute no longer unique has its keys removed. The labels are noted
   * in meta (`['unique-layout', type]`).
   */
  async buildUniqueKeys(schemas: readonly ResourceSchema[]): Promise<void> {
    for (const schema of schemas) {
      const type = schema.type.id;
      const labels = uniqueAttributes(schema).map((u) => u.label);
      const text = this.db.meta.get(['unique-layout', type]);
      // A directory from before the layout was noted kept the keys of every unique attribute it had, and held no
      // value of an operator's attribute (those were refused): its keys are today's.
      const before: string[] = text !== undefined ? (JSON.parse(text) as string[]) : labels;
      const added = labels.filter((l) => !before.includes(l));
      const removed = before.filter((l) => !labels.includes(l));
      for (const label of removed) {
        await this.db.write(() => {
          for (const key of [...this.db.unique.getKeys({ start: [type, label, ''], end: [type, label, '\uffff'] })]) this.db.unique.remove(key);
        });
      }
      if (added.length > 0) {
        await this.walk(schema, (records) =>
          this.db.write(() => {
            for (const r of records) {
              for (const k of uniqueKeys(schema, r.resource, queryCopy(schema, r.resource))) {
                if (!added.includes(k.label)) continue;
                const holder = this.db.unique.get([type, k.label, k.key]);
                if (holder !== undefined && holder !== r.id) {
                  throw new Error(`${type} ${r.id} and ${holder} share ${k.label} ${JSON.stringify(k.original)}, which is now unique: run \`npm run schema -- check\``);
                }
                this.db.unique.put([type, k.label, k.key], r.id);
              }
            }
          }),
        );
      }
      if (text !== JSON.stringify(labels)) await this.db.write(() => this.db.meta.put(['unique-layout', type], JSON.stringify(labels)));
    }
  }

  /** A record as read, flagged when the resource is in some group. */
  private recordOf(schema: ResourceSchema, id: string, value: Stored): StoredRecord {
    const record = recordOf(schema, id, value);
    if (this.memberships.isMember(id)) record.member = true;
    return record;
  }

  private viewOf(schema: ResourceSchema, id: string): StoredView | undefined {
    const text = this.db.views.get([schema.type.id, id]);
    if (text === undefined) return undefined;
    const space = text.indexOf(' ');
    return { version: Number(text.slice(0, space)), view: text.slice(space + 1) };
  }

  /** The record's view, or none: a view left from an earlier version must never answer for this one. */
  private putView(type: string, record: StoredRecord): void {
    if (record.view !== undefined) this.db.views.put([type, record.id], `${record.version} ${record.view}`);
    else this.db.views.remove([type, record.id]);
  }

  private checkUnique(type: string, keys: UniqueKey[], id: string): void {
    for (const k of keys) {
      const holder = this.db.unique.get([type, k.label, k.key]);
      if (holder !== undefined && holder !== id) throw uniquenessError(k.label, k.original);
    }
  }

  /** A record's unique keys and index entries, from its normalised copy. */
  private keysOf(schema: ResourceSchema, id: string, resource: JsonObject, fold?: Fold): Keys {
    const q = queryCopy(schema, resource, fold);
    return { keys: uniqueKeys(schema, resource, q), entries: indexEntries(schema, id, q, this.queries.pathsOf(schema)) };
  }

  /** Removes a stored record's unique keys and index entries (inside the caller's transaction). */
  private unindex(schema: ResourceSchema, id: string, current: Stored): void {
    const type = schema.type.id;
    const { keys, entries } = this.keysOf(schema, id, current.resource);
    for (const k of keys) {
      if (this.db.unique.get([type, k.label, k.key]) === id) this.db.unique.remove([type, k.label, k.key]);
    }
    for (const entry of entries) this.db.index.remove(entry as unknown as Key);
  }
}
