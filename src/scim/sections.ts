/**
 * The sections of a user profile: photo, identity, job info, settings, contact, account. SCIM's
 * mutability says what can ever change; sections are the unit of who may change it (a caller's grant, a source of
 * authority's ownership). Defined once in schemas/sections.json and checked against the schemas when the server
 * starts: every listed path is a writable top-level attribute of the resource type, none is in two sections, and
 * every writable top-level attribute is in one, so that no write can change an attribute that belongs to no section.
 * Pure: reads the schemas, knows no caller.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ResolvedAttribute, ResourceSchema, SchemaRegistry } from './schema';
import { SCHEMAS_DIR, SECTIONS_FILE } from './schema';
import { attributeKey, differences } from './diff';
import { cloneJson, isObject, type Json, type JsonObject } from './values';

export interface SectionDefinition {
  name: string;
  description?: string;
  /** Top-level attribute names; extension attributes URN-qualified. */
  attributes: string[];
  /** The roles that alone may change the section (authentication contact info: a global administrator). */
  writers?: string[];
  /** The roles that alone may read the section's values; every caller may when absent. */
  readers?: string[];
}

export interface SectionsFile {
  description?: string;
  resourceType: string;
  sections: SectionDefinition[];
}


export class Sections {
  readonly names: readonly string[];
  /** The top-level attribute keys of the sections whose values only some roles may read. */
  readonly restrictedAttributes: readonly string[];
  private readonly byAttribute = new Map<string, string>();

  constructor(
    readonly schema: ResourceSchema,
    readonly definitions: readonly SectionDefinition[],
  ) {
    const problems: string[] = [];
    const names = new Set<string>();
    for (const section of definitions) {
      if (!/^[A-Za-z][A-Za-z0-9]*$/.test(section.name)) problems.push(`section name ${JSON.stringify(section.name)} is not a plain name`);
      if (names.has(section.name)) problems.push(`section ${section.name} is defined twice`);
      names.add(section.name);
      for (const path of section.attributes) {
        const r = schema.resolve(path);
        if (!r || r.sub) {
          problems.push(`section ${section.name}: ${JSON.stringify(path)} is not a top-level attribute of ${schema.type.name}`);
          continue;
        }
        if (r.attribute.mutability === 'readOnly') {
          problems.push(`section ${section.name}: '${attributeKey(r)}' is readOnly; only what a client can write belongs to a section`);
          continue;
        }
        const key = attributeKey(r);
        const earlier = this.byAttribute.get(key);
        if (earlier !== undefined) problems.push(`'${key}' is in both section ${earlier} and section ${section.name}`);
        else this.byAttribute.set(key, section.name);
      }
    }
    for (const r of schema.allAttributes()) {
      if (r.attribute.mutability === 'readOnly') continue;
      if (!this.byAttribute.has(attributeKey(r))) problems.push(`'${attributeKey(r)}' of ${schema.type.name} is writable but in no section`);
    }
    if (problems.length > 0) throw new Error(`${SECTIONS_FILE}: ${problems.join('; ')}`);
    this.names = definitions.map((s) => s.name);
    this.restrictedAttributes = definitions.flatMap((s) => (s.readers ? s.attributes.map((a) => attributeKey(schema.resolve(a)!)) : []));
  }

