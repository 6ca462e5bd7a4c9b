/**
 * The PATCH path of RFC 7644 §3.5.2, parsed into data and resolved against a resource schema:
 *
 *     PATH = attrPath / valuePath [subAttr]                      (RFC 7644 §3.5.2, Figure 7)
 *
 * `title`, `name.givenName`, `urn:…:enterprise:2.0:User:manager.value` are attribute paths; `emails[type eq "work"]`
 * and `emails[type eq "work"].value` are value paths. A bare schema URN (`urn:…:enterprise:2.0:User`) names all the
 * attributes of that schema at once; it is accepted where a value object is expected (path-less add/replace keys and
 * add/replace paths), as some clients send it.
 *
 * Every error names the path as the client wrote it: malformed or unknown -> invalidPath; a value filter that does
 * not parse, or a filter on an attribute that is not multi-valued -> invalidFilter.
 */
import { errors, isScimError } from './errors';
import type { Filter } from './filter/ast';
import { FilterLimits, parseValueFilter } from './filter/parse';
import { AttributeDefinition, ResolvedAttribute, ResourceSchema, subAttribute } from './schema';

/** A bare schema URN: the core schema or one of the resource type's extensions. */
export interface SchemaPath {
  kind: 'schema';
  text: string;
  /** Canonical spelling of the URN. */
  schema: string;
  extension: boolean;
}

/** `attr` or `attr.sub`, optionally URN-qualified. `target.sub` is set for `attr.sub`. */
export interface AttrPath {
  kind: 'attrPath';
  text: string;
  target: ResolvedAttribute;
}

/**
 * `attr[filter]` or `attr[filter].sub`: `target` names the multi-valued complex attribute (never a sub-attribute),
 * `filter` selects its elements, `sub` (optional) one sub-attribute of each selected element.
 */
export interface ValuePath {
  kind: 'valuePath';
  text: string;
  target: ResolvedAttribute & { sub?: undefined };
  filterText: string;
  filter: Filter;
  sub?: AttributeDefinition;
}

export type PatchPath = SchemaPath | AttrPath | ValuePath;

/** RFC 7643 §2.1: ATTRNAME = ALPHA *(nameChar); `$ref` is the one reserved sub-attribute name. */
const NAME = '(?:[A-Za-z][A-Za-z0-9_-]*|\\$ref)';
const ATTR_PATH = new RegExp(`^${NAME}(?:\\.${NAME})?$`);
const SUB_ATTR = new RegExp(`^\\.(${NAME})$`);

/** Index of the `]` closing the value filter that starts at `from`, skipping quoted strings; -1 if none. */
function closingBracket(text: string, from: number): number {
  let quoted = false;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === ']') return i;
  }
  return -1;
}

/** Resolves `[urn:]attr[.sub]`, naming the path in every error. */
function resolveAttrPath(schema: ResourceSchema, attrText: string, pathText: string): ResolvedAttribute {
  let rest = attrText;
  const split = schema.splitUrn(attrText);
  if (split) rest = split.rest;
  else if (attrText.includes(':')) throw errors.invalidPath(`path '${pathText}' names an unknown schema`);
  if (!ATTR_PATH.test(rest)) throw errors.invalidPath(`path '${pathText}' is malformed`);
  // The one resolver: core and common attributes unqualified, extension attributes qualified or, when exactly one
  // extension defines the name, not (older Entra ID tenants send `"path": "manager"`).
  const resolved = schema.resolve(attrText);
  if (resolved) return resolved;
  throw errors.invalidPath(`path '${pathText}': ${schema.unresolved(attrText)}`);
}

/**
 * What a path names that the schemas lack, for SCIM_UNKNOWN_ATTRIBUTES=ignore: the schema URN ('' when the name is
 * unqualified) and the attribute. Undefined for a path that resolves, and for one that is wrong rather than unknown
 * (ambiguous between extensions, or malformed), which stays an error whatever the setting.
 */
