/**
 * Queries of the MongoDB store: filters compiled to MongoDB queries (filter.ts), totals, pages by index and by
 * keyset, sorted by the database or, for small and window-served results, here (sort.ts gives both the same order).
 */
import { Collection, Document, Sort } from 'mongodb';
import type { StoredRecord } from '../../scim/resource';
import type { ResourceSchema } from '../../scim/schema';
import { evaluateFilter } from '../../scim/filter/evaluate';
import { compareKeys, Keyset, pageOf, SortKey, sortKeyOf, sortPlan, SortPlan } from '../sort';
import type { QueryOptions, QueryResult } from '../store';
import { compileFilter } from './filter';
import { decodeKeys, fieldPath, fromDocument, type ResourceDocument } from './document';
import { SortWindows } from './window';
import { indexedAttributes } from '../indexed';
import type { MongoConnection } from './connection';

/** A record without its normalised copy, its view and its audit entry, which only filters, GET by id and writes read. */
export const RECORD_PROJECTION = { q: 0, view: 0, aud: 0 } as const;

/** See QueryTuning.smallResult: one page at the largest page size. */
export const SMALL_RESULT = 1000;
/** See QueryTuning.probe: one page at the default page size. */
export const PROBE = 100;
/** See QueryTuning.windowSample. */
export const WINDOW_SAMPLE = 1000;
/**
 * A set of ids (an idIn filter: a group's members) is paged by cursor by walking the sort order and keeping the set's
 * ids when it holds at least 1/DENSE_SHARE of the collection: a page then reads about DENSE_SHARE ids per result,
 * where the database's own plan reads and sorts the whole set (a page of 50 of a 100,000-member group took 7-8 s on
 * the test database, past the deadline). At most DENSE_WALK_CAP ids per result are walked before the page is left to
 * the database (a set bunched at the far end of the order would otherwise walk the collection).
 */
const DENSE_SHARE = 20;
const DENSE_WALK_CAP = 4 * DENSE_SHARE;
/** Ids read per batch of such a walk. */
const DENSE_BATCH = 1000;
/** Attribute types whose values are all of one BSON type bracket (strings or numbers), which windows need. */
const WINDOW_TYPES = new Set(['string', 'dateTime', 'reference', 'binary', 'integer', 'decimal']);

export interface QueryTuning {
  /**
   * A query that matches at most this many resources is read whole, unsorted, and ordered and paged here (see
   * query()); larger ones are sorted and paged by the database. Default SMALL_RESULT; tests set 0 to run every
   * query through the database's sort.
   */
  smallResult?: number;
  /**
   * Sorted pages of larger results that end within the first `windowCap` documents of their order are read as a
   * window of values (window.ts) rather than sorted by the database; 0 leaves every such sort to the database.
   * Default SMALL_RESULT.
   */
  windowCap?: number;
  /** Documents `$sample` draws to place a window when no hint is known. Default WINDOW_SAMPLE. */
  windowSample?: number;
  /**
   * A filtered query first reads its matches, unsorted, up to this many (at most `smallResult`): when that is all
   * of them, the page is made from them and no count is asked. Default PROBE; 0 counts first.
   */
  probe?: number;
}

/**
 * Part of a result: the documents matching `where`, in the order of `field` (then `_id`) in direction `dir`, or of
 * `_id` alone when there is no field.
 */
