/**
 * What a directory's stored data was last checked against, and what a change of schema asks of it.
 *
 * The operator's schema is configuration (SCIM_SCHEMA_DIR), but stored values outlive it: a million users written
 * while `floor` was a string do not become integers when the file says so. Each store keeps, per resource type, the
 * shape of every attribute it last started with (`SchemaState`); at start, the shape now is compared with it:
 *  - an attribute or extension added, or one that became optional or not unique, asks nothing of stored data;
 *  - an attribute removed keeps its stored values (never returned; `schema apply --purge` removes them), and its
 *    shape stays in the state as retired, so that re-adding it with another shape is checked like a change;
 *  - a change of type, multiValued or caseExact, an attribute made required, or made unique, is checked against
 *    every stored resource (`breaks`); the server refuses to start while some break it, naming how many, and
 *    `npm run schema -- apply` converts or clears the values that can be (`convert`).
 * Pure: no store, no I/O.
 */
import type { AttributeDefinition, AttributeType, ResourceSchema } from './schema';
import { isObject, isUnassigned, readAttribute, type Json, type JsonObject } from './values';

export interface AttributeShape {
  type: AttributeType;
  multiValued: boolean;
  required: boolean;
  unique: boolean;
  caseExact: boolean;
  /** Set when the schemas no longer define the attribute (its values may still be stored). */
  retired?: true;
}

export interface SchemaState {
  format: 1;
  /** By label: `title`, `name.givenName`, `urn:…:User:hireDate`, `urn:…:User:workLocation.floor`. */
  attributes: Record<string, AttributeShape>;
}

export type ChangeKind = 'type' | 'multiValued' | 'caseExact' | 'required' | 'uniqueness' | 'removed';

export interface SchemaChange {
  /** The attribute's label (see SchemaState). */
  label: string;
  kind: ChangeKind;
  /** Reads like "type: string -> integer". */
  what: string;
}

/** Where a label lives in a resource: the extension URN (or none), the top-level name and the sub-attribute. */
interface Place {
  urn?: string;
  name: string;
  sub?: string;
}

function shapeOf(def: AttributeDefinition): AttributeShape {
  return {
    type: def.type,
    multiValued: def.multiValued,
    required: def.required,
    unique: def.uniqueness === 'server' || def.uniqueness === 'global',
    caseExact: def.caseExact === true,
  };
}

/** Every attribute and sub-attribute of a resource type with where it lives, readOnly ones (server-written) left out. */
function places(schema: ResourceSchema): Map<string, { place: Place; top: AttributeDefinition; def: AttributeDefinition }> {
  const out = new Map<string, { place: Place; top: AttributeDefinition; def: AttributeDefinition }>();
  for (const { schema: urn, extension, attribute } of schema.allAttributes()) {
    if (attribute.mutability === 'readOnly') continue;
    const label = extension ? `${urn}:${attribute.name}` : attribute.name;
    const place: Place = extension ? { urn, name: attribute.name } : { name: attribute.name };
    out.set(label, { place, top: attribute, def: attribute });
    for (const sub of attribute.subAttributes ?? []) out.set(`${label}.${sub.name}`, { place: { ...place, sub: sub.name }, top: attribute, def: sub });
  }
  return out;
}

/** The state a resource type's schema gives; `previous` keeps the shapes of what it retired. */
export function stateOf(schema: ResourceSchema, previous?: SchemaState): SchemaState {
  const attributes: Record<string, AttributeShape> = {};
  for (const [label, { def }] of places(schema)) attributes[label] = shapeOf(def);
  for (const [label, shape] of Object.entries(previous?.attributes ?? {})) {
    if (!(label in attributes)) attributes[label] = { ...shape, retired: true };
  }
  return { format: 1, attributes };
}

