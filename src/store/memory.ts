/**
 * The embedded in-process store, used when no MONGODB_URI is configured: one Map per resource type.
 *
 * Every method does its checks and its write synchronously, without an `await` in between, so two requests that
 * interleave on the event loop can never both pass a uniqueness or version check. Records are deep-copied on the
 * way in and out, so no caller can change stored state behind the store's back.
 */
import type { StoredRecord } from '../scim/resource';
import type { ResourceSchema } from '../scim/schema';
import type { Json, JsonObject } from '../scim/values';
import { evaluateFilter } from '../scim/filter/evaluate';
import { queryCopy } from '../scim/query-copy';
import { comparator, pageOf, sortKeyOf, sortPlan } from './sort';
import { uniqueAttributes, UniqueAttribute, uniquenessError } from './unique';
import type { QueryOptions, QueryResult, ResourceStore, WriteOutcome } from './store';

interface Entry {
  record: StoredRecord;
  /** The normalised copy: sort values and (case-folded) unique keys come from it. */
  q: JsonObject;
}

interface Table {
  entries: Map<string, Entry>;
  /** unique attribute label -> normalised value key -> id of the record holding it. */
  taken: Map<string, Map<string, string>>;
}

/** One unique value of a record: the attribute, the key it is indexed under, and the value as the client wrote it. */
interface UniqueKey {
  attribute: UniqueAttribute;
  key: string;
  original: Json;
}

function uniqueKeys(schema: ResourceSchema, entry: Entry): UniqueKey[] {
  const keys: UniqueKey[] = [];
  for (const attribute of uniqueAttributes(schema)) {
    const normalised = attribute.read(entry.q);
    const original = attribute.read(entry.record.resource);
    normalised.forEach((v, i) => keys.push({ attribute, key: JSON.stringify(v), original: original[i] ?? v }));
  }
  return keys;
}

export class MemoryStore implements ResourceStore {
  readonly kind = 'memory' as const;
  private readonly tables = new Map<string, Table>();

  async init(schemas: readonly ResourceSchema[] = []): Promise<void> {
    for (const schema of schemas) this.table(schema);
  }

  async create(schema: ResourceSchema, record: StoredRecord): Promise<void> {
    const table = this.table(schema);
    const entry = this.entryOf(schema, record);
    if (table.entries.has(record.id)) throw uniquenessError('id', record.id);
    const keys = uniqueKeys(schema, entry);
    this.checkUnique(table, keys, record.id);
    table.entries.set(record.id, entry);
    this.claim(table, keys, record.id);
  }

  async get(schema: ResourceSchema, id: string): Promise<StoredRecord | undefined> {
    const entry = this.table(schema).entries.get(id);
    return entry ? structuredClone(entry.record) : undefined;
  }

  async replace(schema: ResourceSchema, record: StoredRecord, expectedVersion: number): Promise<WriteOutcome> {
    if (record.version !== expectedVersion + 1) {
      throw new Error(`replace of ${record.id}: version ${record.version} does not follow ${expectedVersion}`);
    }
    const table = this.table(schema);
    const current = table.entries.get(record.id);
    if (!current) return 'missing';
    if (current.record.version !== expectedVersion) return 'conflict';
    const entry = this.entryOf(schema, record);
    const keys = uniqueKeys(schema, entry);
    this.checkUnique(table, keys, record.id);
    this.release(table, uniqueKeys(schema, current), record.id);
    table.entries.set(record.id, entry);
    this.claim(table, keys, record.id);
    return 'ok';
  }

  async delete(schema: ResourceSchema, id: string, expectedVersion?: number): Promise<WriteOutcome> {
    const table = this.table(schema);
    const current = table.entries.get(id);
    if (!current) return 'missing';
    if (expectedVersion !== undefined && current.record.version !== expectedVersion) return 'conflict';
    this.release(table, uniqueKeys(schema, current), id);
    table.entries.delete(id);
    return 'ok';
  }

  async query(schema: ResourceSchema, options: QueryOptions): Promise<QueryResult> {
    const plan = options.sort ? sortPlan(schema, options.sort) : undefined;
    const { filter } = options;
    const matched: Entry[] = [];
    for (const entry of this.table(schema).entries.values()) {
      if (!filter || evaluateFilter(filter, entry.record.resource)) matched.push(entry);
    }
    const order = comparator(plan);
    matched.sort((a, b) => order({ id: a.record.id, q: a.q }, { id: b.record.id, q: b.q }));
    const { items, more } = pageOf(matched, (e) => sortKeyOf(plan, { id: e.record.id, q: e.q }), plan, options);
    const result: QueryResult = { totalResults: matched.length, records: items.map((e) => structuredClone(e.record)) };
    if (options.keyset) result.more = more;
    return result;
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {}

  private table(schema: ResourceSchema): Table {
    let table = this.tables.get(schema.type.id);
    if (!table) {
      table = { entries: new Map(), taken: new Map() };
      this.tables.set(schema.type.id, table);
    }
    return table;
  }

  private entryOf(schema: ResourceSchema, record: StoredRecord): Entry {
    const copy = structuredClone(record);
    return { record: copy, q: queryCopy(schema, copy.resource) };
  }

  /** Throws a 409 `uniqueness` error (see uniquenessError) when another record holds one of the keys. */
  private checkUnique(table: Table, keys: UniqueKey[], id: string): void {
    for (const k of keys) {
      const holder = table.taken.get(k.attribute.label)?.get(k.key);
      if (holder !== undefined && holder !== id) {
        throw uniquenessError(k.attribute.label, k.original);
      }
    }
  }

  private claim(table: Table, keys: UniqueKey[], id: string): void {
    for (const k of keys) {
      let values = table.taken.get(k.attribute.label);
      if (!values) {
        values = new Map();
        table.taken.set(k.attribute.label, values);
      }
      values.set(k.key, id);
    }
  }

  private release(table: Table, keys: UniqueKey[], id: string): void {
    for (const k of keys) {
      const values = table.taken.get(k.attribute.label);
      if (values?.get(k.key) === id) values.delete(k.key);
    }
  }
}
