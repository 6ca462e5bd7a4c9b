/**
 * The mutability and required rules of a change to a resource, in one place, for every write (RFC 7643 §2.2):
 *
 *  - required: "the attribute is required"; a resource written by POST or PUT must have it (RFC 7644 §3.3, §3.5.1:
 *    400 invalidValue), and a PATCH may not remove it (RFC 7644 §3.5.2: "If an attribute is removed or becomes
 *    unassigned and is defined as a required attribute ..., the server SHALL return ... "mutability"");
 *  - immutable: "The attribute MAY be defined at resource creation (e.g., POST) or at record replacement via a
 *    request (e.g., a PUT). The attribute SHALL NOT be updated." RFC 7644 §3.5.1: "If one or more values are already
 *    set for the attribute, the input value(s) MUST match"; §3.5.2: "a client MAY "add" a value to an "immutable"
 *    attribute if the attribute had no previous value". Values compare as the schema says (caseExact).
 *
 * POST and PUT check the whole resource (checkChange); PATCH checks the attributes each operation wrote as it goes,
 * so the error names the operation (translate.ts), with the same checkAttributeChange. readOnly attributes are the
 * server's and are not the client's change; writeOnly ones never reach the resource.
 */
import { errors } from './errors';
import type { AttributeDefinition, ResourceSchema } from './schema';
import { cloneJson, isObject, isUnassigned, Json, JsonObject } from './values';
import { sameElement, sameValue } from './patch/compare';

/** A top-level attribute and the schema holding it. */
export interface ChangeTarget {
  schema: string;
  extension: boolean;
  attribute: AttributeDefinition;
}

function label(t: ChangeTarget): string {
  return t.extension ? `${t.schema}:${t.attribute.name}` : t.attribute.name;
}

/** The value of a top-level attribute in a resource (undefined when its extension object is absent). */
export function valueOf(resource: JsonObject, t: ChangeTarget): Json | undefined {
  const holder = t.extension ? resource[t.schema] : resource;
  return isObject(holder) ? holder[t.attribute.name] : undefined;
}

/**
 * The rules between one attribute's value before a change and after it. `present` is false when the attribute's
 * extension is absent after the change (its required attributes then do not apply).
 */
export function checkAttributeChange(t: ChangeTarget, before: Json | undefined, after: Json | undefined, present: boolean): void {
  const { attribute } = t;
  const name = label(t);
  if (attribute.required && present && isUnassigned(after)) {
    throw errors.mutability(`'${name}' is required and cannot be removed`);
  }
  if (attribute.mutability === 'immutable' && !isUnassigned(before) && !sameValue(attribute, before!, after)) {
    throw errors.mutability(`'${name}' is immutable: it may be given a value once, not changed`);
  }
  if (!attribute.multiValued && attribute.type === 'complex' && isObject(before)) {
    for (const sub of attribute.subAttributes ?? []) {
      const subWas = before[sub.name];
      const subNow = isObject(after) ? after[sub.name] : undefined;
      if (isUnassigned(subWas) || sameElement(sub, subWas, subNow)) continue;
      if (sub.mutability === 'immutable') {
        throw errors.mutability(`'${name}.${sub.name}' is immutable: it may be given a value once, not changed`);
      }
      if (sub.required && isObject(after) && isUnassigned(subNow)) {
        throw errors.mutability(`'${name}.${sub.name}' is required and cannot be removed`);
      }
    }
  }
}

/**
 * An element of a multi-valued complex attribute changed in place (a PATCH through a value filter): its immutable
 * sub-attributes that had a value may not change. Adding and removing elements is not a change of one (values are
 * identified by value, RFC 7643 §2.4), so whole-resource writes have nothing to check here.
 */
export function checkElementChange(t: ChangeTarget, before: JsonObject, after: JsonObject, where: string): void {
  for (const sub of t.attribute.subAttributes ?? []) {
    if (sub.mutability !== 'immutable' || isUnassigned(before[sub.name])) continue;
    if (!sameElement(sub, before[sub.name], after[sub.name])) {
      throw errors.mutability(`path '${where}' would change '${t.attribute.name}.${sub.name}', which is immutable`);
    }
  }
}

