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

/** Lower-cases the way every interpretation of a filter must (memory, MongoDB, unique indexes). */
export function foldCase(s: string): string {
  return s.toLowerCase();
}

/** A dateTime as a sortable string; unparsable input is returned as is. */
export function normaliseDateTime(s: string): string {
  const t = Date.parse(s);
  return Number.isNaN(t) ? s : new Date(t).toISOString();
}

/** Normalises one simple value of the given attribute for comparison. */
export function normaliseSimple(def: AttributeDefinition, v: Json): Json {
  if (typeof v !== 'string') return v;
  if (def.type === 'dateTime') return normaliseDateTime(v);
  return isCaseInsensitive(def) ? foldCase(v) : v;
}

function copyValue(def: AttributeDefinition, v: Json): Json {
  if (Array.isArray(v)) return v.map((x) => copyValue(def, x));
  if (def.type === 'complex' && isObject(v)) {
    const out: JsonObject = {};
    for (const [k, x] of Object.entries(v)) {
      const sub = subAttribute(def, k);
      if (sub && sub.returned !== 'never') out[sub.name] = copyValue(sub, x);
    }
    return out;
  }
  return normaliseSimple(def, v);
}

export function queryCopy(schema: ResourceSchema, resource: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(resource)) {
    if (key === 'schemas') continue;
    const ext = schema.extension(key);
    if (ext && isObject(value)) {
      const inner: JsonObject = {};
      for (const [k, x] of Object.entries(value)) {
        const def = schema.attribute(ext.id, k);
        if (def && def.returned !== 'never') inner[def.name] = copyValue(def, x);
      }
      out[ext.id] = inner;
      continue;
    }
    const def = schema.attribute(schema.core.id, key);
    if (def && def.returned !== 'never') out[def.name] = copyValue(def, value);
  }
  return out;
}
