/**
 * Reading a POST/PUT body into a canonical resource: attribute names spelled as in the schema, extension
 * attributes under their URN key, readOnly values dropped, writeOnly password taken out.
 */
import { errors } from './errors';
import { AttributeDefinition, ResourceSchema } from './schema';
import { isObject, isUnassigned, Json, JsonObject, readAttribute, ReadOptions } from './values';
import { DEFAULT_LIMITS, Limits } from './limits';
import { dedupeElements } from './elements';

export interface ResourceInput {
  /** The attributes the client asserted, canonical; no id, no meta. */
  attributes: JsonObject;
  /** The plaintext of a writeOnly password, if one was sent. */
  password?: string;
}


/**
 * Where one body key lands: a top-level attribute of the core schema (with the common ones) or of an extension,
 * or, for dotted keys (`name.givenName`, which Entra also sends), a sub-attribute of one.
 */
interface Target {
  schema: string;
  extension: boolean;
  attribute: AttributeDefinition;
  sub?: AttributeDefinition;
}

/** Resolves a body key against the schema: `userName`, `urn:…:User:userName`, `urn:…:enterprise:2.0:User:department`. */
export function resolveKey(schema: ResourceSchema, key: string): Target | undefined {
  return schema.resolve(key);
}

function setIn(target: JsonObject, t: Target, value: Json, ext: JsonObject): void {
  const holder = t.extension ? ext : target;
  if (!t.sub) {
    holder[t.attribute.name] = value;
    return;
  }
  const parent = isObject(holder[t.attribute.name]) ? (holder[t.attribute.name] as JsonObject) : {};
  parent[t.sub.name] = value;
  holder[t.attribute.name] = parent;
}

/**
 * Reads a request body for POST or PUT.
 *
 * `schemas` is checked when present (every URN must be the resource type's core schema or one of its extensions,
 * and the core schema must be among them) and inferred when absent. Unknown attributes are a client error
 * (invalidSyntax), never silently dropped: a typo would otherwise lose data without a word.
 */
export function readResourceBody(schema: ResourceSchema, body: unknown, limits: Limits = DEFAULT_LIMITS): ResourceInput {
  const read: ReadOptions = { dropReadOnly: true, maxValues: limits.valuesPerAttribute };
  if (!isObject(body)) throw errors.invalidSyntax('request body must be a JSON object');
  const schemaKeys = Object.keys(body).filter((k) => k.toLowerCase() === 'schemas');
  if (schemaKeys.length > 1) throw errors.invalidSyntax(`'schemas' is given twice (as ${schemaKeys.map((k) => `'${k}'`).join(' and ')})`);
  const declared = schemaKeys.length === 1 ? body[schemaKeys[0]!] : undefined;
  if (declared !== undefined && declared !== null) {
    if (!Array.isArray(declared) || declared.some((s) => typeof s !== 'string')) {
      throw errors.invalidSyntax("'schemas' must be an array of schema URNs");
    }
    const unknown = (declared as string[]).filter(
      (s) => s.toLowerCase() !== schema.core.id.toLowerCase() && !schema.extensionUrn(s),
    );
    if (unknown.length > 0) {
      throw errors.invalidSyntax(`'schemas' names ${unknown.map((u) => `'${u}'`).join(', ')}, which ${schema.type.name} does not support`);
    }
    if (!(declared as string[]).some((s) => s.toLowerCase() === schema.core.id.toLowerCase())) {
      throw errors.invalidSyntax(`'schemas' must include '${schema.core.id}'`);
    }
  }

  const attributes: JsonObject = {};
  const extensions = new Map<string, JsonObject>();
  const extFor = (urn: string): JsonObject => {
    let e = extensions.get(urn);
    if (!e) extensions.set(urn, (e = {}));
    return e;
  };
  const unknownKeys: string[] = [];
  let password: string | undefined;

  // Attribute names are case-insensitive (RFC 7643 §2.1), so `userName` and `USERNAME` in one body name the same
  // attribute twice; JSON would keep both and one would silently win. Refuse instead.
  const seen = new Map<string, string>();
  const readInto = (t: Target, raw: unknown, where: string): void => {
    const canonical = `${t.extension ? t.schema + ':' : ''}${t.attribute.name}${t.sub ? '.' + t.sub.name : ''}`;
    const earlier = seen.get(canonical.toLowerCase());
    if (earlier !== undefined) throw errors.invalidSyntax(`attribute '${canonical}' is given twice (as '${earlier}' and '${where}')`);
    seen.set(canonical.toLowerCase(), where);
    const def = t.sub ?? t.attribute;
    // RFC 7643 §2.2 readOnly: "The attribute SHALL NOT be modified." Values a client sends are ignored
    // (RFC 7644 §3.5.1: "Any values provided SHALL be ignored"), which is also what lets clients echo id and meta.
    if (t.attribute.mutability === 'readOnly' || def.mutability === 'readOnly') return;
    if (def.mutability === 'writeOnly' && def.name === 'password' && !t.sub) {
      if (isUnassigned(raw)) return;
      if (typeof raw !== 'string') throw errors.invalidValue(`'${where}' must be a string`);
      password = raw;
      return;
    }
    let value = readAttribute(def, raw, where, read);
    if (value === undefined) return;
    // RFC 7643 §2.4 values are identified by value (and type): a POST that lists one email twice stores it once.
    if (def.multiValued && Array.isArray(value)) value = dedupeElements(def, value);
    setIn(attributes, t, value, t.extension ? extFor(t.schema) : attributes);
  };

  for (const [key, raw] of Object.entries(body)) {
    if (key.toLowerCase() === 'schemas') continue;
    const extUrn = schema.extensionUrn(key);
    if (extUrn) {
      if (isUnassigned(raw)) continue;
      if (!isObject(raw)) throw errors.invalidValue(`'${key}' must be an object of ${extUrn} attributes`);
      for (const [k, v] of Object.entries(raw)) {
        // Some clients (scim2-models) repeat `schemas` inside extension objects; it carries nothing here.
        if (k.toLowerCase() === 'schemas') continue;
        const t = schema.resolve(`${extUrn}:${k}`);
        if (!t) unknownKeys.push(`${extUrn}:${k}`);
        else readInto(t, v, `${extUrn}:${t.attribute.name}${t.sub ? '.' + t.sub.name : ''}`);
      }
      continue;
    }
    const t = resolveKey(schema, key);
    if (!t) {
      unknownKeys.push(key);
      continue;
    }
    readInto(t, raw, t.extension ? `${t.schema}:${t.attribute.name}` : t.attribute.name + (t.sub ? '.' + t.sub.name : ''));
  }
  const ambiguous = unknownKeys.find((k) => schema.ambiguous(k));
  if (ambiguous) throw errors.invalidSyntax(schema.unresolved(ambiguous));
  if (unknownKeys.length > 0) {
    throw errors.invalidSyntax(
      `unknown attribute${unknownKeys.length > 1 ? 's' : ''} ${unknownKeys.map((k) => `'${k}'`).join(', ')} for ${schema.type.name}`,
    );
  }
  for (const [urn, ext] of extensions) {
    if (Object.keys(ext).length > 0) attributes[urn] = ext;
  }
  return { attributes, password };
}

