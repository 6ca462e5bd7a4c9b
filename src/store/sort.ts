/**
 * The order `sortBy`/`sortOrder` ask for (RFC 7644 §3.4.2.3), shared by both stores so they agree to the record.
 *
 * Sort values are read from the normalised copy (query-copy.ts), which already lower-cases caseExact=false strings
 * ("for case-insensitive attributes, sort the result using case-insensitive Unicode alphabetic sort order") and
 * turns dateTimes into sortable UTC strings, and which leaves out never-returned attributes (password).
 */
import { compareStrings } from '../scim/collation';
import type { ResolvedAttribute, ResourceSchema } from '../scim/schema';
import { subAttribute } from '../scim/schema';
import { errors } from '../scim/errors';
import { isObject, Json, JsonObject } from '../scim/values';

/** How a query's results are ordered: an attribute path as resolved against the resource schema, and a direction. */
export interface SortSpec {
  /** e.g. name.familyName */
  path: string;
  order: 'ascending' | 'descending';
}

export interface SortPlan {
  /** The attribute to read; for a multi-valued complex attribute named without a sub-attribute, its `value`. */
  resolved: ResolvedAttribute;
  descending: boolean;
  /**
   * "if it's a multi-valued attribute, resources are sorted by the value of the primary attribute, if any, or else
   * the first value in the list, if any": a value no plain index order gives, so stores sort these in memory.
   */
  multiValued: boolean;
}

export function sortPlan(schema: ResourceSchema, spec: SortSpec): SortPlan {
  const resolved = schema.resolve(spec.path);
  if (!resolved) throw errors.invalidValue(`sortBy names an unknown attribute '${spec.path}'`);
  let target = resolved;
  if (resolved.attribute.type === 'complex' && !resolved.sub) {
    const value = resolved.attribute.multiValued ? subAttribute(resolved.attribute, 'value') : undefined;
    // "If the attribute is complex, the attribute name must be a path to a sub-attribute in standard attribute
    // notation (Section 3.10), e.g., "sortBy=name.givenName"." A multi-valued one sorts by its `value`.
    if (!value) {
      throw errors.invalidValue(`sortBy '${spec.path}' names a complex attribute; name a sub-attribute such as name.givenName`);
    }
    target = { ...resolved, sub: value };
  }
  return { resolved: target, descending: spec.order === 'descending', multiValued: resolved.attribute.multiValued };
}

function present(v: Json | undefined): v is Json {
  return v !== undefined && v !== null;
}

/** The value a record sorts by, read from its normalised copy; undefined when it has none. */
export function sortValue(plan: SortPlan, q: JsonObject): Json | undefined {
  const { resolved } = plan;
  const holder = resolved.extension ? q[resolved.schema] : q;
  if (!isObject(holder)) return undefined;
  let value: Json | undefined = holder[resolved.attribute.name];
  if (Array.isArray(value)) {
    const primary = value.find((e) => isObject(e) && e.primary === true);
    value = primary ?? value[0];
  }
  if (resolved.sub) value = isObject(value) ? value[resolved.sub.name] : undefined;
  return present(value) ? value : undefined;
}


/** MongoDB's order between BSON types, for the (schema-invalid) case of one attribute holding different types. */
function typeRank(v: Json): number {
  if (typeof v === 'number') return 1;
  if (typeof v === 'string') return 2;
  if (Array.isArray(v)) return 4;
  if (typeof v === 'object') return 3;
  return 5; // boolean
}

/** Ascending order between two present values. */
export function compareValues(a: Json, b: Json): number {
  const ra = typeRank(a);
  const rb = typeRank(b);
  if (ra !== rb) return ra - rb;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return compareStrings(a, b);
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  return compareStrings(JSON.stringify(a), JSON.stringify(b));
}

export interface Sortable {
  id: string;
  q: JsonObject;
}

/**
 * Where a record stands in a result order: its id and, when the result is sorted, the value it sorts by (absent
 * when it has none). Keyset pages (cursors) start strictly after or before such a key.
 */
export interface SortKey {
  id: string;
  value?: Json;
}

export function sortKeyOf(plan: SortPlan | undefined, s: Sortable): SortKey {
  if (!plan) return { id: s.id };
  const value = sortValue(plan, s.q);
  return value === undefined ? { id: s.id } : { id: s.id, value };
}

/**
 * The full order between two keys: by value, then by id. "if there is no data for the specified "sortBy" value,
 * they are sorted via the "sortOrder" parameter, i.e., they are ordered last if ascending and first if
 * descending": a missing value ranks above every present one, and descending reverses the whole ascending order
 * (tiebreak included).
 */
export function compareKeys(plan: SortPlan | undefined, a: SortKey, b: SortKey): number {
  if (!plan) return compareStrings(a.id, b.id);
  const va = a.value;
  const vb = b.value;
  let c: number;
  if (va === undefined || vb === undefined) c = va === vb ? 0 : va === undefined ? 1 : -1;
  else c = compareValues(va, vb);
  if (c === 0) c = compareStrings(a.id, b.id);
  return plan.descending ? -c : c;
}

export function comparator(plan: SortPlan | undefined): (a: Sortable, b: Sortable) => number {
  return (a, b) => compareKeys(plan, sortKeyOf(plan, a), sortKeyOf(plan, b));
}

/** A keyset position (see QueryOptions.keyset): strictly after or strictly before a key; neither is the start. */
export interface Keyset {
  after?: SortKey;
  before?: SortKey;
}

/**
 * One page of a result that is already in order, by index (startIndex/count) or by keyset. A keyset page holds up
 * to `count` items strictly after (before) the key, and says whether more follow (precede) it.
 */
export function pageOf<T>(
  ordered: readonly T[],
  keyOf: (item: T) => SortKey,
  plan: SortPlan | undefined,
  options: { startIndex: number; count: number; keyset?: Keyset },
): { items: T[]; more?: boolean } {
  const count = Math.max(0, Math.floor(options.count));
  const { keyset } = options;
  if (!keyset) {
    // RFC 7644 §3.4.2.4: "A value less than 1 SHALL be interpreted as 1".
    const skip = Math.max(1, Math.floor(options.startIndex)) - 1;
    return { items: count === 0 ? [] : ordered.slice(skip, skip + count) };
  }
  const { after, before } = keyset;
  // `ordered` is in the query's order, so the keyset's place in it is found by halving (a page of a million matches
  // costs twenty comparisons, not a million).
  const firstPast = (key: SortKey, inclusive: boolean) => {
    let lo = 0;
    let hi = ordered.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = compareKeys(plan, keyOf(ordered[mid]!), key);
      if (c < 0 || (c === 0 && !inclusive)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  if (before !== undefined) {
    const end = firstPast(before, true);
    const start = count === 0 ? end : Math.max(0, end - count);
    return { items: ordered.slice(start, end), more: start > 0 };
  }
  const start = after === undefined ? 0 : firstPast(after, false);
  return { items: ordered.slice(start, start + count), more: ordered.length - start > count };
}