/**
 * Required attributes (RFC 7643 §2.2) on a complete resource as a client wrote it: top-level attributes of the
 * core schema and of present extensions, required sub-attributes of present complex values, required extensions.
 * readOnly attributes are the server's to fill and are not checked.
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
        for (const item of Array.isArray(v) ? v : [v]) {
          if (!isObject(item)) continue;
          for (const sub of def.subAttributes ?? []) {
            if (sub.required && sub.mutability !== 'readOnly' && isUnassigned(item[sub.name])) missing.push(`${prefix}${def.name}.${sub.name}`);
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
 * Every rule of a whole-resource write (POST: no `before`; PUT: the stored resource): required attributes present,
 * then each client-writable attribute checked against its stored value.
 */
export function checkChange(schema: ResourceSchema, before: JsonObject | undefined, after: JsonObject): void {
  checkRequired(schema, after);
  if (!before) return;
  for (const t of schema.allAttributes()) {
    if (t.attribute.mutability === 'readOnly' || t.attribute.mutability === 'writeOnly') continue;
    checkAttributeChange(t, valueOf(before, t), valueOf(after, t), !t.extension || isObject(after[t.schema]));
  }
}

/**
 * PUT's reading of immutable attributes (RFC 7644 §3.5.1): an immutable attribute (or sub-attribute of a singular
 * complex one) the body leaves out keeps its stored value, as the client asserts nothing about it; one it gives,
 * or clears explicitly (`cleared`, canonical labels), is then checked by checkChange like any other.
 */
export function carryImmutable(schema: ResourceSchema, current: JsonObject, next: JsonObject, cleared: readonly string[] = []): void {
  const clearedLower = new Set(cleared.map((c) => c.toLowerCase()));
  for (const t of schema.allAttributes()) {
    const { schema: urn, extension, attribute } = t;
    const curHolder = extension ? current[urn] : current;
    if (!isObject(curHolder)) continue;
    const nextHolder = extension ? ((next[urn] as JsonObject | undefined) ?? {}) : next;
    const cur = curHolder[attribute.name];
    if (clearedLower.has(label(t).toLowerCase())) continue;
    if (attribute.mutability === 'immutable' && cur !== undefined && nextHolder[attribute.name] === undefined) nextHolder[attribute.name] = cur;
    if (attribute.type === 'complex' && !attribute.multiValued && isObject(cur)) {
      for (const sub of attribute.subAttributes ?? []) {
        if (sub.mutability !== 'immutable' || cur[sub.name] === undefined) continue;
        const parent = isObject(nextHolder[attribute.name]) ? (nextHolder[attribute.name] as JsonObject) : (nextHolder[attribute.name] = {});
        if ((parent as JsonObject)[sub.name] === undefined) (parent as JsonObject)[sub.name] = cur[sub.name]!;
      }
    }
    if (extension && Object.keys(nextHolder).length > 0) next[urn] = nextHolder;
  }
}

/**
 * Values stored under names the schemas no longer define (an operator removed an attribute or an extension from
 * SCIM_SCHEMA_DIR) are kept across a PUT: they are never returned, so no client can assert them, and removing
 * them is the operator's decision (`npm run schema -- apply --purge`), not a side effect of the next replace.
 * Re-adding the definition brings them back.
 */
export function carryRetired(schema: ResourceSchema, current: JsonObject, next: JsonObject): void {
  for (const [key, value] of Object.entries(current)) {
    if (key === 'schemas' || key === 'id' || key === 'meta') continue;
    const urn = schema.extensionUrn(key);
    if (urn === undefined) {
      if (!schema.attribute(schema.core.id, key) && next[key] === undefined) next[key] = cloneJson(value);
      continue;
    }
    if (!isObject(value)) continue;
    for (const [name, inner] of Object.entries(value)) {
      if (schema.attribute(urn, name)) continue;
      const holder = isObject(next[urn]) ? (next[urn] as JsonObject) : (next[urn] = {});
      if ((holder as JsonObject)[name] === undefined) (holder as JsonObject)[name] = cloneJson(inner);
    }
  }
}
