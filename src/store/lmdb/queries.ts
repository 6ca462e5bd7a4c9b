/**
 * Queries of the embedded store. Filters are planned onto the index (plan.ts): equality, prefix and range
 * comparisons on indexed paths read only their key range; every candidate is re-checked with the filter evaluator,
 * so a plan can only narrow, never change, what matches. What no index serves falls back to a scan of the type's
 * records, which stays correct. Unfiltered lists read a slice of the records range; unfiltered sorted lists walk
 * the sort attribute's index.
 */
import type { Key } from 'lmdb';
import type { StoredRecord } from '../../scim/resource';
import type { JsonObject } from '../../scim/values';
import type { ResourceSchema } from '../../scim/schema';
import { evaluateFilter } from '../../scim/filter/evaluate';
import { queryCopy } from '../../scim/query-copy';
import { comparator, pageOf, sortKeyOf, sortPlan, type SortPlan } from '../sort';
import type { IndexBuild, QueryOptions, QueryResult } from '../store';
import { sortInTurns, Turns } from '../../turns';
import { keyChunks } from './slices';
import { MAX_ID, type LmdbEnvironment, type Stored } from './environment';
import { INDEX_FORMAT, INDEX_FORMATS_KEPT, indexedPaths, type IndexedPath, indexEntries, type IndexKey, KEY_CHARS, pathLabel, planFilter, type PlanStep, PRESENT_START, signatureOf, type Slot, slotNumber, slotOf, TOP } from './plan';

/** Records a scan reads between two turns of the event loop. */
const SCAN_CHUNK = 2000;
/** Records a background index build reads (and indexes) per write transaction. */
const BUILD_CHUNK = 250;
/**
 * Keys a deep page skips between two turns of the event loop. Reading a key costs about a microsecond here (decoding
 * it included), so a chunk holds the loop for a few milliseconds, and a page at startIndex 999,901 of a million
 * users (a client jumping there, not walking: service/page-walks.ts) no longer stalls every other request.
 */
const SKIP_CHUNK = 4096;
/**
 * A set of ids (an idIn filter) is paged by walking the sort index when it holds at least 1/DENSE_SHARE of the
 * type's records: a page then walks DENSE_SHARE keys per result or fewer when the set is spread evenly over the
 * order, far cheaper than reading and sorting the whole set. A smaller set is read whole and sorted.
 */
const DENSE_SHARE = 20;

/** A type's index layout as meta keeps it: the entry format, each path's slot by signature, paths being built. */
interface Layout {
  format: string;
  slots: Record<string, Slot>;
  building: string[];
}

/** Turns a stored value into the record a query returns (records.ts: with its member flag). */
export type RecordReader = (schema: ResourceSchema, id: string, value: Stored) => StoredRecord;

export class LmdbQueries {
  constructor(
    private readonly db: LmdbEnvironment,
    private readonly recordOf: RecordReader,
  ) {}

  /** Per type: every path with its slot (what writes maintain) and the paths still being built (not yet planned on). */
  private readonly layouts = new Map<string, { paths: IndexedPath[]; building: Set<string> }>();
  /** Background builds under way, for /readyz and the log. */
  private readonly builds = new Map<string, IndexBuild>();
  /** Resolves when every background build started by buildIndexes has finished (tests, the schema command). */
  settled: Promise<void> = Promise.resolve();
  /** Keys a deep page skips per turn of the event loop (SKIP_CHUNK; tests make it small). */
  skipChunk = SKIP_CHUNK;

  /** The paths index entries are written for: all of them, built or being built. */
  pathsOf(schema: ResourceSchema): readonly IndexedPath[] {
    return this.layouts.get(schema.type.id)?.paths ?? indexedPaths(schema);
  }

  /** The paths a query may be planned on: those whose entries are complete. */
  readyPaths(schema: ResourceSchema): readonly IndexedPath[] {
    const layout = this.layouts.get(schema.type.id);
    if (!layout) return indexedPaths(schema);
    return layout.building.size === 0 ? layout.paths : layout.paths.filter((p) => !layout.building.has(p.path));
  }

  indexing(): IndexBuild[] {
    return [...this.builds.values()].map((b) => ({ ...b }));
  }

