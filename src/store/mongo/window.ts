/**
 * Sorted pages read as a window of values instead of through an ordered index scan.
 *
 * A sorted page is the first `need` documents of a segment (the matches with a value, by `(field, _id)`, after a
 * cursor's key if there is one). MongoDB reads that by walking the `{field: 1, _id: 1}` index in order and stopping
 * after `need` keys. An engine that cannot walk an index in order (DocumentDB, the engine of the test database and
 * of Azure Cosmos DB for MongoDB vCore: its bson indexes answer ranges but return them unordered) sorts every match
 * instead, which at 1,000,000 users takes seconds. What both engines do serve from the index, at a cost that follows
 * the number of matches rather than the collection, is a range: `field <= bound`. So:
 *
 *   if at least `need` documents have `field <= bound`, the first `need` of the whole order are among them
 *   (every document outside has a larger value than every document inside), and ordering that window here gives
 *   the page exactly, ties at the bound included.
 *
 * The store reads the window's `(_id, field)` with a limit of `cap` + 1, orders it, and fetches the page's
 * documents by `_id`. A window may be wrong only in size, never in content, and each read says which way:
 *  - more than `cap` documents: too wide. The need-th smallest value among those read is a bound that still holds
 *    `need` documents (the ones read), so the next window is narrower and still right;
 *  - fewer than `need` while bounded: too narrow; a wider bound is taken from the samples;
 *  - unbounded and fewer than `need`: that is the whole rest of the segment.
 * Where a bound comes from:
 *  - a hint: the bound that last served the same query and start (kept per store, bounded in number), re-checked
 *    by the read like any other bound; sequential pages hint each other, as a window usually holds the next page;
 *  - else a sample (`$sample`, which both engines serve without reading the collection: a random cursor on
 *    MongoDB, `TABLESAMPLE` on DocumentDB): with `total` matches and `m` matching samples, each sample stands for
 *    about total/m documents, so the sample at rank 2·need·m/total is a bound expected to hold about 2·need.
 * If no bound converges within a few reads (heavy ties: a value shared by more than `cap` documents cannot be
 * split), the caller falls back to the database's own sort.
 *
 * Only for attributes of one BSON type bracket (strings, numbers): `$lte` on a string does not match numbers, so a
 * window over mixed types could leave out documents. The schema types guarantee one bracket per attribute.
 */
import type { Collection, Document } from 'mongodb';
import { compareStrings } from '../../scim/collation';
import type { Json } from '../../scim/values';
import { isObject } from '../../scim/values';
import type { ResourceDocument } from './document';
import { compareValues, SortKey } from '../sort';

/** Reads at most this many windows for one page before giving up. */
const MAX_READS = 8;
/** Hints kept per store (oldest dropped first). */
const MAX_HINTS = 1000;

export interface WindowOptions {
  /** The largest window read (its `_id` and sort value only); pages reaching further use the database's sort. */
  cap: number;
  /** Documents drawn by `$sample` when no hint is known. */
  sample: number;
}

export interface WindowRequest {
  /** The documents to order: the query, the segment's `{field: {$ne: null}}`, and the cursor's range if any. */
  where: Document;
  /** The same without the cursor's range: what samples are drawn from, and what hints are kept for. */
  base: Document;
  /** The dotted path of the sort value. */
  field: string;
  /** Walking direction: 1 ascending, -1 descending. */
  dir: 1 | -1;
  /** How many documents of the order to return. */
  need: number;
  /** Matches of `base` (exact or estimated), to place the samples. */
  total: number;
  /** The key the page starts strictly beyond (a cursor's), if any. */
  from?: SortKey;
  /**
   * Position (in the returned order) of the key the next page will start beyond, so that its window can be hinted
   * from this one.
   */
  next?: number;
  /** Names the collection in hint keys. */
  scope: string;
}

interface Row {
  id: string;
  value: Json;
}

function valueAt(doc: Document, field: string): Json | undefined {
  let at: unknown = doc;
  for (const part of field.split('.')) {
    if (!isObject(at as Json)) return undefined;
    at = (at as Record<string, unknown>)[part];
  }
  return at as Json | undefined;
}

export class SortWindows {
  private readonly hints = new Map<string, Json>();

  constructor(private readonly options: WindowOptions) {}

  /** Whether a page of `need` documents can be read as a window at all. */
  fits(need: number): boolean {
    return need > 0 && need <= this.options.cap;
  }

