/**
 * Reading client-supplied attribute values against their definitions.
 *
 * Strict where the RFC is (types, canonical values, one primary), liberal where real clients are
 * (../shared/CLIENTS.md): names in any case, `null`/`""`/`[]` meaning unassigned, "True"/"False" for booleans,
 * a bare id or a one-element array for a singular complex attribute such as `manager`.
 */
import { errors } from './errors';
import { AttributeDefinition, subAttribute } from './schema';
import { LIMIT_SETTINGS } from './limits';

/** RFC 3339 / xsd:dateTime as RFC 7643 §2.3.5 requires. */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A deep copy of a JSON value. structuredClone does the same for any value and costs ten times as much on a user
 * (about 20 µs against 2 µs, measured): it runs for every PATCH, PUT and audit entry. Keys are copied as own data
 * properties, `__proto__` included (as JSON.parse makes them), never as a prototype.
 */
export function cloneJson<T extends Json>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    const out = new Array<Json>(value.length);
    for (let i = 0; i < value.length; i++) out[i] = cloneJson(value[i]!);
    return out as T;
  }
  const out: JsonObject = {};
  for (const key of Object.keys(value)) {
    const v = cloneJson((value as JsonObject)[key]!);
    if (key === '__proto__') Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
    else out[key] = v;
  }
  return out as T;
}

/** RFC 7643 §2.5: null and an empty array are "unassigned"; clients (Entra) also clear values with "". */
export function isUnassigned(v: unknown): boolean {
  return v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0);
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** Reads a boolean, accepting the strings "true"/"false" in any case (Entra without ?aadOptscim062020). */
export function readBoolean(v: unknown, where: string): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') {
    const l = v.trim().toLowerCase();
    if (l === 'true') return true;
    if (l === 'false') return false;
  }
  throw errors.invalidValue(`'${where}' must be a boolean, got ${JSON.stringify(v)}`);
}

/** Reads one value of a simple (non-complex) attribute. */
export function readSimple(def: AttributeDefinition, v: unknown, where: string): Json {
  switch (def.type) {
    case 'string':
    case 'reference': {
      if (typeof v !== 'string') throw errors.invalidValue(`'${where}' must be a string, got ${typeName(v)}`);
      if (def.canonicalValues && def.canonicalValues.length > 0) {
        const l = v.toLowerCase();
        const canon = def.canonicalValues.find((c) => c.toLowerCase() === l);
        if (!canon) {
          throw errors.invalidValue(
            `'${where}' must be one of ${def.canonicalValues.map((c) => `"${c}"`).join(', ')}, got ${JSON.stringify(v)}`,
          );
        }
        // Stored in the canonical spelling: "Work" from one client and "work" from another are the same type.
        return canon;
      }
      return v;
    }
    case 'binary':
      if (typeof v !== 'string' || !BASE64.test(v.replace(/\s+/g, ''))) {
        throw errors.invalidValue(`'${where}' must be base64-encoded binary`);
      }
      return v;
    case 'boolean':
      return readBoolean(v, where);
    case 'integer':
      if (typeof v !== 'number' || !Number.isInteger(v)) {
        throw errors.invalidValue(`'${where}' must be an integer, got ${JSON.stringify(v)}`);
      }
      return v;
    case 'decimal':
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw errors.invalidValue(`'${where}' must be a number, got ${JSON.stringify(v)}`);
      }
      return v;
    case 'dateTime':
      if (typeof v !== 'string' || !DATE_TIME.test(v) || Number.isNaN(Date.parse(v))) {
        throw errors.invalidValue(`'${where}' must be an xsd:dateTime such as 2026-01-31T12:00:00Z, got ${JSON.stringify(v)}`);
      }
      return v;
    case 'complex':
      throw new Error('readSimple called on a complex attribute');
  }
}