  /**
   * Lays out each type's index: a slot per indexed path, kept in meta (`['index-layout', type]`) so that a path
   * keeps its slot when others come and go. A path indexed since the records were stored (an operator's attribute
   * newly listed in extensions.json) gets a new slot and is built in the background, a chunk of records per write
   * transaction, while queries on it are answered by the evaluator (the planner leaves it out until it is complete)
   * and writes keep its entries as they go. A path no longer indexed has its entries removed the same way. A new
   * directory, or one written with another entry format, is laid out (and, if need be, rebuilt) at once.
   */
  async buildIndexes(schemas: readonly ResourceSchema[]): Promise<void> {
    const background: Promise<void>[] = [];
    for (const schema of schemas) {
      const type = schema.type.id;
      const wanted = indexedPaths(schema);
      const stored = this.readLayout(type) ?? this.legacyLayout(type, wanted);
      const count = this.db.counts.get([type]) ?? 0;
      if (!stored || !INDEX_FORMATS_KEPT.includes(stored.format)) {
        // An older format (or none): entries as today's plan makes them, from every record, in one transaction.
        const legacy = this.db.meta.get(['indexes', type]);
        const positional = JSON.stringify([INDEX_FORMAT, ...wanted.map((p) => p.path)]);
        if (count > 0 && legacy !== positional) {
          await this.db.write(() => {
            for (const key of this.db.index.getKeys({ start: [type], end: [type, MAX_ID] })) this.db.index.remove(key);
            for (const { value } of this.db.records.getRange({ start: [type], end: [type, MAX_ID] })) {
              for (const entry of indexEntries(schema, value.resource.id, queryCopy(schema, value.resource), wanted)) this.db.index.put(entry as unknown as Key, 1);
            }
          });
        }
        const slots = Object.fromEntries(wanted.map((p) => [signatureOf(p.resolved), p.slot]));
        await this.db.write(() => {
          this.db.meta.put(['index-layout', type], JSON.stringify({ format: INDEX_FORMAT, slots, building: [] }));
          this.db.meta.remove(['indexes', type]);
        });
        this.layouts.set(type, { paths: wanted, building: new Set() });
        continue;
      }
      const { format } = stored;
      const slots = { ...stored.slots };
      const building = new Set(stored.building);
      let next = Math.max(-1, ...Object.values(slots).map(slotNumber)) + 1;
      const paths: IndexedPath[] = [];
      for (const p of wanted) {
        const signature = signatureOf(p.resolved);
        let slot = slots[signature];
        if (slot === undefined) {
          slot = slots[signature] = slotOf(format, next++);
          if (count > 0) building.add(signature);
        }
        paths.push({ ...p, slot });
      }
      const signatures = new Set(wanted.map((p) => signatureOf(p.resolved)));
      const retired = Object.entries(slots).filter(([signature]) => !signatures.has(signature));
      for (const [signature] of retired) {
        delete slots[signature];
        building.delete(signature);
      }
      await this.db.write(() => {
        this.db.meta.put(['index-layout', type], JSON.stringify({ format, slots, building: [...building] }));
        this.db.meta.remove(['indexes', type]);
      });
      const layout = { paths, building: new Set(paths.filter((p) => building.has(signatureOf(p.resolved))).map((p) => p.path)) };
      this.layouts.set(type, layout);
      if (layout.building.size > 0 || retired.length > 0) {
        background.push(this.buildInBackground(schema, paths.filter((p) => layout.building.has(p.path)), retired.map(([, slot]) => slot), count));
      }
    }
    this.settled = Promise.all([this.settled, ...background]).then(() => undefined);
  }

  /**
   * The layout of a directory from before layouts were noted: its plan (`['indexes', type]`) listed the paths in
   * slot order. Paths of that plan keep their slots (no rebuild); a path it lacks is new (built in the background).
   */
  private legacyLayout(type: string, wanted: readonly IndexedPath[]): Layout | undefined {
    const text = this.db.meta.get(['indexes', type]);
    if (text === undefined) return undefined;
    const [format, ...labels] = JSON.parse(text) as string[];
    const slots: Record<string, Slot> = {};
    labels.forEach((label, slot) => {
      const now = wanted.find((p) => p.path === label);
      slots[now ? signatureOf(now.resolved) : `${label}|retired`] = slot;
    });
    return { format: format ?? '', slots, building: [] };
  }

