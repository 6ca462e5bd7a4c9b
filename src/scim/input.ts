/**
 * Reading a POST/PUT body into a canonical resource: attribute names spelled as in the schema, extension
 * attributes under their URN key, readOnly values dropped, writeOnly password taken out.
 */
import { errors } from './errors';
import { AttributeDefinition, ResourceSchema } from './schema';
import { isObject, isUnassigned, Json, JsonObject, readAttribute, ReadOptions } from './values';
import { DEFAULT_LIMITS, Limits } from './limits';
import { dedupeElements } from './elements';
import { unknownTarget } from './path';

/**
 * Schema URNs some clients put in `schemas` that name no attributes, accepted and dropped: Entra ID lists its own
 * group schema in every group it creates (../shared/CLIENTS.md), with no attributes under it.
 */
const TOLERATED_SCHEMAS: ReadonlySet<string> = new Set(['http://schemas.microsoft.com/2006/11/resourcemanagement/adscim/2.0/group']);

export interface ResourceInput {
  /** The attributes the client asserted, canonical; no id, no meta. */
  attributes: JsonObject;
  /** The plaintext of a writeOnly password, if one was sent. */
  password?: string;
  /**
   * Attributes the body gave as unassigned (null, "" or []), canonical labels (`urn:…:badgeId`,
   * `name.givenName`): a PUT that clears an immutable value asks for a change, unlike one that leaves it out.
   */
  cleared: string[];
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
      (s) => s.toLowerCase() !== schema.core.id.toLowerCase() && !schema.extensionUrn(s) && !TOLERATED_SCHEMAS.has(s.toLowerCase()),
    );
    if (unknown.length > 0 && schema.ignoresUnknown) {
      for (const u of unknown) if (!schema.splitUrn(u)) schema.onIgnored(u, '');
    } else if (unknown.length > 0) {
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
  const cleared: string[] = [];

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
    if (value === undefined) {
      if (isUnassigned(raw)) cleared.push(canonical);
      return;
    }
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
  if (unknownKeys.length > 0 && schema.ignoresUnknown) {
    // SCIM_UNKNOWN_ATTRIBUTES=ignore: dropped, each reported (an unknown extension's object attribute by attribute).
    for (const key of unknownKeys) {
      const value = body[key];
      const target = unknownTarget(schema, key);
      if (/^urn:/i.test(key) && !schema.splitUrn(key) && isObject(value)) for (const k of Object.keys(value)) schema.onIgnored(key, k);
      else schema.onIgnored(target?.schema ?? '', target?.attribute ?? key);
    }
  } else if (unknownKeys.length > 0) {
    throw errors.invalidSyntax(
      `unknown attribute${unknownKeys.length > 1 ? 's' : ''} ${unknownKeys.map((k) => `'${k}'`).join(', ')} for ${schema.type.name}`,
    );
  }
  for (const [urn, ext] of extensions) {
    if (Object.keys(ext).length > 0) attributes[urn] = ext;
  }
  return { attributes, password, cleared };
}

/** The `schemas` list of a resource: the core schema and each extension that holds a value. */
export function schemasOf(schema: ResourceSchema, resource: JsonObject): string[] {
  return [schema.core.id, ...schema.extensions.map((e) => e.schema.id).filter((urn) => isObject(resource[urn]))];
}
