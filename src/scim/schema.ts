/**
 * Attribute definitions, read from the RFC 7643 §8.7 representations in `schemas/`.
 *
 * Nothing else in the code restates an attribute rule: validation, PATCH path resolution, filtering, projection and
 * discovery all ask a `ResourceSchema` built from these files.
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { readOperatorSchemas, type OperatorSchemas } from './operator';

export type AttributeType = 'string' | 'boolean' | 'decimal' | 'integer' | 'dateTime' | 'reference' | 'complex' | 'binary';
export type Mutability = 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly';
export type Returned = 'always' | 'never' | 'default' | 'request';
export type Uniqueness = 'none' | 'server' | 'global';

export interface AttributeDefinition {
  name: string;
  type: AttributeType;
  multiValued: boolean;
  description?: string;
  required: boolean;
  caseExact?: boolean;
  mutability: Mutability;
  returned: Returned;
  uniqueness?: Uniqueness;
  canonicalValues?: string[];
  referenceTypes?: string[];
  subAttributes?: AttributeDefinition[];
}

export interface SchemaDefinition {
  schemas?: string[];
  id: string;
  name: string;
  description?: string;
  attributes: AttributeDefinition[];
  meta?: { resourceType: string; location: string };
}

export interface ResourceTypeDefinition {
  schemas: string[];
  id: string;
  name: string;
  endpoint: string;
  description?: string;
  schema: string;
  schemaExtensions?: { schema: string; required: boolean }[];
  meta?: { resourceType: string; location: string };
}

export const SCHEMA_URNS = {
  user: 'urn:ietf:params:scim:schemas:core:2.0:User',
  enterpriseUser: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
  group: 'urn:ietf:params:scim:schemas:core:2.0:Group',
  listResponse: 'urn:ietf:params:scim:api:messages:2.0:ListResponse',
  patchOp: 'urn:ietf:params:scim:api:messages:2.0:PatchOp',
  searchRequest: 'urn:ietf:params:scim:api:messages:2.0:SearchRequest',
  bulkRequest: 'urn:ietf:params:scim:api:messages:2.0:BulkRequest',
  bulkResponse: 'urn:ietf:params:scim:api:messages:2.0:BulkResponse',
  serviceProviderConfig: 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig',
  resourceType: 'urn:ietf:params:scim:schemas:core:2.0:ResourceType',
  schema: 'urn:ietf:params:scim:schemas:core:2.0:Schema',
} as const;

const COMMON_FILE = 'Common.json';
/** The sections of a profile (sections.ts), beside the schemas but not one. */
export const SECTIONS_FILE = 'sections.json';

/** Case-insensitive lookup of a sub-attribute (RFC 7643 §2.1: attribute names are case insensitive). */
export function subAttribute(parent: AttributeDefinition, name: string): AttributeDefinition | undefined {
  const lower = name.toLowerCase();
  return parent.subAttributes?.find((a) => a.name.toLowerCase() === lower);
}

/** True when string comparisons on this attribute ignore case (RFC 7643 §2.2 caseExact, default false). */
export function isCaseInsensitive(def: AttributeDefinition): boolean {
  return (def.type === 'string' || def.type === 'reference' || def.type === 'binary') && def.caseExact !== true;
}

/**
 * An attribute path resolved against a resource type: the schema it belongs to, the top-level attribute, and the
 * sub-attribute if the path named one.
 */
export interface ResolvedAttribute {
  /** URN of the schema holding the attribute; common attributes report the core schema. */
  schema: string;
  /** True when the attribute is stored under its extension URN key. */
  extension: boolean;
  attribute: AttributeDefinition;
  sub?: AttributeDefinition;
}

/** What a resource type does beyond its definitions: the operator's indexes, and writes naming what it lacks. */
export interface ResourceSchemaOptions {
  /** Extension attribute paths the operator had indexed (URN-qualified), after the built-in lookup paths. */
  indexed?: readonly string[];
  /**
   * A write naming an attribute or schema URN the schemas lack: `reject` (400 naming it, the default) or `ignore`
   * (dropped; `onIgnored` hears of each, for logs and metrics).
   */
  unknownAttributes?: 'reject' | 'ignore';
}