  /**
   * The first `need` documents of the order (fewer when the segment ends first), whole but for the normalised
   * copy; undefined when no window converged (the caller then asks the database to sort).
   */
  async prefix(coll: Collection<ResourceDocument>, r: WindowRequest): Promise<ResourceDocument[] | undefined> {
    const { cap } = this.options;
    if (!this.fits(r.need)) return undefined;
    const order = (a: Row, b: Row) => r.dir * (compareValues(a.value, b.value) || compareStrings(a.id, b.id));
    const beyondFrom = (row: Row) => !r.from || r.from.value === undefined || order(row, { id: r.from.id, value: r.from.value }) > 0;
    const hintKey = (from: SortKey | undefined) =>
      `${r.scope}\0${r.field}\0${r.dir}\0${JSON.stringify(r.base)}\0${from ? JSON.stringify([from.id, from.value ?? null]) : ''}`;
    const kind = (v: Json) => (typeof v === 'number' ? 'number' : typeof v === 'string' ? 'string' : 'other');

    let bound: Json | undefined = this.hints.get(hintKey(r.from));
    let samples: Row[] | undefined;
    let perSample = Infinity;
    let at = -1;
    /** The sample at `index` (clamped), or undefined (no bound) past the last one. */
    const fromSamples = (index: number): Json | undefined => {
      at = Math.max(0, index);
      return at < samples!.length ? samples![at]!.value : undefined;
    };
    const sample = async () => {
      const drawn = await coll
        .aggregate<{ _id: string; v?: Json }>([{ $sample: { size: this.options.sample } }, { $match: r.base }, { $project: { _id: 1, v: `$${r.field}` } }])
        .toArray();
      const rows = drawn.filter((d) => d.v !== undefined && d.v !== null).map((d) => ({ id: d._id, value: d.v! }));
      perSample = rows.length > 0 ? r.total / rows.length : Infinity;
      samples = rows.filter(beyondFrom).sort(order);
    };
    if (bound === undefined) {
      await sample();
      bound = fromSamples(Math.ceil((2 * r.need) / perSample) - 1);
    }

    for (let reads = 0; reads < MAX_READS; reads++) {
      const where = bound === undefined ? r.where : { $and: [r.where, { [r.field]: { [r.dir > 0 ? '$lte' : '$gte']: bound } }] };
      const docs = await coll.find(where, { projection: { _id: 1, [r.field]: 1 } }).limit(cap + 1).toArray();
      const rows: Row[] = [];
      for (const d of docs) {
        const value = valueAt(d, r.field);
        if (value === undefined || value === null) continue;
        // One type bracket only (see above); anything else is the database's to sort.
        if (kind(value) === 'other' || kind(value) !== kind(bound ?? rows[0]?.value ?? value)) return undefined;
        rows.push({ id: d._id, value });
      }
      if (rows.length > cap) {
        // Too wide: the need-th of the values read bounds a window that still holds those `need` documents.
        rows.sort(order);
        const narrower = rows[r.need - 1]!.value;
        if (bound !== undefined && compareValues(narrower, bound) === 0) return undefined; // ties: cannot narrow
        bound = narrower;
        continue;
      }
      if (rows.length < r.need && bound !== undefined) {
        // Too narrow: a wider bound from the samples (drawn now if the bound was a hint), at least four times as
        // far along them as the last.
        if (!samples) {
          await sample();
          const b = bound;
          at = samples!.findIndex((s) => r.dir * compareValues(s.value, b) > 0) - 1;
          if (at < -1) at = samples!.length - 1;
        }
        bound = fromSamples(Math.max(at + 1, (at + 1) * 4 - 1, Math.ceil((2 * r.need) / perSample) - 1));
        continue;
      }
      rows.sort(order);
      this.remember(hintKey(r.from), rows, r.need - 1);
      if (r.next !== undefined && r.next >= 0 && r.next < rows.length) {
        const key = rows[r.next]!;
        this.remember(hintKey({ id: key.id, value: key.value }), rows.slice(r.next + 1), r.need - 1);
      }
      return this.fetch(coll, rows.slice(0, r.need));
    }
    return undefined;
  }

  /**
   * Keeps, for a start, a bound that holds at least `least` + 1 of `rows` (ordered, complete up to their last):
   * the one at twice that, so that a few documents moving out of the window do not make it too narrow next time.
   */
  private remember(key: string, rows: Row[], least: number): void {
    if (rows.length <= least) return;
    const value = rows[Math.min(rows.length - 1, 2 * least + 1)]!.value;
    this.hints.delete(key);
    this.hints.set(key, value);
    if (this.hints.size > MAX_HINTS) this.hints.delete(this.hints.keys().next().value!);
  }

  /** The documents of `rows`, in their order (one that was deleted meanwhile is left out). */
  private async fetch(coll: Collection<ResourceDocument>, rows: Row[]): Promise<ResourceDocument[]> {
    if (rows.length === 0) return [];
    const docs = await coll.find({ _id: { $in: rows.map((x) => x.id) } }, { projection: { q: 0 } }).toArray();
    const byId = new Map(docs.map((d) => [d._id, d]));
    return rows.map((x) => byId.get(x.id)).filter((d): d is ResourceDocument => d !== undefined);
  }
}
