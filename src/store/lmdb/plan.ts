/**
 * The embedded store's secondary indexes and the planning of a filter onto them.
 *
 * The indexed attributes are the MongoDB store's (indexed.ts): unique attributes and the lookup paths clients filter
 * and sort by. An entry is `[type, slot, value, id]` (slot: the path's place in the list, short where the path
 * would fill a key with `urn:…:enterprise:2.0:User:manager.value`) for every value the path reaches in the normalised copy
 * (query-copy.ts: caseExact=false strings folded, dateTimes as UTC ISO strings), so the key order is the order the
 * filters compare in, and a comparison is a key range.
 *
 * A plan only narrows: it yields a superset of the matching ids, and the store re-checks every candidate with the
 * filter evaluator. So a plan step may be generous (a range that also holds non-matches) but never strict.
 */
import type { Filter } from '../../scim/filter/ast';
import type { ResolvedAttribute, ResourceSchema } from '../../scim/schema';
import { normaliseSimple } from '../../scim/query-copy';
import { isObject, Json, JsonObject } from '../../scim/values';
import { indexedAttributes } from '../indexed';

/**
 * A path's slot in its index keys: a one-character string (format v4), or in a directory laid out before it, a
 * number (v3), which the key encoding (ordered-binary) writes as a 9-byte float64: 8 bytes of every entry, of 16
 * a user (issue 28: index entries were 2.4 KB of a user's 5.8 on disk).
 */
export type Slot = number | string;

export type IndexKey = [string, Slot, string | number | boolean | null, string];

/**
 * The format of the index entries; init() rebuilds entries made with another (or with other paths), except v3's,
 * which differ only in how a slot is written, and whose directories keep their numbers (a rebuild at 1M users is
 * one transaction of minutes). v2: single-valued paths also hold `[type, path, null, id]` for records without a
 * value, so sorted pages walk the index. v4: slots as one-character strings.
 */
export const INDEX_FORMAT = 'v4';
export const INDEX_FORMATS_KEPT: readonly string[] = ['v3', INDEX_FORMAT];

/** The first slot character: printable, one byte in UTF-8, above the encoding's separators. */
const SLOT_BASE = 0x21;

/** The slot of the n-th path of a layout in `format`. */
export function slotOf(format: string, n: number): Slot {
  return format === 'v3' ? n : String.fromCharCode(SLOT_BASE + n);
}

/** The place of a slot in its layout (to number the next one). */
export function slotNumber(slot: Slot): number {
  return typeof slot === 'number' ? slot : slot.charCodeAt(0) - SLOT_BASE;
}

/** In key order: null < false < true < numbers < strings. Present values start at `false`. */
export const PRESENT_START = false;

/** The highest string the key order knows of in practice: after every BMP and astral prefix continuation. */
export const TOP = '\u{10FFFF}\u{10FFFF}';

/**
 * LMDB keys hold at most ~2 KB, and a value may be longer (an 8,000-character filter literal, a long displayName):
 * index keys keep the first KEY_CHARS characters. Truncation keeps order (s ≤ t ⟹ prefix(s) ≤ prefix(t)), so a
 * range over prefixes still holds every match; the evaluator's re-check drops the rest.
 */
export const KEY_CHARS = 200;

export function keyValue<T extends string | number | boolean>(v: T): T {
  if (typeof v !== 'string' || v.length <= KEY_CHARS) return v;
  // Never cut a surrogate pair in two.
  const cut = v.charCodeAt(KEY_CHARS - 1) >= 0xd800 && v.charCodeAt(KEY_CHARS - 1) <= 0xdbff ? KEY_CHARS - 1 : KEY_CHARS;
  return v.slice(0, cut) as T;
}

export type PlanStep =
  | { kind: 'scan' }
  /** Keys from [type, slot, ...start] up to (excluding) [type, slot, ...end]; `accept` may drop a value early. */
  | { kind: 'range'; slot: Slot; start: (string | number | boolean)[]; end: (string | number | boolean)[]; rank: number; accept?: (v: unknown) => boolean }
  | { kind: 'union'; parts: Exclude<PlanStep, { kind: 'scan' }>[]; rank: number }
  /** Exactly these ids (a membership, looked up before the query): the records are read by key. */
  | { kind: 'ids'; ids: ReadonlySet<string>; rank: number };

export interface IndexedPath {
  path: string;
  /** Its place in the list: the second element of its index keys. */
  slot: Slot;
  resolved: ResolvedAttribute;
}

const cache = new WeakMap<ResourceSchema, IndexedPath[]>();

/** The canonical name of a path: `userName`, `emails.value`, `urn:…:User:manager.value`. */
export function pathLabel(r: ResolvedAttribute): string {
  return `${r.extension ? `${r.schema}:` : ''}${r.attribute.name}${r.sub ? `.${r.sub.name}` : ''}`;
}

/**
 * What an index entry's slot stands for: the path, and what its key values depend on (type and caseExact, through
 * the normalised copy). A path whose signature changed is a new path to the layout: built anew, the old slot dropped.
 */
export function signatureOf(r: ResolvedAttribute): string {
  const def = r.sub ?? r.attribute;
  return `${pathLabel(r)}|${def.type}|${def.caseExact === true ? 'exact' : 'folded'}|${def.multiValued || r.attribute.multiValued ? 'multi' : 'single'}`;
}