export interface ReadOptions {
  /** Drop readOnly sub-attributes silently (request bodies); otherwise keep them (stored data). */
  dropReadOnly: boolean;
  /** Request values: at most this many values for one multi-valued attribute (Limits.valuesPerAttribute). */
  maxValues?: number;
}

/** Refuses a request that gives one multi-valued attribute more values than the server keeps (Limits.valuesPerAttribute). */
export function checkValueCount(where: string, count: number, max: number | undefined): void {
  if (max !== undefined && count > max) {
    throw errors.invalidValue(`'${where}' has ${count} values; at most ${max} are allowed (${LIMIT_SETTINGS.valuesPerAttribute})`, LIMIT_SETTINGS.valuesPerAttribute);
  }
}

/** Reads one value of a complex attribute: an object of sub-attributes, names in any case. */
export function readComplex(def: AttributeDefinition, v: unknown, where: string, opts: ReadOptions): JsonObject | undefined {
  let obj = v;
  // A bare primitive for a complex attribute with a `value` sub-attribute is that value: Entra sends
  // `"manager": "<id>"` for `{"value": "<id>"}`.
  if (!isObject(obj) && !Array.isArray(obj) && obj !== null && subAttribute(def, 'value')) obj = { value: obj as Json };
  if (!isObject(obj)) throw errors.invalidValue(`'${where}' must be an object, got ${typeName(v)}`);
  const out: JsonObject = {};
  const unknown: string[] = [];
  const seen = new Set<string>();
  for (const [key, raw] of Object.entries(obj)) {
    const sub = subAttribute(def, key);
    if (!sub) {
      unknown.push(key);
      continue;
    }
    // Sub-attribute names are case-insensitive: `value` and `Value` in one object name one sub-attribute twice.
    if (seen.has(sub.name)) throw errors.invalidSyntax(`'${where}' gives sub-attribute '${sub.name}' twice`);
    seen.add(sub.name);
    if (isUnassigned(raw)) continue;
    if (opts.dropReadOnly && sub.mutability === 'readOnly') continue;
    out[sub.name] = readSimple(sub, raw, `${where}.${sub.name}`);
  }
  if (unknown.length > 0) {
    throw errors.invalidSyntax(`'${where}' has no sub-attribute ${unknown.map((u) => `'${u}'`).join(', ')}`);
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

/**
 * Reads a whole attribute value (singular or multi-valued). Returns undefined when the value is unassigned.
 */
export function readAttribute(def: AttributeDefinition, v: unknown, where: string, opts: ReadOptions): Json | undefined {
  if (isUnassigned(v)) return undefined;
  if (def.multiValued) {
    const items = Array.isArray(v) ? v : [v];
    checkValueCount(where, items.length, opts.maxValues);
    const out: Json[] = [];
    items.forEach((item, i) => {
      if (isUnassigned(item)) return;
      const w = `${where}[${i}]`;
      const read = def.type === 'complex' ? readComplex(def, item, w, opts) : readSimple(def, item, w);
      if (read !== undefined) out.push(read);
    });
    if (def.type === 'complex') checkOnePrimary(def, out, where);
    return out.length === 0 ? undefined : out;
  }
  let value = v;
  // A one-element array for a singular attribute: Entra sends `"manager": [{"$ref": null, "value": "<id>"}]`.
  if (Array.isArray(value)) {
    if (value.length !== 1) throw errors.invalidValue(`'${where}' is single-valued but got an array of ${value.length}`);
    value = value[0];
  }
  return def.type === 'complex' ? readComplex(def, value, where, opts) : readSimple(def, value, where);
}

/** RFC 7643 §2.4: "The primary attribute value "true" MUST appear no more than once." */
export function checkOnePrimary(def: AttributeDefinition, values: Json[], where: string): void {
  if (!subAttribute(def, 'primary')) return;
  const n = values.filter((x) => isObject(x) && x.primary === true).length;
  if (n > 1) throw errors.invalidValue(`'${where}' has ${n} values with primary true; at most one is allowed`);
}
