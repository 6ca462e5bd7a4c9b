/**
 * Checks one operator-supplied extension schema file (an RFC 7643 §7 schema representation) before the server uses
 * it.
 *
 * A schema file is trusted configuration: every later rule (validation, PATCH, filtering, projection, discovery) asks
 * it, so a mistake in it would not fail at boot but would surface as odd behaviour on some request months later. So
 * each file is checked whole, and the first problem stops the server with the file, an RFC 6901 pointer to the
 * offending member and the rule it breaks. The checker is deliberately stricter than the RFC where the RFC is silent
 * (unknown members, exact spelling of characteristics): an operator typing `"mutable"` for `"mutability"` gets an
 * error, not a silently readWrite attribute.
 *
 * Pure: no fs, no server. The caller reads and parses the file; rules that need other files (an extension attribute
 * shadowing a core one, resource type names in referenceTypes actually existing) belong to the loader.
 *
 * Checking order, which decides which problem is "first": the members of an object are checked for unknown names
 * first, then one by one in a fixed order (top level: schemas, id, name, description, meta, attributes; an attribute:
 * name, type, multiValued, description, required, caseExact, mutability, returned, uniqueness, canonicalValues,
 * referenceTypes, then the rules between characteristics, then subAttributes), attributes in array order.
 */
// Types only: schema.ts reads files at import, which this module must not.
import type { AttributeDefinition, AttributeType, Mutability, Returned, SchemaDefinition, Uniqueness } from './schema';
import { pointer } from './pointer';

/** A problem in a schema file: which file, where in it (RFC 6901 JSON pointer, '' for the whole document), what rule. */
export class SchemaFileError extends Error {
  constructor(
    readonly file: string,
    readonly pointer: string,
    readonly rule: string,
  ) {
    super(`${file} at ${pointer || '/'}: ${rule}`);
    this.name = 'SchemaFileError';
  }
}

/** RFC 7643 §7: a schema representation's `schemas` holds this URN (SCHEMA_URNS.schema; not imported, see above). */
const SCHEMA_SCHEMA_URN = 'urn:ietf:params:scim:schemas:core:2.0:Schema';

const TOP_MEMBERS = ['schemas', 'id', 'name', 'description', 'attributes', 'meta'] as const;
const META_MEMBERS = ['resourceType', 'location'] as const;
const CHARACTERISTICS = [
  'name',
  'type',
  'multiValued',
  'description',
  'required',
  'canonicalValues',
  'caseExact',
  'mutability',
  'returned',
  'uniqueness',
  'referenceTypes',
  'subAttributes',
] as const;

const TYPES: readonly AttributeType[] = ['string', 'boolean', 'decimal', 'integer', 'dateTime', 'reference', 'complex', 'binary'];
const MUTABILITIES: readonly Mutability[] = ['readOnly', 'readWrite', 'immutable', 'writeOnly'];
const RETURNED: readonly Returned[] = ['always', 'never', 'default', 'request'];
const UNIQUENESSES: readonly Uniqueness[] = ['none', 'server', 'global'];
/** The types whose values are strings compared with or without case (RFC 7643 §7 caseExact; isCaseInsensitive()). */
const CASE_TYPES: readonly AttributeType[] = ['string', 'reference', 'binary'];

/** RFC 7643 §2.1: ATTRNAME = ALPHA *(nameChar); nameChar = "-" / "_" / DIGIT / ALPHA. */
const ATTRNAME = /^[A-Za-z][A-Za-z0-9_-]*$/;
/**
 * RFC 7643 §2.4 reserves "$ref" as the sub-attribute holding "the reference URI of a target resource"; it breaks the
 * ATTRNAME grammar, and the RFC's own schemas (and EnterpriseUser's manager) use it, so it is the one exception.
 */
const REF_SUB = '$ref';
/**
 * RFC 7643 §3.1 common attributes ("id", "externalId", "meta") and §3 "schemas": part of every resource and defined by
 * no schema. The server resolves unqualified names against them first, so an extension attribute of the same name
 * could never be addressed.
 */