/** The paths a schema indexes with slots by position: a new directory's layout (queries.ts keeps the live one). */
export function indexedPaths(schema: ResourceSchema): IndexedPath[] {
  let paths = cache.get(schema);
  if (!paths) {
    paths = indexedAttributes(schema).map((resolved, n) => ({ path: pathLabel(resolved), slot: slotOf(INDEX_FORMAT, n), resolved }));
    cache.set(schema, paths);
  }
  return paths;
}

function valuesAt(q: JsonObject, r: ResolvedAttribute): Json[] {
  const holder = r.extension ? q[r.schema] : q;
  if (!isObject(holder)) return [];
  const top = holder[r.attribute.name];
  const list = Array.isArray(top) ? top : top === undefined ? [] : [top];
  if (!r.sub) return list;
  const out: Json[] = [];
  for (const e of list) {
    if (!isObject(e)) continue;
    const v = e[r.sub.name];
    if (Array.isArray(v)) out.push(...v);
    else if (v !== undefined) out.push(v);
  }
  return out;
}

/** The index entries of a record, from its normalised copy. */
export function indexEntries(schema: ResourceSchema, id: string, q: JsonObject, paths: readonly IndexedPath[] = indexedPaths(schema)): IndexKey[] {
  const type = schema.type.id;
  const out: IndexKey[] = [];
  for (const { slot, resolved } of paths) {
    const seen = new Set<unknown>();
    if (!resolved.attribute.multiValued) {
      const v = valuesAt(q, resolved)[0];
      // RFC 7644 §3.4.2.3 sorts records without a value last (ascending): they need a place in the order too.
      if (v === undefined || v === null) out.push([type, slot, null, id]);
    }
    for (const v of valuesAt(q, resolved)) {
      if ((typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') || seen.has(v)) continue;
      const k = keyValue(v);
      if (seen.has(k)) continue;
      seen.add(v);
      seen.add(k);
      out.push([type, slot, k, id]);
    }
  }
  return out;
}

/** Lower is narrower: an equality reads one value's keys, a prefix or range many, presence the whole path. */
const RANK = { eq: 0, sw: 1, range: 2, pr: 3 } as const;

/** The step that serves `filter` from the index, or scan. */
export function planFilter(schema: ResourceSchema, filter: Filter, paths: readonly IndexedPath[] = indexedPaths(schema)): PlanStep {
  const indexed = new Map(paths.map((p) => [p.path, p]));
  const plan = (f: Filter): PlanStep => {
    switch (f.op) {
      case 'and': {
        const l = plan(f.left);
        const r = plan(f.right);
        if (l.kind === 'scan') return r;
        if (r.kind === 'scan') return l;
        return r.rank < l.rank ? r : l;
      }
      case 'or': {
        const l = plan(f.left);
        const r = plan(f.right);
        if (l.kind === 'scan' || r.kind === 'scan') return { kind: 'scan' };
        return { kind: 'union', parts: [l, r], rank: Math.max(l.rank, r.rank) };
      }
      case 'valuePath':
        // Inside the brackets paths resolve to sub-attributes of the attribute (emails.value): the same index.
        return plan(f.filter);
      case 'idIn':
        return { kind: 'ids', ids: f.ids, rank: RANK.eq };
      case 'not':
      case 'ne':
      case 'co':
      case 'ew':
        return { kind: 'scan' };
      case 'pr': {
        const p = indexed.get(pathLabel(f.path.resolved));
        if (!p) return { kind: 'scan' };
        return { kind: 'range', slot: p.slot, start: [PRESENT_START], end: [TOP], rank: RANK.pr };
      }
      default: {
        const p = indexed.get(pathLabel(f.path.resolved));
        if (!p || f.value === null) return { kind: 'scan' };
        const def = f.path.resolved.sub ?? f.path.resolved.attribute;
        const full = normaliseSimple(def, f.value);
        if (typeof full !== 'string' && typeof full !== 'number' && typeof full !== 'boolean') return { kind: 'scan' };
        const v = keyValue(full);
        if (f.op === 'eq') {
          return { kind: 'range', slot: p.slot, start: [v], end: [v, '\uffff'], rank: RANK.eq, accept: (x) => x === v };
        }
        // Order comparisons and prefixes are served for strings (every indexed path holds strings); a string
        // operand only ever matches strings (type bracketing, as in MongoDB).
        if (typeof v !== 'string') return { kind: 'scan' };
        switch (f.op) {
          case 'sw':
            return { kind: 'range', slot: p.slot, start: [v], end: [v + TOP], rank: RANK.sw, accept: (x) => typeof x === 'string' && x.startsWith(v) };
          // Bounds are inclusive of the operand's own keys: with truncated keys, "after v" is not "after prefix(v)".
          case 'gt':
          case 'ge':
            return { kind: 'range', slot: p.slot, start: [v], end: [TOP], rank: RANK.range, accept: (x) => typeof x === 'string' };
          case 'lt':
          case 'le':
            return { kind: 'range', slot: p.slot, start: [''], end: [v, '\uffff'], rank: RANK.range, accept: (x) => typeof x === 'string' };
        }
        return { kind: 'scan' };
      }
    }
  };
  return plan(filter);
}