export function unknownTarget(schema: ResourceSchema, pathText: string): { schema: string; attribute: string } | undefined {
  const text = pathText.trim();
  const bracket = text.indexOf('[');
  const attrText = bracket < 0 ? text : text.slice(0, bracket);
  if (attrText === '' || schema.extensionUrn(attrText) || attrText.toLowerCase() === schema.core.id.toLowerCase()) return undefined;
  if (schema.resolve(attrText) || schema.ambiguous(attrText)) return undefined;
  const split = schema.splitUrn(attrText);
  if (split) {
    if (!ATTR_PATH.test(split.rest)) return undefined;
    const name = split.rest.split('.')[0]!;
    return { schema: split.schema, attribute: schema.attribute(split.schema, name) ? split.rest : name };
  }
  if (/^urn:/i.test(attrText)) {
    // An extension this server does not have: its URN is all but the last segment, as RFC 7644 §3.10 builds it.
    const colon = attrText.lastIndexOf(':');
    return { schema: attrText.slice(0, colon), attribute: attrText.slice(colon + 1) };
  }
  return ATTR_PATH.test(attrText) ? { schema: '', attribute: attrText } : undefined;
}

/** Parses and resolves a PATCH path (RFC 7644 §3.5.2). Attribute names and URNs match in any case. */
export function parsePath(schema: ResourceSchema, path: string, limits?: FilterLimits): PatchPath {
  const text = path.trim();
  if (text === '') throw errors.invalidPath('path is empty');
  const open = text.indexOf('[');
  if (open < 0) {
    const ext = schema.extensionUrn(text);
    if (ext) return { kind: 'schema', text, schema: ext, extension: true };
    if (text.toLowerCase() === schema.core.id.toLowerCase()) {
      return { kind: 'schema', text, schema: schema.core.id, extension: false };
    }
    return { kind: 'attrPath', text, target: resolveAttrPath(schema, text, text) };
  }

  const close = closingBracket(text, open + 1);
  if (close < 0) throw errors.invalidPath(`path '${text}' has an unclosed '['`);
  const after = text.slice(close + 1);
  const subMatch = after === '' ? undefined : SUB_ATTR.exec(after);
  if (after !== '' && !subMatch) throw errors.invalidPath(`path '${text}' is malformed after ']'`);
  const attrText = text.slice(0, open);
  const filterText = text.slice(open + 1, close);
  const resolved = resolveAttrPath(schema, attrText, text);
  if (resolved.sub) {
    throw errors.invalidFilter(`path '${text}': '${resolved.attribute.name}.${resolved.sub.name}' is not multi-valued`);
  }
  const { attribute } = resolved;
  if (!attribute.multiValued) throw errors.invalidFilter(`path '${text}': '${attribute.name}' is not multi-valued`);
  // The User and Group schemas have no simple multi-valued attribute; a filter needs sub-attributes to compare.
  if (attribute.type !== 'complex') {
    throw errors.invalidFilter(`path '${text}': value filters are supported on complex attributes only`);
  }
  if (filterText.trim() === '') throw errors.invalidFilter(`path '${text}' has an empty value filter`);
  let filter: Filter;
  try {
    filter = parseValueFilter(schema, { schema: resolved.schema, extension: resolved.extension, attribute }, filterText, limits);
  } catch (e) {
    if (isScimError(e)) throw e.prefixed(`path '${text}': `);
    throw e;
  }
  const target = { schema: resolved.schema, extension: resolved.extension, attribute };
  if (!subMatch) return { kind: 'valuePath', text, target, filterText, filter };
  const sub = subAttribute(attribute, subMatch[1]!);
  if (!sub) throw errors.invalidPath(`path '${text}': attribute '${attribute.name}' has no sub-attribute '${subMatch[1]}'`);
  return { kind: 'valuePath', text, target, filterText, filter, sub };
}

/** The path in canonical spelling, for messages: `emails[type eq "work"].value`, `urn:…:User:manager.value`. */
export function canonicalPath(p: PatchPath): string {
  if (p.kind === 'schema') return p.schema;
  const { schema, extension, attribute } = p.target;
  const prefix = extension ? `${schema}:` : '';
  if (p.kind === 'attrPath') return `${prefix}${attribute.name}${p.target.sub ? `.${p.target.sub.name}` : ''}`;
  return `${prefix}${attribute.name}[${p.filterText}]${p.sub ? `.${p.sub.name}` : ''}`;
}