/** The rules of one resource type: its core schema, its extensions and the common attributes. */
export class ResourceSchema {
  readonly type: ResourceTypeDefinition;
  /** The operator's indexed paths (see ResourceSchemaOptions). */
  readonly indexed: readonly string[];
  /** True when writes drop what the schemas lack instead of refusing it (SCIM_UNKNOWN_ATTRIBUTES=ignore). */
  readonly ignoresUnknown: boolean;
  /** Told of every attribute or schema URN a write named and `ignoresUnknown` dropped: the URN (or '') and the name. */
  onIgnored: (schema: string, attribute: string) => void = () => undefined;
  readonly core: SchemaDefinition;
  readonly extensions: readonly { schema: SchemaDefinition; required: boolean }[];
  readonly common: SchemaDefinition;
  private readonly coreIndex: Map<string, AttributeDefinition>;
  private readonly extIndex: Map<string, { schema: SchemaDefinition; index: Map<string, AttributeDefinition> }>;

  constructor(
    type: ResourceTypeDefinition,
    core: SchemaDefinition,
    extensions: { schema: SchemaDefinition; required: boolean }[],
    common: SchemaDefinition,
    options: ResourceSchemaOptions = {},
  ) {
    this.type = type;
    this.indexed = options.indexed ?? [];
    this.ignoresUnknown = options.unknownAttributes === 'ignore';
    this.core = core;
    this.extensions = extensions;
    this.common = common;
    this.coreIndex = new Map([...common.attributes, ...core.attributes].map((a) => [a.name.toLowerCase(), a]));
    this.extIndex = new Map(
      extensions.map((e) => [
        e.schema.id.toLowerCase(),
        { schema: e.schema, index: new Map(e.schema.attributes.map((a) => [a.name.toLowerCase(), a])) },
      ]),
    );
  }

  /** Every schema URN this resource type may list in `schemas`. */
  get schemaUrns(): string[] {
    return [this.core.id, ...this.extensions.map((e) => e.schema.id)];
  }

  /** Top-level attributes of the core schema together with the common ones (id, externalId, meta). */
  get coreAttributes(): AttributeDefinition[] {
    return [...this.coreIndex.values()];
  }

  /** The canonical spelling of a known extension URN, or undefined. */
  extensionUrn(urn: string): string | undefined {
    return this.extIndex.get(urn.toLowerCase())?.schema.id;
  }

  extension(urn: string): SchemaDefinition | undefined {
    return this.extIndex.get(urn.toLowerCase())?.schema;
  }

  /** A top-level attribute of the given schema (the core schema also holds the common attributes). */
  attribute(schemaUrn: string, name: string): AttributeDefinition | undefined {
    const lower = name.toLowerCase();
    if (schemaUrn.toLowerCase() === this.core.id.toLowerCase()) return this.coreIndex.get(lower);
    return this.extIndex.get(schemaUrn.toLowerCase())?.index.get(lower);
  }

  /**
   * Splits a URN-qualified name into its schema URN and the rest (RFC 7644 §3.10: "the attribute name is
   * prefixed by the schema URI followed by ':'"). Returns undefined when no known schema URN prefixes it.
   */
  splitUrn(name: string): { schema: string; rest: string } | undefined {
    const lower = name.toLowerCase();
    for (const urn of this.schemaUrns) {
      const u = urn.toLowerCase();
      if (lower.startsWith(u + ':')) return { schema: urn, rest: name.slice(urn.length + 1) };
    }
    return undefined;
  }

  /**
   * Resolves an attribute path without filters, the one way every consumer does (PATCH paths, filters, sortBy,
   * attributes/excludedAttributes, POST/PUT body keys):
   *  - URN-qualified: `urn:…:core:2.0:User:userName`, `urn:…:enterprise:2.0:User:manager.value`;
   *  - unqualified core or common attribute: `userName`, `name.givenName`, `meta.lastModified`;
   *  - unqualified extension attribute, when no core attribute has the name and exactly one extension defines it:
   *    `manager`, `department`. RFC 7644 §3.10 has clients qualify extension attributes ("the attribute name is
   *    prefixed by the schema URI"), but only as a SHOULD for PATCH, and older Entra ID tenants send
   *    `{"op": "Replace", "path": "manager", …}`; a name two extensions define stays unresolved (see unresolved()).
   * Returns undefined for an attribute no schema defines (or an ambiguous one).
   */
  resolve(path: string): ResolvedAttribute | undefined {
    const split = this.splitUrn(path);
    if (split) return this.resolveIn(split.schema, split.rest);
    const core = this.resolveIn(this.core.id, path);
    if (core) return core;
    const hits = this.definedBy(path);
    return hits.length === 1 ? this.resolveIn(hits[0]!, path) : undefined;
  }

