/**
 * The operator's own schemas (SCIM_SCHEMA_DIR): one RFC 7643 §7 schema representation per file, and
 * `extensions.json`, which says per extension which resource type it extends (as ResourceType.schemaExtensions
 * does), which profile section each of its top-level attributes belongs to, and which of its attributes the stores
 * index. Read once at start and checked whole: the first problem stops the server with the file, the JSON pointer
 * (RFC 6901) and the rule, so that a directory never runs on half of its schema. Changing it needs a restart.
 *
 * Everything else about an attribute is already general: once these definitions are in the registry, validation,
 * PATCH paths, filters, projection, discovery, sections and the page read them like the built-in ones.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { checkSchemaDefinition, SchemaFileError } from './schema-check';
import type { AttributeDefinition, SchemaDefinition } from './schema';
import type { SectionDefinition } from './sections';

export const EXTENSIONS_FILE = 'extensions.json';

export interface OperatorExtension {
  schema: SchemaDefinition;
  /** The file the schema came from (for messages). */
  file: string;
  /** The id of the resource type it extends (User or Group). */
  resourceType: string;
  /** As ResourceType.schemaExtensions' `required`: a resource must carry the extension. */
  required: boolean;
  /** Section name -> the extension's top-level attribute names (as the schema spells them). */
  sections: Record<string, string[]>;
  /** Attribute paths the stores index (`hireDate`, `workLocation.site`), as the schema spells them. */
  indexed: string[];
}

export interface OperatorSchemas {
  dir: string;
  extensions: OperatorExtension[];
  /** Sections defined by the operator (their attributes come from the extensions' `sections`). */
  sections: SectionDefinition[];
}