const COMMON = new Set(['id', 'externalid', 'meta', 'schemas']);

type Path = readonly (string | number)[];
type JsonObject = Record<string, unknown>;

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** What a JSON value is, for "must be X, not Y" messages. */
function kind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `'${v}'`;
  return `${typeof v === 'boolean' ? 'the boolean' : 'the number'} ${String(v)}`;
}

/** The spelling an unknown member probably meant (characteristic names are matched exactly). */
function suggestion(key: string, allowed: readonly string[]): string {
  const same = allowed.find((a) => a.toLowerCase() === key.toLowerCase());
  return same ? ` (names of characteristics are case-sensitive here: '${same}')` : '';
}

class Checker {
  constructor(private readonly file: string) {}

  fail(path: Path, rule: string): never {
    throw new SchemaFileError(this.file, pointer(path), rule);
  }

  object(v: unknown, path: Path, what: string): JsonObject {
    if (!isObject(v)) this.fail(path, `${what} must be a JSON object, not ${kind(v)}`);
    return v;
  }

  /** Rejects members outside `allowed`, in document order. */
  members(o: JsonObject, path: Path, allowed: readonly string[], what: string): void {
    for (const key of Object.keys(o)) {
      if (!allowed.includes(key)) this.fail([...path, key], `unknown ${what} '${key}'${suggestion(key, allowed)}`);
    }
  }

  string(o: JsonObject, key: string, path: Path): string | undefined {
    if (!Object.hasOwn(o, key)) return undefined;
    const v = o[key];
    if (typeof v !== 'string') this.fail([...path, key], `'${key}' must be a string, not ${kind(v)}`);
    return v;
  }

  boolean(o: JsonObject, key: string, path: Path): boolean | undefined {
    if (!Object.hasOwn(o, key)) return undefined;
    const v = o[key];
    if (typeof v !== 'boolean') this.fail([...path, key], `'${key}' must be true or false, not ${kind(v)}`);
    return v;
  }

