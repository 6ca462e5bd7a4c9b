/**
 * Queries of the embedded store. Filters are planned onto the index (plan.ts): equality, prefix and range
 * comparisons on indexed paths read only their key range; every candidate is re-checked with the filter evaluator,
 * so a plan can only narrow, never change, what matches. What no index serves falls back to a scan of the type's
 * records, which stays correct. Unfiltered lists read a slice of the records range; unfiltered sorted lists walk
 * the sort attribute's index.
 */
import type { Key } from 'lmdb';
import type { StoredRecord } from '../../scim/resource';
import type { ResourceSchema } from '../../scim/schema';
import { evaluateFilter } from '../../scim/filter/evaluate';
import { queryCopy } from '../../scim/query-copy';
import { comparator, pageOf, sortKeyOf, sortPlan, type SortPlan } from '../sort';
import type { QueryOptions, QueryResult } from '../store';
import { MAX_ID, type LmdbEnvironment, type Stored } from './environment';
import { INDEX_FORMAT, indexedPaths, indexEntries, type IndexKey, KEY_CHARS, pathLabel, planFilter, type PlanStep, PRESENT_START, TOP } from './plan';

/** Records a scan reads between two turns of the event loop. */
const SCAN_CHUNK = 2000;

/** Turns a stored value into the record a query returns (records.ts: with its member flag). */
export type RecordReader = (schema: ResourceSchema, id: string, value: Stored) => StoredRecord;

export class LmdbQueries {
  constructor(
    private readonly db: LmdbEnvironment,
    private readonly recordOf: RecordReader,
  ) {}

  /**
   * Makes sure each type's index entries were built with today's index plan: a plan that changed (an attribute
   * indexed since) rebuilds that type's entries from its records, once, in one transaction.
   */
  async buildIndexes(schemas: readonly ResourceSchema[]): Promise<void> {
    for (const schema of schemas) {
      const type = schema.type.id;
      const plan = JSON.stringify([INDEX_FORMAT, ...indexedPaths(schema).map((p) => p.path)]);
      if (this.db.meta.get(['indexes', type]) === plan) continue;
      await this.db.write(() => {
        for (const key of this.db.index.getKeys({ start: [type], end: [type, MAX_ID] })) this.db.index.remove(key);
        for (const { value } of this.db.records.getRange({ start: [type], end: [type, MAX_ID] })) {
          for (const entry of indexEntries(schema, value.resource.id, queryCopy(schema, value.resource))) this.db.index.put(entry as unknown as Key, 1);
        }
        this.db.meta.put(['indexes', type], plan);
      });
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
      const totalResults = this.db.counts.get([type]) ?? 0;
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
    if (plan) matched.sort(comparator(plan));
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
      for (const key of this.db.index.getKeys(range as unknown as Parameters<typeof this.db.index.getKeys>[0])) {
        const k = key as unknown as IndexKey;
        if (typeof k[2] === 'string' && k[2].length >= KEY_CHARS) return undefined; // possibly truncated: not exact
        if (at && k[2] === at[2] && k[3] === from!.id) continue; // strictly after (before) the keyset
        ids.push(k[3]);
        if (ids.length >= want) break;
      }
    }
    const totalResults = this.db.counts.get([type]) ?? 0;
    const records: StoredRecord[] = [];
    for (const id of keyset ? ids.slice(0, count) : ids.slice(want - count)) {
      const value = this.db.records.get([type, id]);
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
    for (const { key, value } of this.db.records.getRange(range as Parameters<typeof this.db.records.getRange>[0])) {
      out.push(this.recordOf(schema, (key as [string, string])[1], value));
    }
    return out;
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
        const value = this.db.records.get([type, id]);
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
      for (const { key, value } of this.db.records.getRange({ start: [type, from], end: [type, MAX_ID], limit: SCAN_CHUNK + 1 })) {
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
        for (const key of this.db.index.getKeys({ start: [type, step.slot, ...step.start], end: [type, step.slot, ...step.end] })) {
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
}