/** The `schemas` list of a resource: the core schema and each extension that holds a value. */
export function schemasOf(schema: ResourceSchema, resource: JsonObject): string[] {
  return [schema.core.id, ...schema.extensions.map((e) => e.schema.id).filter((urn) => isObject(resource[urn]))];
}

/**
 * Checks required attributes (RFC 7643 §2.2 "required") on a complete resource: top-level attributes of the core
 * schema and of present extensions, and required sub-attributes of present complex values. readOnly attributes are
 * the server's to fill and are not checked.
 */
export function checkRequired(schema: ResourceSchema, resource: JsonObject): void {
  const missing: string[] = [];
  const checkAttrs = (defs: AttributeDefinition[], holder: JsonObject, prefix: string) => {
    for (const def of defs) {
      if (def.mutability === 'readOnly') continue;
      const v = holder[def.name];
      if (def.required && isUnassigned(v)) {
        missing.push(prefix + def.name);
        continue;
      }
      if (def.type === 'complex' && v !== undefined) {
        const items = Array.isArray(v) ? v : [v];
        for (const item of items) {
          if (!isObject(item)) continue;
          for (const sub of def.subAttributes ?? []) {
            if (sub.required && sub.mutability !== 'readOnly' && isUnassigned(item[sub.name])) {
              missing.push(`${prefix}${def.name}.${sub.name}`);
            }
          }
        }
      }
    }
  };
  checkAttrs(schema.core.attributes, resource, '');
  for (const { schema: ext, required } of schema.extensions) {
    const holder = resource[ext.id];
    if (!isObject(holder)) {
      if (required) missing.push(ext.id);
      continue;
    }
    checkAttrs(ext.attributes, holder, `${ext.id}:`);
  }
  if (missing.length > 0) {
    throw errors.invalidValue(`required attribute${missing.length > 1 ? 's' : ''} missing: ${[...new Set(missing)].join(', ')}`);
  }
}

/**
 * RFC 7643 §2.2 immutable: "The attribute MAY be defined at resource creation (e.g., POST) or at record
 * replacement via a request (e.g., a PUT). The attribute SHALL NOT be updated." RFC 7644 §3.5.1: "If one or more
 * values are already set for the attribute, the input value(s) MUST match". An immutable attribute omitted from a
 * PUT keeps its value.
 */
export function carryImmutable(schema: ResourceSchema, current: JsonObject, next: JsonObject): void {
  for (const { schema: urn, extension, attribute } of schema.allAttributes()) {
    const curHolder = extension ? current[urn] : current;
    if (!isObject(curHolder)) continue;
    const nextHolder = extension ? ((next[urn] as JsonObject | undefined) ?? {}) : next;
    const check = (def: AttributeDefinition, cur: Json | undefined, nxt: Json | undefined, where: string, set: (v: Json) => void) => {
      if (def.mutability !== 'immutable' || cur === undefined) return;
      if (nxt === undefined) set(cur);
      else if (JSON.stringify(nxt) !== JSON.stringify(cur)) {
        throw errors.mutability(`'${where}' is immutable and already set; it cannot be changed`);
      }
    };
    const prefix = extension ? `${urn}:` : '';
    check(attribute, curHolder[attribute.name], nextHolder[attribute.name], prefix + attribute.name, (v) => (nextHolder[attribute.name] = v));
    if (attribute.type === 'complex' && !attribute.multiValued && isObject(curHolder[attribute.name])) {
      const cur = curHolder[attribute.name] as JsonObject;
      for (const sub of attribute.subAttributes ?? []) {
        const nxtParent = isObject(nextHolder[attribute.name]) ? (nextHolder[attribute.name] as JsonObject) : undefined;
        check(sub, cur[sub.name], nxtParent?.[sub.name], `${prefix}${attribute.name}.${sub.name}`, (v) => {
          const p = nxtParent ?? (nextHolder[attribute.name] = {});
          (p as JsonObject)[sub.name] = v;
        });
      }
    }
    if (extension && Object.keys(nextHolder).length > 0) next[urn] = nextHolder;
  }

}