  /** One of `values`, spelled exactly (the RFC 7643 §7 keywords). */
  keyword<T extends string>(o: JsonObject, key: string, path: Path, values: readonly T[]): T | undefined {
    if (!Object.hasOwn(o, key)) return undefined;
    const v = o[key];
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
      this.fail([...path, key], `'${key}' must be one of ${values.join(', ')}, not ${kind(v)}`);
    }
    return v as T;
  }

  /** A non-empty array of strings; `each` checks one element (index given) and returns a key for duplicate checks. */
  strings(o: JsonObject, key: string, path: Path, each: (s: string, at: Path) => string): string[] {
    const v = o[key];
    const at = [...path, key];
    if (!Array.isArray(v)) this.fail(at, `'${key}' must be an array of strings, not ${kind(v)}`);
    if (v.length === 0) this.fail(at, `'${key}' must not be empty (leave it out instead)`);
    const seen = new Map<string, number>();
    v.forEach((s: unknown, i) => {
      if (typeof s !== 'string') this.fail([...at, i], `'${key}' must hold strings only, not ${kind(s)}`);
      const dup = each(s, [...at, i]);
      const first = seen.get(dup);
      if (first !== undefined) this.fail([...at, i], `duplicate value '${s}' in '${key}' (also at ${pointer([...at, first])})`);
      seen.set(dup, i);
    });
    return v as string[];
  }

  schema(value: unknown, reserved: ReadonlySet<string>): SchemaDefinition {
    const top = this.object(value, [], 'a schema file');
    this.members(top, [], TOP_MEMBERS, 'member');

    // RFC 7643 §3: "All representations of SCIM schemas MUST include a non-empty array with value(s) of the URIs
    // supported by that representation"; for a schema representation that is the Schema URN alone. Optional in the
    // file (the server serves it either way), but if present it must say what the file is.
    if (Object.hasOwn(top, 'schemas')) {
      const s = top.schemas;
      if (!Array.isArray(s) || s.length !== 1 || typeof s[0] !== 'string' || s[0].toLowerCase() !== SCHEMA_SCHEMA_URN.toLowerCase()) {
        this.fail(['schemas'], `'schemas' must be ["${SCHEMA_SCHEMA_URN}"]`);
      }
    }

    // RFC 7643 §7: id is "the unique URI of the schema"; extension schemas are named by URNs (RFC 7643 §3.3, §10.2).
    if (!Object.hasOwn(top, 'id')) this.fail(['id'], `'id' (the schema's URN) is required`);
    const id = this.string(top, 'id', [])!;
    if (!/^urn:/i.test(id) || /\s/.test(id) || id.endsWith(':')) {
      this.fail(['id'], `'id' must be a URN: 'urn:' then colon-separated parts, no whitespace, not ending in ':' (not '${id}')`);
    }
    // A file may add schemas, never replace the server's own: the built-in ones are what the code was written against.
    if (reserved.has(id.toLowerCase())) this.fail(['id'], `redefines the built-in schema '${id}'`);

    const name = this.string(top, 'name', []);
    this.string(top, 'description', []);

    if (Object.hasOwn(top, 'meta')) {
      const meta = this.object(top.meta, ['meta'], `'meta'`);
      this.members(meta, ['meta'], META_MEMBERS, 'meta member');
      // Both are required by SchemaDefinition's type; RFC 7643 §3.1 names the resource type of a schema "Schema".
      for (const key of META_MEMBERS) {
        if (!Object.hasOwn(meta, key)) this.fail(['meta', key], `'meta.${key}' is required when 'meta' is given`);
        this.string(meta, key, ['meta']);
      }
      if (meta.resourceType !== 'Schema') this.fail(['meta', 'resourceType'], `'meta.resourceType' of a schema must be 'Schema', not ${kind(meta.resourceType)}`);
    }

    // RFC 7643 §7: attributes is REQUIRED; a schema with none adds nothing and is more likely a mistake.
    if (!Object.hasOwn(top, 'attributes')) this.fail(['attributes'], `'attributes' is required`);
    const list = top.attributes;
    if (!Array.isArray(list)) this.fail(['attributes'], `'attributes' must be an array of attribute definitions, not ${kind(list)}`);
    if (list.length === 0) this.fail(['attributes'], `'attributes' must not be empty`);
    const attributes = this.attributes(list, ['attributes'], undefined);

    // SchemaDefinition's name is required; RFC 7643 §7 makes it OPTIONAL, so an absent name becomes the URN, the one
    // name the file does give.
    const out: JsonObject = { ...top, attributes };
    if (name === undefined) out.name = id;
    return out as unknown as SchemaDefinition;
  }

  /** The definitions of one level (top-level attributes, or one complex attribute's sub-attributes). */
  attributes(list: unknown[], path: Path, parent: { mutability: Mutability } | undefined): AttributeDefinition[] {
    // RFC 7643 §2.1: "Attribute names are case insensitive", so 'hireDate' and 'HireDate' are the same attribute.
    const seen = new Map<string, string>();
    return list.map((a, i) => this.attribute(a, [...path, i], parent, seen));
  }

  attribute(value: unknown, path: Path, parent: { mutability: Mutability } | undefined, seen: Map<string, string>): AttributeDefinition {
    const sub = parent !== undefined;
    const a = this.object(value, path, sub ? 'a sub-attribute definition' : 'an attribute definition');
    this.members(a, path, CHARACTERISTICS, 'characteristic');

    if (!Object.hasOwn(a, 'name')) this.fail([...path, 'name'], `'name' is required`);
    const name = this.string(a, 'name', path)!;
    if (!ATTRNAME.test(name) && !(sub && name === REF_SUB)) {
      this.fail(
        [...path, 'name'],
        `'${name}' is not an attribute name: a letter, then letters, digits, '-' or '_' (RFC 7643 §2.1 ATTRNAME)` +
          (sub ? `; '${REF_SUB}' is the one exception` : ''),
      );
    }
    if (!sub && COMMON.has(name.toLowerCase())) {
      this.fail([...path, 'name'], `'${name}' is a common attribute of every resource (RFC 7643 §3.1), defined by no schema; choose another name`);
    }
    const lower = name.toLowerCase();
    const also = seen.get(lower);
    if (also !== undefined) {
      this.fail([...path, 'name'], `duplicate ${sub ? 'sub-attribute' : 'attribute'} name '${name}' (names are case-insensitive; also at ${also})`);
    }
    seen.set(lower, pointer(path));

    // RFC 7643 §2.2 would default a missing type to "string"; in a file an operator writes, a missing type is far more
    // likely an omission than a choice, so it must be spelled out.
    if (!Object.hasOwn(a, 'type')) this.fail([...path, 'type'], `'type' is required`);
    const type = this.keyword(a, 'type', path, TYPES)!;
    if (sub && type === 'complex') {
      this.fail([...path, 'type'], `sub-attributes may not be complex (RFC 7643 §2.3.8: "A complex attribute MUST NOT contain sub-attributes that have sub-attributes")`);
    }
    if (sub && name === REF_SUB && type !== 'reference') {
      this.fail([...path, 'type'], `'${REF_SUB}' must be of type reference (RFC 7643 §2.4: it holds "the reference URI of a target resource")`);
    }

    this.boolean(a, 'multiValued', path);
    this.string(a, 'description', path);
    const required = this.boolean(a, 'required', path);
    const caseExact = this.boolean(a, 'caseExact', path);
    const mutability = this.keyword(a, 'mutability', path, MUTABILITIES) ?? 'readWrite';
    const returned = this.keyword(a, 'returned', path, RETURNED) ?? 'default';
    const uniqueness = this.keyword(a, 'uniqueness', path, UNIQUENESSES) ?? 'none';

    // RFC 7643 §7: caseExact "specifies whether or not a string value is case sensitive". On other types it would
    // claim a comparison the server never makes; false (the RFC 7643 §2.2 default) says nothing and is let through,
    // as files written from the RFC's own schemas carry it on dateTime and boolean attributes.
    if (caseExact === true && !CASE_TYPES.includes(type)) {
      this.fail([...path, 'caseExact'], `'caseExact' applies only to string, reference and binary attributes, not to ${type}`);
    }

    if (Object.hasOwn(a, 'canonicalValues')) {
      // RFC 7643 §7: "A collection of suggested canonical values" (e.g. "work", "home"): string values only.
      if (type !== 'string') this.fail([...path, 'canonicalValues'], `'canonicalValues' applies only to string attributes, not to ${type}`);
      // Two values equal under the attribute's own comparison are one value.
      this.strings(a, 'canonicalValues', path, (s) => (caseExact === true ? s : s.toLowerCase()));
    }

    // RFC 7643 §7: referenceTypes is "only applicable for attributes that are of type 'reference'", and names what
    // they may point to; without it a reference could not be checked or resolved.
    if (type === 'reference') {
      if (!Object.hasOwn(a, 'referenceTypes')) {
        this.fail([...path, 'referenceTypes'], `a reference attribute needs 'referenceTypes' (RFC 7643 §7: resource type names, 'external' or 'uri')`);
      }
      this.strings(a, 'referenceTypes', path, (s, at) => {
        if (s !== 'external' && s !== 'uri' && !ATTRNAME.test(s)) {
          this.fail(at, `'${s}' is not a reference type: 'external', 'uri' or a resource type name such as 'User' (RFC 7643 §7)`);
        }
        return s.toLowerCase();
      });
    } else if (Object.hasOwn(a, 'referenceTypes')) {
      this.fail([...path, 'referenceTypes'], `'referenceTypes' applies only to reference attributes (RFC 7643 §7), not to ${type}`);
    }

    // RFC 7643 §7, mutability writeOnly: "Attribute values SHALL NOT be returned"; only returned "never" keeps that.
    if (mutability === 'writeOnly' && returned !== 'never') {
      this.fail(
        [...path, Object.hasOwn(a, 'returned') ? 'returned' : 'mutability'],
        `a writeOnly attribute must have 'returned' 'never', not '${returned}' (RFC 7643 §7: writeOnly values "SHALL NOT be returned")`,
      );
    }
    // A client cannot send a readOnly value (RFC 7643 §7: "The attribute SHALL NOT be modified"), so it cannot be
    // required to. Under a readOnly complex attribute the whole value is the server's, and `required` there only
    // says which sub-attributes every element the server writes carries (ProfileUser's sources.section).
    if (required === true && mutability === 'readOnly' && parent?.mutability !== 'readOnly') {
      this.fail([...path, 'required'], `a readOnly attribute cannot be required of clients (its 'mutability' is readOnly)`);
    }
    // Uniqueness is about comparing values; a complex value has no single value to compare (RFC 7643 §7 defines
    // "server" and "global" over "the values"), so it is declared on the sub-attributes, if anywhere.
    if (type === 'complex' && uniqueness !== 'none') {
      this.fail([...path, 'uniqueness'], `'uniqueness' of a complex attribute must be 'none', not '${uniqueness}' (declare it on a sub-attribute)`);
    }

    let subAttributes: AttributeDefinition[] | undefined;
    if (sub && Object.hasOwn(a, 'subAttributes')) {
      this.fail([...path, 'subAttributes'], `sub-attributes may not have sub-attributes (RFC 7643 §2.3.8: complex attributes have one level)`);
    }
    if (type === 'complex') {
      // RFC 7643 §2.3.8: a complex value is "a composition of one or more simple attributes".
      if (!Object.hasOwn(a, 'subAttributes')) this.fail([...path, 'subAttributes'], `a complex attribute needs 'subAttributes' (RFC 7643 §2.3.8)`);
      const list = a.subAttributes;
      if (!Array.isArray(list)) this.fail([...path, 'subAttributes'], `'subAttributes' must be an array of sub-attribute definitions, not ${kind(list)}`);
      if (list.length === 0) this.fail([...path, 'subAttributes'], `'subAttributes' must not be empty (RFC 7643 §2.3.8: "one or more simple attributes")`);
      subAttributes = this.attributes(list, [...path, 'subAttributes'], { mutability });
    } else if (Object.hasOwn(a, 'subAttributes')) {
      this.fail([...path, 'subAttributes'], `'subAttributes' applies only to complex attributes, not to ${type}`);
    }

    // Defaults of RFC 7643 §2.2 ("If a characteristic is not specified, the defaults apply"), made explicit so no
    // consumer has to know them. The file's own members keep their order, so a file that spells out every
    // characteristic comes back unchanged.
    const out: JsonObject = { ...a };
    if (subAttributes) out.subAttributes = subAttributes;
    out.multiValued ??= false;
    out.required ??= false;
    if (CASE_TYPES.includes(type)) out.caseExact ??= false;
    out.mutability = mutability;
    out.returned = returned;
    out.uniqueness = uniqueness;
    return out as unknown as AttributeDefinition;
  }
}

/**
 * Validates one schema file's parsed JSON; returns it typed (with defaults filled: multiValued false, required false,
 * caseExact false for string/reference/binary, mutability 'readWrite', returned 'default', uniqueness 'none') or
 * throws the FIRST problem as SchemaFileError. `reserved.urns` holds the lower-cased URNs of the built-in schemas,
 * which a file may not redefine. The input is not modified.
 */
export function checkSchemaDefinition(value: unknown, file: string, reserved: { urns: ReadonlySet<string> }): SchemaDefinition {
  return new Checker(file).schema(value, reserved.urns);
}