  /**
   * Why `path` does not resolve, for error messages: an unknown attribute or sub-attribute, or an unqualified name
   * that several extensions define (the message names them, so the client can qualify it).
   */
  unresolved(path: string): string {
    const split = this.splitUrn(path);
    const rest = split ? split.rest : path;
    const dot = rest.indexOf('.');
    const name = dot < 0 ? rest : rest.slice(0, dot);
    const ambiguous = this.ambiguous(path);
    if (ambiguous) return `'${path}' is ambiguous: ${ambiguous.map((h) => `${h}:${name}`).join(' and ')} both exist; qualify it with its schema URN`;
    const top = split ? this.attribute(split.schema, name) : this.resolve(name)?.attribute;
    if (top && dot >= 0) return `attribute '${top.name}' has no sub-attribute '${rest.slice(dot + 1)}'`;
    return `no attribute '${name}' in ${split ? split.schema : this.type.name}`;
  }

  /** The extensions defining an unqualified name that no core attribute has, when more than one does. */
  ambiguous(path: string): string[] | undefined {
    if (this.splitUrn(path)) return undefined;
    const dot = path.indexOf('.');
    if (this.attribute(this.core.id, dot < 0 ? path : path.slice(0, dot))) return undefined;
    const hits = this.definedBy(path);
    return hits.length > 1 ? hits : undefined;
  }

  /** The extensions that define the top-level name of an unqualified path. */
  private definedBy(path: string): string[] {
    const dot = path.indexOf('.');
    const name = dot < 0 ? path : path.slice(0, dot);
    return this.extensions.filter((e) => this.attribute(e.schema.id, name)).map((e) => e.schema.id);
  }

  private resolveIn(schema: string, rest: string): ResolvedAttribute | undefined {
    const dot = rest.indexOf('.');
    const name = dot < 0 ? rest : rest.slice(0, dot);
    const subName = dot < 0 ? undefined : rest.slice(dot + 1);
    const attribute = this.attribute(schema, name);
    if (!attribute) return undefined;
    const extension = schema !== this.core.id;
    if (subName === undefined) return { schema, extension, attribute };
    const sub = subAttribute(attribute, subName);
    if (!sub) return undefined;
    return { schema, extension, attribute, sub };
  }

  /** Every (top-level) attribute together with the schema that holds it; used by walkers such as projection. */
  *allAttributes(): Generator<{ schema: string; extension: boolean; attribute: AttributeDefinition }> {
    for (const attribute of this.coreIndex.values()) yield { schema: this.core.id, extension: false, attribute };
    for (const { schema } of this.extIndex.values()) {
      for (const attribute of schema.attributes) yield { schema: schema.id, extension: true, attribute };
    }
  }
}