export function sameState(a: SchemaState, b: SchemaState): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The changes between the stored state and the schema now that stored data may contradict, or that retire values. */
export function changesSince(before: SchemaState, schema: ResourceSchema): SchemaChange[] {
  const now = places(schema);
  const out: SchemaChange[] = [];
  for (const [label, was] of Object.entries(before.attributes)) {
    const entry = now.get(label);
    if (!entry) {
      // A sub-attribute of a removed attribute goes with it: one change, its parent's.
      const dot = label.lastIndexOf('.');
      const parentGone = dot > 0 && !now.has(label.slice(0, dot)) && before.attributes[label.slice(0, dot)] !== undefined;
      if (!was.retired && !parentGone) out.push({ label, kind: 'removed', what: 'removed from the schemas (values kept, never returned)' });
      continue;
    }
    const is = shapeOf(entry.def);
    if (was.type !== is.type) out.push({ label, kind: 'type', what: `type: ${was.type} -> ${is.type}` });
    else if (was.caseExact !== is.caseExact && (is.type === 'string' || is.type === 'reference' || is.type === 'binary')) {
      out.push({ label, kind: 'caseExact', what: `caseExact: ${was.caseExact} -> ${is.caseExact}` });
    }
    if (was.multiValued !== is.multiValued) out.push({ label, kind: 'multiValued', what: `multiValued: ${was.multiValued} -> ${is.multiValued}` });
    if (!was.required && is.required && !entry.place.sub) out.push({ label, kind: 'required', what: 'made required' });
    if (!was.unique && is.unique) out.push({ label, kind: 'uniqueness', what: `made unique (${entry.def.uniqueness})` });
  }
  // An attribute new to the state but required: every stored resource lacks it.
  for (const [label, { def, place }] of now) {
    if (!(label in before.attributes) && def.required && !place.sub) out.push({ label, kind: 'required', what: 'added as required' });
  }
  return out;
}

function holderOf(resource: JsonObject, place: Place): JsonObject | undefined {
  const holder = place.urn ? resource[place.urn] : resource;
  return isObject(holder) ? holder : undefined;
}

/** The top-level value a label lives in, present or not. */
function topValue(resource: JsonObject, place: Place): Json | undefined {
  return holderOf(resource, place)?.[place.name];
}

/** Every value a label reaches in a resource (one per element of a multi-valued parent). */
export function valuesOf(resource: JsonObject, label: string, schema?: ResourceSchema): Json[] {
  const place = schema ? places(schema).get(label)?.place : undefined;
  const p = place ?? placeOfLabel(resource, label);
  const top = topValue(resource, p);
  if (top === undefined || top === null) return [];
  if (!p.sub) return [top];
  const out: Json[] = [];
  for (const e of Array.isArray(top) ? top : [top]) if (isObject(e) && e[p.sub] !== undefined && e[p.sub] !== null) out.push(e[p.sub]!);
  return out;
}

/** A retired label's place, from its text alone: `urn:…:name[.sub]` or `name[.sub]`. */
function placeOfLabel(resource: JsonObject, label: string): Place {
  const urn = Object.keys(resource).find((k) => /^urn:/i.test(k) && label.startsWith(`${k}:`));
  const rest = urn ? label.slice(urn.length + 1) : label;
  const [name = '', sub] = rest.split('.');
  return urn ? { urn, name, sub } : { name, sub };
}

/**
 * Whether a stored resource breaks a change: holds a value of another type or shape, lacks a value now required,
 * holds a value to re-normalise (caseExact), or holds a retired value. Uniqueness needs every resource at once:
 * see uniqueValues.
 */
export function breaks(schema: ResourceSchema, change: SchemaChange, resource: JsonObject): boolean {
  const entry = places(schema).get(change.label);
  if (change.kind === 'removed' || !entry) return valuesOf(resource, change.label).length > 0;
  const top = topValue(resource, entry.place);
  switch (change.kind) {
    case 'required':
      return isUnassigned(top);
    case 'caseExact':
      return valuesOf(resource, change.label, schema).length > 0;
    case 'uniqueness':
      return false;
    case 'type':
    case 'multiValued':
      return !conforms(entry.top, top);
  }
}

/** A stored top-level value is what its definition says: its shape (a list or not) and every value's type. */
export function conforms(def: AttributeDefinition, value: Json | undefined): boolean {
  if (isUnassigned(value)) return true;
  if (def.multiValued !== Array.isArray(value)) return false;
  try {
    readAttribute(def, value, def.name, { dropReadOnly: false });
    return true;
  } catch {
    return false;
  }
}

/** The values of a unique attribute, as the uniqueness rule compares them (case folded unless caseExact). */
export function uniqueValues(schema: ResourceSchema, label: string, resource: JsonObject): string[] {
  const entry = places(schema).get(label);
  if (!entry) return [];
  const fold = !entry.def.caseExact && (entry.def.type === 'string' || entry.def.type === 'reference' || entry.def.type === 'binary');
  return valuesOf(resource, label, schema).map((v) => {
    const text = typeof v === 'string' ? v : JSON.stringify(v);
    return fold ? text.toLowerCase() : text;
  });
}