  /** Reads and checks schemas/sections.json against the registry's resource type; throws, naming every problem. */
  static fromDirectory(registry: SchemaRegistry, dir: string = SCHEMAS_DIR): Sections {
    const file = JSON.parse(readFileSync(join(dir, SECTIONS_FILE), 'utf8')) as SectionsFile;
    if (!isObject(file as unknown as Json) || typeof file.resourceType !== 'string' || !Array.isArray(file.sections)) {
      throw new Error(`${SECTIONS_FILE}: expected {"resourceType": "...", "sections": [{"name", "attributes": [...]}]}`);
    }
    const strings = (v: unknown) => Array.isArray(v) && v.every((a) => typeof a === 'string');
    for (const s of file.sections) {
      if (!isObject(s as unknown as Json) || typeof s.name !== 'string' || !strings(s.attributes)) {
        throw new Error(`${SECTIONS_FILE}: every section needs a "name" and a list of "attributes" (strings)`);
      }
      for (const k of ['writers', 'readers'] as const) {
        if (s[k] !== undefined && (!strings(s[k]) || s[k].length === 0)) throw new Error(`${SECTIONS_FILE}: section ${s.name}: "${k}" must be a non-empty list of role names`);
      }
    }
    // The operator's extensions (SCIM_SCHEMA_DIR) place their attributes in built-in sections or in sections of
    // their own; operator.ts has checked both, so a problem found here is the built-in file's.
    const sections = file.sections.map((s) => ({ ...s, attributes: [...s.attributes] }));
    const operator = registry.operator;
    if (operator) {
      sections.push(...operator.sections.map((s) => ({ ...s, attributes: [] as string[] })));
      for (const ext of operator.extensions) {
        if (ext.resourceType.toLowerCase() !== file.resourceType.toLowerCase()) continue;
        for (const [name, attributes] of Object.entries(ext.sections)) {
          sections.find((s) => s.name === name)!.attributes.push(...attributes.map((a) => `${ext.schema.id}:${a}`));
        }
      }
    }
    return new Sections(registry.resourceSchema(file.resourceType), sections);
  }

  /** A section's definition by name. */
  section(name: string): SectionDefinition | undefined {
    return this.definitions.find((s) => s.name === name);
  }


  /** The section of an attribute key as sectionOf gives it (`title`, `urn:…:User:manager`). */
  sectionOfKey(key: string): string | undefined {
    return this.byAttribute.get(key);
  }

  /** The section of a top-level attribute (of a sub-attribute: its parent's); undefined for readOnly attributes. */
  sectionOf(r: Pick<ResolvedAttribute, 'schema' | 'extension' | 'attribute'>): string | undefined {
    return this.byAttribute.get(attributeKey(r));
  }

  /**
   * Puts back into `target` the values `from` has for every attribute of a section `keep` refuses (or removes them
   * when `from` has none): how a full replace leaves alone the sections its caller may not write.
   */
  restore(target: JsonObject, from: JsonObject, keep: (section: string) => boolean): void {
    for (const r of this.schema.allAttributes()) {
      const section = this.byAttribute.get(attributeKey(r));
      if (section === undefined || keep(section)) continue;
      const source = r.extension ? from[r.schema] : from;
      const value = isObject(source) ? source[r.attribute.name] : undefined;
      if (r.extension) {
        const holder = isObject(target[r.schema]) ? (target[r.schema] as JsonObject) : {};
        if (value === undefined) delete holder[r.attribute.name];
        else holder[r.attribute.name] = cloneJson(value);
        if (Object.keys(holder).length > 0) target[r.schema] = holder;
        else delete target[r.schema];
      } else if (value === undefined) delete target[r.attribute.name];
      else target[r.attribute.name] = cloneJson(value);
    }
  }

  /**
   * What a write changes, per section: the top-level attributes whose values differ between `before` (undefined
   * for a create) and `after`, grouped by their section. readOnly attributes (id, meta, groups) are not compared;
   * with `only`, neither are the sections it refuses.
   */
  changes(before: JsonObject | undefined, after: JsonObject, only?: (section: string) => boolean): Map<string, string[]> {
    const out = new Map<string, string[]>();
    const inScope = (key: string) => {
      const section = this.byAttribute.get(key);
      return section !== undefined && (!only || only(section));
    };
    for (const { key } of differences(this.schema, before, after, inScope)) {
      const section = this.byAttribute.get(key)!;
      out.set(section, [...(out.get(section) ?? []), key]);
    }
    return out;
  }
}