/** Finds the folder holding package.json, so `schemas/` is found from src/ (tests) and dist/src/ (built) alike. */
export function packageRoot(from: string): string {
  let dir = from;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${from}`);
    dir = parent;
  }
  return dir;
}

export const SCHEMAS_DIR = join(packageRoot(__dirname), 'schemas');

function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

export interface RegistryOptions {
  /** The operator's schemas (SCIM_SCHEMA_DIR, read by operator.ts): extensions added to the built-in types. */
  operator?: OperatorSchemas;
  unknownAttributes?: 'reject' | 'ignore';
}

/** All schemas and resource types the server knows, loaded once at boot. */
export class SchemaRegistry {
  private readonly schemaMap = new Map<string, SchemaDefinition>();
  private readonly typeMap = new Map<string, ResourceTypeDefinition>();
  private readonly resourceSchemas = new Map<string, ResourceSchema>();
  readonly common: SchemaDefinition;
  /** The operator's schemas, when SCIM_SCHEMA_DIR named some. */
  readonly operator?: OperatorSchemas;

  constructor(schemas: SchemaDefinition[], resourceTypes: ResourceTypeDefinition[], common: SchemaDefinition, options: RegistryOptions = {}) {
    this.common = common;
    this.operator = options.operator;
    const operatorExtensions = options.operator?.extensions ?? [];
    for (const s of [...schemas, ...operatorExtensions.map((e) => e.schema)]) this.schemaMap.set(s.id.toLowerCase(), s);
    for (const builtIn of resourceTypes) {
      // The operator's extensions join the type's schemaExtensions, as /ResourceTypes shows them (RFC 7643 §6).
      const added = operatorExtensions.filter((e) => e.resourceType.toLowerCase() === builtIn.id.toLowerCase());
      const t: ResourceTypeDefinition =
        added.length === 0
          ? builtIn
          : { ...builtIn, schemaExtensions: [...(builtIn.schemaExtensions ?? []), ...added.map((e) => ({ schema: e.schema.id, required: e.required }))] };
      this.typeMap.set(t.id.toLowerCase(), t);
      const core = this.schemaMap.get(t.schema.toLowerCase());
      if (!core) throw new Error(`resource type ${t.id}: unknown schema ${t.schema}`);
      const extensions = (t.schemaExtensions ?? []).map((e) => {
        const schema = this.schemaMap.get(e.schema.toLowerCase());
        if (!schema) throw new Error(`resource type ${t.id}: unknown extension ${e.schema}`);
        return { schema, required: e.required };
      });
      const indexed = added.flatMap((e) => e.indexed.map((p) => `${e.schema.id}:${p}`));
      this.resourceSchemas.set(t.id.toLowerCase(), new ResourceSchema(t, core, extensions, common, { indexed, unknownAttributes: options.unknownAttributes }));
    }
  }

  /**
   * The built-in schemas of `dir` and, with `operatorDir`, the operator's (checked by operator.ts, which throws a
   * SchemaFileError naming the file, the JSON pointer and the rule).
   */
  static load(options: { dir?: string; operatorDir?: string; unknownAttributes?: 'reject' | 'ignore' } = {}): SchemaRegistry {
    const builtIn = SchemaRegistry.fromDirectory(options.dir);
    if (!options.operatorDir && !options.unknownAttributes) return builtIn;
    const sectionsFile = readJson<{ resourceType: string; sections: { name: string }[] }>(join(options.dir ?? SCHEMAS_DIR, SECTIONS_FILE));
    const operator = options.operatorDir
      ? readOperatorSchemas(options.operatorDir, {
          urns: new Set([...builtIn.schemas().map((s) => s.id), ...Object.values(SCHEMA_URNS)].map((u) => u.toLowerCase())),
          resourceTypes: builtIn.resourceTypes().map((t) => t.id),
          sectioned: { resourceType: sectionsFile.resourceType, names: sectionsFile.sections.map((s) => s.name) },
        })
      : undefined;
    return SchemaRegistry.fromDirectory(options.dir, { operator, unknownAttributes: options.unknownAttributes });
  }

  static fromDirectory(dir: string = SCHEMAS_DIR, options: RegistryOptions = {}): SchemaRegistry {
    const schemas = readdirSync(dir)
      .filter((f) => f.endsWith('.json') && f !== COMMON_FILE && f !== SECTIONS_FILE)
      .sort()
      .map((f) => readJson<SchemaDefinition>(join(dir, f)));
    const typesDir = join(dir, 'resource-types');
    const types = readdirSync(typesDir)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => readJson<ResourceTypeDefinition>(join(typesDir, f)));
    return new SchemaRegistry(schemas, types, readJson<SchemaDefinition>(join(dir, COMMON_FILE)), options);
  }

  /** The schemas served by /Schemas. */
  schemas(): SchemaDefinition[] {
    return [...this.schemaMap.values()];
  }

  schema(urn: string): SchemaDefinition | undefined {
    return this.schemaMap.get(urn.toLowerCase());
  }

  resourceTypes(): ResourceTypeDefinition[] {
    return [...this.typeMap.values()];
  }

  resourceType(id: string): ResourceTypeDefinition | undefined {
    return this.typeMap.get(id.toLowerCase());
  }

  resourceSchema(typeId: string): ResourceSchema {
    const rs = this.resourceSchemas.get(typeId.toLowerCase());
    if (!rs) throw new Error(`unknown resource type ${typeId}`);
    return rs;
  }
}