/** A simple value as another type, when it can be read as one; undefined when it cannot. */
function coerceSimple(def: AttributeDefinition, v: Json): Json | undefined {
  switch (def.type) {
    case 'string':
    case 'reference':
    case 'binary':
      return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
    case 'integer': {
      const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
      return typeof n === 'number' && Number.isInteger(n) ? n : undefined;
    }
    case 'decimal': {
      const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
      return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
    }
    case 'boolean':
      if (typeof v === 'boolean') return v;
      if (typeof v === 'string' && /^(true|false)$/i.test(v.trim())) return v.trim().toLowerCase() === 'true';
      return undefined;
    case 'dateTime': {
      if (typeof v !== 'string' && typeof v !== 'number') return undefined;
      const t = new Date(v).getTime();
      return Number.isFinite(t) ? new Date(t).toISOString() : undefined;
    }
    case 'complex':
      return undefined;
  }
}

function coerceElement(def: AttributeDefinition, v: Json): Json | undefined {
  if (def.type !== 'complex') return coerceSimple(def, v);
  if (!isObject(v)) return undefined;
  const out: JsonObject = {};
  for (const [k, inner] of Object.entries(v)) {
    const sub = def.subAttributes?.find((s) => s.name.toLowerCase() === k.toLowerCase());
    if (!sub) continue;
    const c = sub.multiValued ? (Array.isArray(inner) ? inner : [inner]).map((x) => coerceSimple(sub, x)).filter((x) => x !== undefined) : coerceSimple(sub, Array.isArray(inner) ? inner[0]! : inner);
    if (c !== undefined && !(Array.isArray(c) && c.length === 0)) out[sub.name] = c as Json;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * The value of a top-level attribute converted to what its definition says now: a single value put in a list, a
 * list of one (or with one primary) taken out of it, strings read as numbers, booleans or dateTimes and back;
 * undefined when nothing of it converts (the value is cleared).
 */
export function convertValue(def: AttributeDefinition, value: Json): Json | undefined {
  let converted: Json | undefined;
  if (def.multiValued) {
    const items = (Array.isArray(value) ? value : [value]).map((v) => coerceElement(def, v)).filter((v): v is Json => v !== undefined);
    converted = items.length > 0 ? items : undefined;
  } else if (Array.isArray(value)) {
    const pick = value.length === 1 ? value[0] : value.find((v) => isObject(v) && v.primary === true);
    converted = pick === undefined ? undefined : coerceElement(def, pick);
  } else converted = coerceElement(def, value);
  return converted !== undefined && conforms(def, converted) ? converted : undefined;
}

/**
 * Converts what a change asks of one resource, in place: the attribute's value to its new definition (or cleared),
 * or a retired value removed (`purge`). Returns what it did, or undefined when the resource needed nothing.
 */
export function convert(schema: ResourceSchema, change: SchemaChange, resource: JsonObject): 'converted' | 'cleared' | 'purged' | undefined {
  const entry = places(schema).get(change.label);
  if (change.kind === 'removed' || !entry) {
    const p = placeOfLabel(resource, change.label);
    const holder = holderOf(resource, p);
    if (!holder || holder[p.name] === undefined) return undefined;
    if (!p.sub) delete holder[p.name];
    else {
      for (const e of Array.isArray(holder[p.name]) ? (holder[p.name] as Json[]) : [holder[p.name]!]) if (isObject(e)) delete e[p.sub];
    }
    if (p.urn && Object.keys(holder).length === 0) delete resource[p.urn];
    return 'purged';
  }
  if (change.kind !== 'type' && change.kind !== 'multiValued') return undefined;
  const holder = holderOf(resource, entry.place);
  const value = holder?.[entry.place.name];
  if (!holder || value === undefined || conforms(entry.top, value)) return undefined;
  const next = convertValue(entry.top, value);
  if (next === undefined) {
    delete holder[entry.place.name];
    if (entry.place.urn && Object.keys(holder).length === 0) delete resource[entry.place.urn];
    return 'cleared';
  }
  holder[entry.place.name] = next;
  return 'converted';
}