/** What the built-in schemas already hold, which the operator's may not redefine. */
export interface BuiltIn {
  /** Lower-cased URNs of every built-in schema and message. */
  urns: ReadonlySet<string>;
  /** Resource type ids. */
  resourceTypes: readonly string[];
  /** The resource type that has profile sections (User), and its sections' names. */
  sectioned: { resourceType: string; names: readonly string[] };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const SECTION_NAME = /^[A-Za-z][A-Za-z0-9]*$/;
const ROLE_NAME = /^[A-Za-z][A-Za-z0-9_.:-]*$/;

function readJson(file: string, label: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new SchemaFileError(label, '', `cannot be read: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text.replace(/^\uFEFF/, '')) as unknown;
  } catch (e) {
    throw new SchemaFileError(label, '', `is not JSON: ${(e as Error).message}`);
  }
}

/** RFC 6901: `~` and `/` inside a member name are escaped. */
function token(name: string): string {
  return name.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** Reads and checks the operator's schema directory; throws SchemaFileError naming the first problem. */
export function readOperatorSchemas(dir: string, builtIn: BuiltIn): OperatorSchemas {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
    names = readdirSync(dir);
  } catch (e) {
    throw new SchemaFileError(dir, '', `SCIM_SCHEMA_DIR must be a directory of schema files: ${(e as Error).message}`);
  }
  if (!names.includes(EXTENSIONS_FILE)) {
    throw new SchemaFileError(join(dir, EXTENSIONS_FILE), '', 'is missing: it says which resource type each schema extends and which section holds each attribute');
  }
  // The schema files, in name order (a stable order for /Schemas and for messages).
  const schemas = new Map<string, { schema: SchemaDefinition; file: string }>();
  for (const name of names.filter((n) => n.endsWith('.json') && n !== EXTENSIONS_FILE).sort()) {
    const file = join(dir, name);
    const schema = checkSchemaDefinition(readJson(file, file), file, { urns: builtIn.urns });
    // RFC 7643 §7 referenceTypes: "the SCIM resource types that may be referenced": this server's, or external/uri.
    schema.attributes.forEach((a, i) => {
      const check = (def: AttributeDefinition, at: string) =>
        (def.referenceTypes ?? []).forEach((r, j) => {
          if (r === 'external' || r === 'uri' || builtIn.resourceTypes.some((t) => t === r)) return;
          throw new SchemaFileError(file, `${at}/referenceTypes/${j}`, `'${r}' is no resource type of this server (${builtIn.resourceTypes.join(', ')}), nor 'external' or 'uri'`);
        });
      check(a, `/attributes/${i}`);
      (a.subAttributes ?? []).forEach((sub, k) => check(sub, `/attributes/${i}/subAttributes/${k}`));
    });
    const earlier = schemas.get(schema.id.toLowerCase());
    if (earlier) throw new SchemaFileError(file, '/id', `schema '${schema.id}' is also defined by ${earlier.file}`);
    schemas.set(schema.id.toLowerCase(), { schema, file });
  }
  const extFile = join(dir, EXTENSIONS_FILE);
  const fail = (pointer: string, rule: string): never => {
    throw new SchemaFileError(extFile, pointer, rule);
  };
  const doc = readJson(extFile, extFile);
  if (!isObject(doc)) fail('', 'must be an object with "extensions" (and optionally "sections")');
  const top = doc as Record<string, unknown>;
  for (const k of Object.keys(top)) if (!['description', 'extensions', 'sections'].includes(k)) fail(`/${token(k)}`, `unknown member '${k}' (expected description, extensions, sections)`);
  if (top.description !== undefined && typeof top.description !== 'string') fail('/description', 'must be a string');
  if (!Array.isArray(top.extensions)) fail('/extensions', 'must be a list of {schema, resourceType, required, sections, indexed}');

  // Sections the operator defines.
  const defined: SectionDefinition[] = [];
  if (top.sections !== undefined) {
    if (!Array.isArray(top.sections)) fail('/sections', 'must be a list of {name, description, writers, readers}');
    (top.sections as unknown[]).forEach((s, i) => {
      const at = `/sections/${i}`;
      if (!isObject(s)) return fail(at, 'must be an object {name, description, writers, readers}');
      for (const k of Object.keys(s)) if (!['name', 'description', 'writers', 'readers'].includes(k)) fail(`${at}/${token(k)}`, `unknown member '${k}' (expected name, description, writers, readers)`);
      if (typeof s.name !== 'string' || !SECTION_NAME.test(s.name)) return fail(`${at}/name`, 'must be a plain name (a letter, then letters and digits)');
      // Names are matched exactly (SCIM_AUTHORITIES, SCIM_ME_SECTIONS), so two differing only in case would be a trap.
      const name = s.name;
      const same = (other: string) => other.toLowerCase() === name.toLowerCase();
      const builtInName = builtIn.sectioned.names.find(same);
      if (builtInName === name) fail(`${at}/name`, `section '${name}' is built in; list attributes under it in an extension's "sections" instead of redefining it`);
      if (builtInName !== undefined) fail(`${at}/name`, `section '${name}' differs from the built-in section '${builtInName}' only in case`);
      const earlier = defined.findIndex((d) => same(d.name));
      if (earlier >= 0) {
        fail(`${at}/name`, defined[earlier]!.name === name ? `section '${name}' is defined twice (also at /sections/${earlier})` : `section '${name}' differs from '${defined[earlier]!.name}' (at /sections/${earlier}) only in case`);
      }
      if (s.description !== undefined && typeof s.description !== 'string') fail(`${at}/description`, 'must be a string');
      const section: SectionDefinition = { name: s.name, attributes: [] };
      if (typeof s.description === 'string') section.description = s.description;
      for (const k of ['writers', 'readers'] as const) {
        const v = s[k];
        if (v === undefined) continue;
        if (!Array.isArray(v) || v.length === 0 || !v.every((r) => typeof r === 'string' && ROLE_NAME.test(r))) fail(`${at}/${k}`, 'must be a non-empty list of role names');
        section[k] = v as string[];
      }
      defined.push(section);
    });
  }
  const sectionNames = new Set([...builtIn.sectioned.names, ...defined.map((s) => s.name)]);

  const extensions: OperatorExtension[] = [];
  const claimed = new Map<string, string>();
  (top.extensions as unknown[]).forEach((e, i) => {
    const at = `/extensions/${i}`;
    if (!isObject(e)) return fail(at, 'must be an object {schema, resourceType, required, sections, indexed}');
    for (const k of Object.keys(e)) {
      if (!['schema', 'resourceType', 'required', 'sections', 'indexed'].includes(k)) fail(`${at}/${token(k)}`, `unknown member '${k}' (expected schema, resourceType, required, sections, indexed)`);
    }
    if (typeof e.schema !== 'string') return fail(`${at}/schema`, 'must be the URN of a schema in this directory');
    const found = schemas.get(e.schema.toLowerCase());
    if (!found) return fail(`${at}/schema`, `no schema file in ${dir} has the id '${e.schema}'`);
    if (claimed.has(found.schema.id)) fail(`${at}/schema`, `'${found.schema.id}' is already listed at ${claimed.get(found.schema.id)}; a schema extends one resource type`);
    claimed.set(found.schema.id, at);
    const type = builtIn.resourceTypes.find((t) => typeof e.resourceType === 'string' && t.toLowerCase() === e.resourceType.toLowerCase());
    if (!type) {
      const given = typeof e.resourceType === 'string' ? `, not '${e.resourceType}'` : '';
      return fail(`${at}/resourceType`, `must name a resource type: ${builtIn.resourceTypes.join(' or ')}${given}`);
    }
    if (e.required !== undefined && typeof e.required !== 'boolean') fail(`${at}/required`, 'must be true or false');
    const byName = new Map(found.schema.attributes.map((a) => [a.name.toLowerCase(), a]));
    const sectioned = type === builtIn.sectioned.resourceType;

    // Sections: every writable top-level attribute in exactly one, as schemas/sections.json has it for the built-ins.
    const sections: Record<string, string[]> = {};
    if (e.sections !== undefined && !isObject(e.sections)) fail(`${at}/sections`, 'must map section names to lists of attribute names');
    if (!sectioned && e.sections !== undefined) fail(`${at}/sections`, `${type} has no profile sections; only ${builtIn.sectioned.resourceType} extensions list them`);
    const placed = new Map<string, string>();
    for (const [section, list] of Object.entries((e.sections ?? {}) as Record<string, unknown>)) {
      const sat = `${at}/sections/${token(section)}`;
      if (!sectionNames.has(section)) fail(sat, `no section is named '${section}' (sections: ${[...sectionNames].join(', ')}); define it under "sections"`);
      if (!Array.isArray(list) || !list.every((a) => typeof a === 'string')) return fail(sat, 'must be a list of attribute names');
      sections[section] = [];
      list.forEach((name, j) => {
        const attribute = byName.get(name.toLowerCase());
        if (!attribute) return fail(`${sat}/${j}`, `'${name}' is not a top-level attribute of ${found.schema.id}`);
        if (attribute.mutability === 'readOnly') fail(`${sat}/${j}`, `'${attribute.name}' is readOnly; only what a client can write belongs to a section`);
        const earlier = placed.get(attribute.name);
        if (earlier === section) fail(`${sat}/${j}`, `'${attribute.name}' is listed twice in section ${section}`);
        if (earlier !== undefined) fail(`${sat}/${j}`, `'${attribute.name}' is in both section ${earlier} and section ${section}`);
        placed.set(attribute.name, section);
        sections[section]!.push(attribute.name);
      });
    }
    if (sectioned) {
      found.schema.attributes.forEach((a, j) => {
        if (a.mutability !== 'readOnly' && !placed.has(a.name)) {
          fail(`${at}/sections`, `'${a.name}' (${found.file} at /attributes/${j}) is writable but in no section; every writable attribute of ${type} belongs to one`);
        }
      });
    }

    // Indexed paths: a simple attribute, or a sub-attribute of a complex one.
    const indexed: string[] = [];
    if (e.indexed !== undefined && !Array.isArray(e.indexed)) fail(`${at}/indexed`, 'must be a list of attribute paths, e.g. ["hireDate", "workLocation.site"]');
    ((e.indexed ?? []) as unknown[]).forEach((p, j) => {
      const iat = `${at}/indexed/${j}`;
      if (typeof p !== 'string') return fail(iat, 'must be an attribute path');
      const [name = '', subName, ...more] = p.split('.');
      if (more.length > 0) return fail(iat, `'${p}' has more than one dot: index an attribute ('hireDate') or a sub-attribute of a complex one ('workLocation.site')`);
      const attribute = byName.get(name.toLowerCase());
      if (!attribute) return fail(iat, `'${name}' is not a top-level attribute of ${found.schema.id}`);
      let def: AttributeDefinition = attribute;
      let path = attribute.name;
      if (subName !== undefined) {
        if (attribute.type !== 'complex') return fail(iat, `'${attribute.name}' is ${attribute.type}, not complex: it has no sub-attribute '${subName}'`);
        const sub = attribute.subAttributes?.find((s) => s.name.toLowerCase() === subName.toLowerCase());
        if (!sub) return fail(iat, `'${attribute.name}' has no sub-attribute '${subName}'`);
        def = sub;
        path = `${attribute.name}.${sub.name}`;
      }
      if (def.type === 'complex') fail(iat, `'${path}' is complex: index one of its sub-attributes, e.g. '${path}.${attribute.subAttributes?.[0]?.name ?? 'value'}'`);
      if (def.returned === 'never' || attribute.returned === 'never') fail(iat, `'${path}' is never returned, so no filter or sort may name it; it cannot be indexed`);
      if (indexed.includes(path)) fail(iat, `'${path}' is listed twice`);
      indexed.push(path);
    });
    extensions.push({ schema: found.schema, file: found.file, resourceType: type, required: e.required === true, sections, indexed });
  });
  for (const { schema, file } of schemas.values()) {
    if (!claimed.has(schema.id)) throw new SchemaFileError(file, '/id', `'${schema.id}' extends no resource type: list it in ${EXTENSIONS_FILE}`);
  }
  defined.forEach((section, i) => {
    if (!extensions.some((e) => e.sections[section.name]?.length)) fail(`/sections/${i}`, `section '${section.name}' holds no attribute; list attributes under it in an extension's "sections", or remove it`);
  });
  return { dir, extensions, sections: defined };
}