  private readLayout(type: string): Layout | undefined {
    const text = this.db.meta.get(['index-layout', type]);
    return text === undefined ? undefined : (JSON.parse(text) as Layout);
  }

  /**
   * Adds the entries of `paths` for every record of the type, BUILD_CHUNK records per transaction with a turn of
   * the event loop between, then removes the entries of retired slots the same way; the layout notes each path
   * built, so a restart resumes the rest from scratch (entries are idempotent).
   */
  private async buildInBackground(schema: ResourceSchema, paths: IndexedPath[], retired: Slot[], total: number): Promise<void> {
    const type = schema.type.id;
    const build: IndexBuild = { type, paths: paths.map((p) => p.path), done: 0, total };
    if (paths.length > 0) this.builds.set(type, build);
    try {
      let from: string | undefined;
      const turns = new Turns();
      while (paths.length > 0) {
        // The entries are worked out outside the write transaction (that is the costly part: a normalised copy of
        // each record), a slice of at most BUILD_CHUNK records or of the slice's time budget; the transaction only
        // puts them, after checking each record is still the version read (a record written meanwhile got its
        // entries from its own write, and is worked out again here from what is stored now).
        const batch: { id: string; version: number; entries: unknown[][] }[] = [];
        for (const { key, value } of this.db.records.getRange({ start: [type, from ?? ''], end: [type, MAX_ID], limit: BUILD_CHUNK + 1 })) {
          if (from !== undefined && key[1] === from) continue;
          if (batch.length >= BUILD_CHUNK || (batch.length > 0 && turns.due())) break;
          batch.push({ id: key[1], version: value.version, entries: indexEntries(schema, key[1], queryCopy(schema, value.resource), paths) as unknown as unknown[][] });
        }
        if (batch.length === 0) break;
        await this.db.write(() => {
          for (const b of batch) {
            const now = this.db.records.get([type, b.id]);
            if (!now) continue;
            const entries = now.version === b.version ? b.entries : (indexEntries(schema, b.id, queryCopy(schema, now.resource), paths) as unknown as unknown[][]);
            for (const entry of entries) this.db.index.put(entry as unknown as Key, 1);
          }
        });
        build.done += batch.length;
        from = batch[batch.length - 1]!.id;
        await turns.next();
      }
      build.done = Math.max(build.done, build.total);
      for (const slot of retired) {
        for (;;) {
          const removed = await this.db.write(() => {
            let n = 0;
            for (const key of [...this.db.index.getKeys({ start: [type, slot], end: [type, slot, TOP, MAX_ID], limit: BUILD_CHUNK * 4 })]) {
              this.db.index.remove(key);
              n++;
            }
            return n;
          });
          if (removed === 0) break;
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
      await this.db.write(() => {
        const layout = this.readLayout(type);
        if (layout) this.db.meta.put(['index-layout', type], JSON.stringify({ ...layout, building: [] }));
      });
      const live = this.layouts.get(type);
      if (live) live.building.clear();
    } finally {
      this.builds.delete(type);
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
        if (count === 0) return { totalResults, records: [] };
        if (skip < this.skipChunk) return { totalResults, records: this.recordsRange(schema, { start: [type], end: [type, MAX_ID], offset: skip, limit: count }) };
        // A deep page: the ids before it are counted off in chunks, then the page is read from the last of them.
        const before = await this.keyAt((range) => this.db.records.getKeys(range as Parameters<typeof this.db.records.getKeys>[0]), { start: [type], end: [type, MAX_ID] }, skip);
        if (!before) return { totalResults, records: [] };
        const from = (before as [string, string])[1];
        return { totalResults, records: this.recordsRange(schema, { start: [type, from], end: [type, MAX_ID], limit: count + 1 }).filter((r) => r.id !== from).slice(0, count) };
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

    if (filter?.op === 'idIn') {
      // A set of ids: a membership (`groups.value eq "<g>"`, a group's members as the administrator's page lists
      // them, or counts them with count=0). The total is the ids that are records, each looked up by key rather
      // than read and decoded to re-check a filter that asks for nothing but the id (a third of the time at
      // 100,000). A sorted page of a set that is a good share of the type is walked from the sort index, keeping
      // the set's ids, which costs the page rather than every member (2 s a page of a 100,000-member group).
      if (count === 0 && !keyset) return { totalResults: await this.existing(type, filter.ids), records: [] };
      const dense = filter.ids.size * DENSE_SHARE >= (this.db.counts.get([type]) ?? 0);
      if (plan && !plan.multiValued && dense) {
        const walked = await this.walkSorted(schema, plan, options, count, filter.ids);
        if (walked) return { ...walked, totalResults: await this.existing(type, filter.ids) };
      }
    }

    if (!filter && plan && !plan.multiValued) {
      const walked = await this.walkSorted(schema, plan, options, count);
      if (walked) return walked;
    }

    const step = filter ? planFilter(schema, filter, this.readyPaths(schema)) : undefined;
    // Every step below may meet a million records (`active eq true`, a sort no index gives): each gives the event
    // loop back when its slice is due, so that no other request waits for this one (../../turns.ts).
    const turns = new Turns();
    const records = await this.matching(schema, step, filter, turns);
    // The normalised copy is what a sort reads; without one, keys are ids alone and no copy is made.
    const matched: { id: string; q: JsonObject; r: StoredRecord }[] = [];
    for (const r of records) {
      matched.push({ id: r.id, q: plan ? queryCopy(schema, r.resource) : {}, r });
      if ((matched.length & 255) === 0 && turns.due()) await turns.next();
    }
    if (plan) await sortInTurns(matched, comparator(plan), turns);
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
   * the exact order: an attribute that is not indexed, or values longer than an index key holds. With `among`, the
   * page of those ids only (an idIn filter's; keys of other records are passed over), its total left to the caller.
   */
  private async walkSorted(schema: ResourceSchema, plan: SortPlan, options: QueryOptions, count: number, among?: ReadonlySet<string>): Promise<QueryResult | undefined> {
    const type = schema.type.id;
    const label = pathLabel(plan.resolved);
    const path = this.readyPaths(schema).find((p) => p.path === label)?.slot;
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
    /** Keys walked so far: with startIndex, only the last `count` of `want` are kept. */
    let seen = 0;
    let started = from === undefined;
    for (const seg of segments) {
      if (seen >= want) break;
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
      // A deep page counts off the keys before it in chunks (keyChunks), keeping only the page's own ids.
      walking: for await (const chunk of keyChunks((r) => this.db.index.getKeys(r as unknown as Parameters<typeof this.db.index.getKeys>[0]), range, this.skipChunk)) {
        for (const key of chunk) {
          const k = key as unknown as IndexKey;
          if (typeof k[2] === 'string' && k[2].length >= KEY_CHARS) return undefined; // possibly truncated: not exact
          if (at && k[2] === at[2] && k[3] === from!.id) continue; // strictly after (before) the keyset
          if (among && !among.has(k[3])) continue; // only the set's ids (a caller's idIn filter)
          if (++seen > want - count || keyset) ids.push(k[3]);
          if (seen >= want) break walking;
        }
      }
    }
    const totalResults = this.db.counts.get([type]) ?? 0;
    const records: StoredRecord[] = [];
    for (const id of keyset ? ids.slice(0, count) : ids) {
      const value = this.db.records.get([type, id]);
      if (value) records.push(this.recordOf(schema, id, value));
    }
    if (!keyset) return { totalResults, records: count === 0 ? [] : records };
    if (keyset.before) records.reverse();
    return { totalResults, records, more: ids.length > count };
  }

  /** How many of `ids` are records of the type: each looked up by key, its record not read. */
  private async existing(type: string, ids: ReadonlySet<string>): Promise<number> {
    const turns = new Turns();
    let n = 0;
    let i = 0;
    for (const id of ids) {
      if (this.db.records.doesExist([type, id])) n++;
      if ((++i & 1023) === 0 && turns.due()) await turns.next();
    }
    return n;
  }

  /** The key at 1-based position `n` of a range, counted off in chunks; undefined when the range is shorter. */
  private async keyAt(
    getKeys: (range: { start: unknown; end: unknown; reverse?: boolean; limit: number }) => Iterable<unknown>,
    range: { start: readonly unknown[]; end: readonly unknown[] },
    n: number,
  ): Promise<unknown[] | undefined> {
    let seen = 0;
    for await (const chunk of keyChunks(getKeys, range, this.skipChunk)) {
      if (seen + chunk.length >= n) return chunk[n - seen - 1];
      seen += chunk.length;
    }
    return undefined;
  }

  /** Every record of the type in id order, SCAN_CHUNK at a time (ResourceStore.walk). */
  async walk(schema: ResourceSchema, visit: (records: StoredRecord[]) => Promise<void> | void): Promise<void> {
    const type = schema.type.id;
    let from: string | undefined;
    for (;;) {
      const batch = this.recordsRange(schema, { start: [type, from ?? ''], end: [type, MAX_ID], limit: SCAN_CHUNK + 1 }).filter((r) => r.id !== from).slice(0, SCAN_CHUNK);
      if (batch.length === 0) return;
      await visit(batch);
      from = batch[batch.length - 1]!.id;
      await new Promise((resolve) => setImmediate(resolve));
    }
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
  private async matching(schema: ResourceSchema, step: PlanStep | undefined, filter: QueryOptions['filter'], turns: Turns): Promise<StoredRecord[]> {
    const type = schema.type.id;
    const out: StoredRecord[] = [];
    if (step && step.kind !== 'scan') {
      const ids = [...(await this.candidates(type, step, turns))];
      await sortInTurns(ids, (a, b) => (a < b ? -1 : a > b ? 1 : 0), turns);
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i]!;
        const value = this.db.records.get([type, id]);
        if (value) {
          const record = this.recordOf(schema, id, value);
          if (!filter || evaluateFilter(filter, record.resource)) out.push(record);
        }
        if ((i & 63) === 63 && turns.due()) await turns.next();
      }
      return out;
    }
    // A scan of a large directory must not hold the event loop: it reads a slice of records at a time (SCAN_CHUNK,
    // or fewer once the slice's time budget is spent) and lets other requests (and /healthz) run in between.
    let from = '';
    for (;;) {
      let cut = false;
      let last: string | undefined;
      let n = 0;
      for (const { key, value } of this.db.records.getRange({ start: [type, from], end: [type, MAX_ID], limit: SCAN_CHUNK + 1 })) {
        if (key[1] === from && from !== '') continue;
        last = key[1];
        const record = this.recordOf(schema, key[1], value);
        if (!filter || evaluateFilter(filter, record.resource)) out.push(record);
        if (++n >= SCAN_CHUNK || ((n & 31) === 0 && turns.due())) {
          cut = true;
          break;
        }
      }
      if (!cut || last === undefined) return out;
      from = last;
      await turns.next();
    }
  }

  /**
   * The ids an index plan step selects (a superset of the matches; the caller re-checks). A range is read in chunks
   * (keyChunks), with the event loop given back between them when the slice is due: `title pr` reads an entry for
   * nearly every record.
   */
  private async candidates(type: string, step: Exclude<PlanStep, { kind: 'scan' }>, turns: Turns): Promise<Set<string>> {
    switch (step.kind) {
      case 'range': {
        const ids = new Set<string>();
        const getKeys = (r: { start: unknown; end: unknown; reverse?: boolean; limit: number }) => this.db.index.getKeys(r as unknown as Parameters<typeof this.db.index.getKeys>[0]);
        for await (const chunk of keyChunks(getKeys, { start: [type, step.slot, ...step.start], end: [type, step.slot, ...step.end] }, this.skipChunk, turns)) {
          for (const key of chunk) {
            const k = key as unknown as IndexKey;
            if (step.accept && !step.accept(k[2])) continue;
            ids.add(k[3]);
          }
        }
        return ids;
      }
      case 'ids':
        return new Set(step.ids);
      case 'union': {
        const ids = new Set<string>();
        for (const part of step.parts) for (const id of await this.candidates(type, part, turns)) ids.add(id);
        return ids;
      }
    }
  }
}
