/**
 * The normalised copy of a resource that queries run against.
 *
 * Filters compare caseExact=false strings without regard to case and dateTimes as instants (RFC 7644 §3.4.2.2).
 * An index can only serve such comparisons when it is built over values that are already normalised, so every
 * write path stores, next to the resource, this copy: the same shape, with caseExact=false strings lower-cased
 * and dateTimes rewritten as UTC ISO-8601 with milliseconds (so that string order is time order). Everything
 * else is copied as is, so one array element keeps all its sub-attributes together. writeOnly/never-returned
 * attributes (password) are left out: they must not be searchable.
 */
import { AttributeDefinition, ResourceSchema, isCaseInsensitive, subAttribute } from './schema';
import { isObject, Json, JsonObject } from './values';

const NON_ASCII = /[\u0080-\uffff]/;

/**
 * Folds a caseExact=false string the way every interpretation of a filter must (memory, MongoDB, unique indexes):
 * Unicode NFC, then lower case. Without NFC, `café` typed as U+00E9 and as `e` + U+0301 (what a macOS form or an
 * HR export may produce) are two userNames that look identical: two accounts for one person. The resource keeps
 * what the client sent; only comparisons and unique keys use the folded form. NFC again after lower-casing, since
 * a lower-case mapping may yield a sequence that composes. ASCII, by far the common case, needs neither.
 */
export function foldCase(s: string): string {
  if (!NON_ASCII.test(s)) return s.toLowerCase();
  return s.normalize('NFC').toLowerCase().normalize('NFC');
}

/** A dateTime as a sortable string; unparsable input is returned as is. */
export function normaliseDateTime(s: string): string {
  const t = Date.parse(s);
  return Number.isNaN(t) ? s : new Date(t).toISOString();
}

/** How a case-insensitive string is folded: foldCase, or what an older build did (a format upgrade's removals). */
export type Fold = (s: string) => string;

/** How builds before NFC folding folded (store format 1, service/store-format.ts). */
export const foldBeforeNfc: Fold = (s) => s.toLowerCase();

/** Normalises one simple value of the given attribute for comparison. */
export function normaliseSimple(def: AttributeDefinition, v: Json, fold: Fold = foldCase): Json {
  if (typeof v !== 'string') return v;
  if (def.type === 'dateTime') return normaliseDateTime(v);
  return isCaseInsensitive(def) ? fold(v) : v;
}

function copyValue(def: AttributeDefinition, v: Json, fold: Fold): Json {
  if (Array.isArray(v)) return v.map((x) => copyValue(def, x, fold));
  if (def.type === 'complex' && isObject(v)) {
    const out: JsonObject = {};
    for (const [k, x] of Object.entries(v)) {
      const sub = subAttribute(def, k);
      if (sub && sub.returned !== 'never') out[sub.name] = copyValue(sub, x, fold);
    }
    return out;
  }
  return normaliseSimple(def, v, fold);
}

/** The normalised copy of `resource`; `fold` only to compute what an older build stored (a format upgrade). */
export function queryCopy(schema: ResourceSchema, resource: JsonObject, fold: Fold = foldCase): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(resource)) {
    if (key === 'schemas') continue;
    const ext = schema.extension(key);
    if (ext && isObject(value)) {
      const inner: JsonObject = {};
      for (const [k, x] of Object.entries(value)) {
        const def = schema.attribute(ext.id, k);
        if (def && def.returned !== 'never') inner[def.name] = copyValue(def, x, fold);
      }
      out[ext.id] = inner;
      continue;
    }
    const def = schema.attribute(schema.core.id, key);
    if (def && def.returned !== 'never') out[def.name] = copyValue(def, value, fold);
  }
  return out;
}

/**
 * Whether a resource holds a string that builds before NFC folding folded differently (they lower-cased only): its
 * normalised copy, unique keys and index entries, stored then, may not be what foldCase makes now.
 */
export function foldedDifferentlyBefore(value: Json): boolean {
  if (typeof value === 'string') return NON_ASCII.test(value) && foldCase(value) !== foldBeforeNfc(value);
  if (Array.isArray(value)) return value.some(foldedDifferentlyBefore);
  if (isObject(value)) return Object.values(value).some(foldedDifferentlyBefore);
  return false;
}
