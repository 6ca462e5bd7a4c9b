/**
 * Whether an exported resource is one the current schema accepts as stored data: what an import refuses rather than
 * store, with the reason. The same tests the server's start applies to data it holds (schema-state.ts conforms, and
 * the required attributes of change.ts), plus what only a file can get wrong: an id or type that disagree with the
 * line, a version that is not the one meta holds, an attribute the schemas do not define.
 */
import { checkRequired } from '../scim/change';
import { readAttribute, isObject, isUnassigned, type JsonObject } from '../scim/values';
import type { AttributeDefinition, ResourceSchema } from '../scim/schema';
import type { ResourceLine } from './format';

function errorText(e: unknown): string {
  if (e && typeof e === 'object' && 'detail' in e && typeof (e as { detail: unknown }).detail === 'string') return (e as { detail: string }).detail;
  return e instanceof Error ? e.message : String(e);
}

/** The values of `holder` against `defs`; `prefix` names an extension's attributes. */
function checkAttributes(defs: readonly AttributeDefinition[], holder: JsonObject, prefix: string, skip: ReadonlySet<string>): string | undefined {
  const byName = new Map(defs.map((d) => [d.name.toLowerCase(), d]));
  for (const [key, value] of Object.entries(holder)) {
    if (skip.has(key) || (prefix === '' && key.startsWith('urn:'))) continue;
    const def = byName.get(key.toLowerCase());
    if (!def) return `attribute '${prefix}${key}' is not defined by the schema`;
    if (isUnassigned(value)) continue;
    if (def.multiValued !== Array.isArray(value)) return `attribute '${prefix}${key}' is ${def.multiValued ? 'multi-valued' : 'single-valued'} in the schema`;
    try {
      readAttribute(def, value, `${prefix}${key}`, { dropReadOnly: false });
    } catch (e) {
      return errorText(e);
    }
  }
  return undefined;
}

/** Why the schema refuses the resource of `line`, or undefined when it accepts it. */
export function refusal(schema: ResourceSchema, line: ResourceLine): string | undefined {
  const r = line.resource;
  if (r.id !== line.id) return `resource.id ${JSON.stringify(r.id)} is not the line's id ${JSON.stringify(line.id)}`;
  const meta = r.meta;
  if (!isObject(meta)) return 'resource.meta is missing';
  if (meta.resourceType !== undefined && meta.resourceType !== schema.type.id) return `meta.resourceType ${JSON.stringify(meta.resourceType)} is not ${schema.type.id}`;
  if (meta.version !== undefined && meta.version !== `W/"${line.version}"`) return `meta.version ${JSON.stringify(meta.version)} is not version ${line.version}`;
  if (!Array.isArray(r.schemas) || !r.schemas.includes(schema.core.id)) return `schemas does not name ${schema.core.id}`;
  const extensions = new Set(schema.extensions.map((e) => e.schema.id));
  const core = checkAttributes([...schema.core.attributes, ...schema.common.attributes], r, '', new Set(['schemas', ...extensions]));
  if (core) return core;
  for (const { schema: ext } of schema.extensions) {
    const holder = r[ext.id];
    if (holder === undefined) continue;
    if (!isObject(holder)) return `'${ext.id}' is not an object`;
    const problem = checkAttributes(ext.attributes, holder, `${ext.id}:`, new Set());
    if (problem) return problem;
  }
  for (const key of Object.keys(r)) {
    if (key.startsWith('urn:') && !extensions.has(key)) return `schema extension '${key}' is not one of ${schema.type.id}'s`;
  }
  try {
    checkRequired(schema, r);
  } catch (e) {
    return errorText(e);
  }
  return undefined;
}