export interface Segment {
  where: Document;
  field?: string;
  dir: 1 | -1;
  /** Whether a page of the segment may be read as a window of values (window.ts). */
  windowed?: boolean;
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
 * The index a segment's read names (`hint`): the `_id` index when the segment is in `_id` order and `where` holds no
 * condition but on `_id` (an unfiltered index page, a walk's `_id > key`), so that the database walks that index in
 * order and stops after the page. MongoDB's planner picks that plan on its own; DocumentDB's does not (it reads
 * every match through a bitmap and sorts them all: 130 ms for a page of 100 at 20,000 users, against 12 to 60 ms
 * walking the index). Any other query keeps the planner's choice: a filter's own index narrows the read more than
 * walking every id would.
 */
export function hintOf(segment: Segment, where: Document): Document | undefined {
  if (segment.field !== undefined) return undefined;
  return Object.keys(where).every((k) => k === '_id') ? { _id: 1 } : undefined;
}

/**
 * A segment's documents in its order (reversed for pages before a cursor), `skip` of them left out, at most `limit`,
 * as records (RECORD_PROJECTION). An aggregation rather than a find, so that the projection comes after the skip and
 * the limit: DocumentDB projects every row its scan produces, the skipped ones too, and skipping 19,000 users with a
 * projection took 150-220 ms against 35-80 ms projecting the page alone. MongoDB runs both the same way (it moves
 * the projection after the limit itself); the pipeline is plain MongoDB either way.
 */
export function readPipeline(segment: Segment, where: Document, { skip = 0, limit, reverse = false }: { skip?: number; limit: number; reverse?: boolean }): Document[] {
  const pipeline: Document[] = [];
  if (Object.keys(where).length > 0) pipeline.push({ $match: where });
  pipeline.push({ $sort: sortOf(segment, reverse) });
  if (skip > 0) pipeline.push({ $skip: skip });
  pipeline.push({ $limit: limit }, { $project: RECORD_PROJECTION });
  return pipeline;
}

function read(coll: Collection<ResourceDocument>, segment: Segment, where: Document, range: { skip?: number; limit: number; reverse?: boolean }): Promise<ResourceDocument[]> {
  if (range.limit <= 0) return Promise.resolve([]);
  const hint = hintOf(segment, where);
  return coll.aggregate<ResourceDocument>(readPipeline(segment, where, range), hint ? { hint } : {}).toArray();
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

/** Whether the stores index the sort's attribute (indexed.ts): a `{field: 1, _id: 1}` index serves its order. */
function sortIndexed(schema: ResourceSchema, plan: SortPlan): boolean {
  const label = fieldPath(plan.resolved);
  return indexedAttributes(schema).some((r) => fieldPath(r) === label);
}

/** The segment a sort key falls in: with a value, the one with the field; without, the other. */
function segmentOf(segments: Segment[], key: SortKey): number {
  if (segments.length === 1) return 0;
  return segments.findIndex((s) => (s.field !== undefined) === (key.value !== undefined));
}

/**
 * The segments a keyset page walks, in the page's order: the key's own segment first (its documents beyond the key:
 * `from`), then the following ones, or the preceding ones for a page before the key (`side` -1).
 */
function* keysetWalk(plan: SortPlan | undefined, keyset: Keyset): Generator<{ segment: Segment; from?: SortKey; side: 1 | -1 }> {
  const segments = segmentsOf(plan);
  const key = keyset.before ?? keyset.after;
  const side = keyset.before !== undefined ? -1 : 1;
  const start = key ? segmentOf(segments, key) : 0;
  for (let i = start; i >= 0 && i < segments.length; i += side) yield { segment: segments[i]!, from: key && i === start ? key : undefined, side };
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

export class MongoQueries {
  private readonly smallResult: number;
  private readonly probe: number;
  private readonly windows: SortWindows;
  /**
   * The collection's own count: MongoDB keeps it in the collection's metadata. A field, so that a test can make it
   * wrong, as it can be after an unclean shutdown.
   */
  estimatedCount: (coll: Collection<ResourceDocument>) => Promise<number> = (coll) => coll.estimatedDocumentCount();

  constructor(
    private readonly conn: MongoConnection,
    tuning: QueryTuning = {},
  ) {
    this.smallResult = tuning.smallResult ?? SMALL_RESULT;
    this.probe = Math.min(tuning.probe ?? PROBE, this.smallResult);
    this.windows = new SortWindows({ cap: tuning.windowCap ?? SMALL_RESULT, sample: tuning.windowSample ?? WINDOW_SAMPLE });
  }

  /**
   * Every query is served by indexes where the filter has an indexed condition, whatever it is sorted by:
   *  - a filtered query is first read unsorted, up to `probe` matches: a lookup (by userName, externalId, email,
   *    manager) usually finds all of its matches at once, and is then ordered and paged here, its total what was
   *    read, with no count. A count costs the database more than such a read: DocumentDB counts through an
   *    aggregation, 7.7 ms of its CPU for one match where the read takes 0.2 ms; the soak's `userName eq` lookups
   *    and the manager cascade of every delete asked for one each;
   *  - otherwise the total is `countDocuments(filter)`, which the filter's index answers (an unfiltered total is the
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
  query(schema: ResourceSchema, options: QueryOptions): Promise<QueryResult> {
    return this.conn.guard('query', async () => {
      const coll = await this.conn.collection(schema);
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
      if (count > 0 && this.probe > 0 && Object.keys(compiled.query).length > 0) {
        const all = await this.inMemory(schema, coll, compiled.query, undefined, plan, paging, this.probe);
        if (all) return all;
      }
      const { total, exact } = await this.total(coll, compiled.query);
      if (count === 0) return { totalResults: total, records: [] };
      if (total <= this.smallResult) {
        const small = await this.inMemory(schema, coll, compiled.query, undefined, plan, paging, this.smallResult);
        if (small) return small;
      }
      if (options.keyset) {
        // Walked only along an index (the sort attribute's, or _id's): an unindexed sort would sort the collection.
        const among =
          filter?.op === 'idIn' && (!plan || sortIndexed(schema, plan)) && filter.ids.size * DENSE_SHARE >= (await this.estimatedCount(coll)) ? filter.ids : undefined;
        const walked = among ? await this.keysetAmong(schema, coll, among, plan, options.keyset, count) : undefined;
        return { totalResults: total, ...(walked ?? (await this.keysetInDatabase(schema, coll, compiled.query, plan, options.keyset, count, total))) };
      }
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
    // A batch, not a limit: the database sends `limit` + 1 matches at most, and the cursor is closed there. With a
    // limit, DocumentDB walks the filter's index in order (8-10 ms of its CPU for one `userName eq` match) instead
    // of reading the matches through a bitmap of it (0.2 ms); MongoDB reads the filter's index either way.
    if (Number.isFinite(limit)) cursor.batchSize(limit + 1);
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
   * ends early enough in its order is read as a window (window.ts) instead.
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
        : await read(coll, segment, where, { skip: toSkip, limit: want });
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
   * A keyset page of the ids in `among` (see DENSE_SHARE): the segments walked in the page's order without the set's
   * condition, reading ids only, keeping those in the set, up to `count` + 1; then their records, read by id. The
   * same order and the same `more` as keysetInDatabase gives. Undefined when the walk reads more than
   * DENSE_WALK_CAP ids per result wanted without filling the page: the database's plan is left to do it.
   */
  private async keysetAmong(
    schema: ResourceSchema,
    coll: Collection<ResourceDocument>,
    among: ReadonlySet<string>,
    plan: SortPlan | undefined,
    keyset: Keyset,
    count: number,
  ): Promise<{ records: StoredRecord[]; more: boolean } | undefined> {
    const backwards = keyset.before !== undefined;
    const ids: string[] = [];
    let budget = DENSE_WALK_CAP * (count + 1);
    for (const { segment, from, side } of keysetWalk(plan, keyset)) {
      if (ids.length > count) break;
      const where = and(segment.where, from ? beyond(segment, from, side) : {});
      const hint = hintOf(segment, where);
      const cursor = coll.find(where, { projection: { _id: 1 }, sort: sortOf(segment, backwards), batchSize: DENSE_BATCH, ...(hint ? { hint } : {}) });
      try {
        for await (const doc of cursor) {
          if (--budget < 0) return undefined;
          if (among.has(doc._id)) ids.push(doc._id);
          if (ids.length > count) break;
        }
      } finally {
        await cursor.close();
      }
    }
    const page = ids.slice(0, count);
    const byId = new Map<string, ResourceDocument>();
    for (const d of await coll.find({ _id: { $in: page } }, { projection: RECORD_PROJECTION }).toArray()) byId.set(d._id, d);
    // A record deleted between the walk and this read is left out, as a page read a moment later would leave it.
    const records = page.flatMap((id) => {
      const d = byId.get(id);
      return d ? [fromDocument(schema, d)] : [];
    });
    if (backwards) records.reverse();
    return { records, more: ids.length > count };
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
    const backwards = keyset.before !== undefined;
    const docs: ResourceDocument[] = [];
    for (const { segment, from, side } of keysetWalk(plan, keyset)) {
      if (docs.length > count) break;
      const base = and(query, segment.where);
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
      const batch = window ?? (await read(coll, segment, where, { limit: want, reverse: backwards }));
      docs.push(...batch);
    }
    const records = docs.slice(0, count).map((d) => fromDocument(schema, d));
    if (backwards) records.reverse();
    return { records, more: docs.length > count };
  }
}
