/**
 * Checks on the result of PATCH operations, against the schema and against the resource before them.
 *
 * RFC 7644 §3.5.2: "If an attribute is removed or becomes unassigned and is defined as a required attribute or a
 * read-only attribute, the server SHALL return ... a "scimType" error code of "mutability"", and "a client MUST NOT
 * modify an attribute that has mutability "readOnly" or "immutable". However, a client MAY "add" a value to an
 * "immutable" attribute if the attribute had no previous value."
 */
import { errors } from '../errors';
import { AttributeDefinition, ResourceSchema } from '../schema';
import { isObject, isUnassigned, Json, JsonObject, readAttribute } from '../values';
import { jsonEqual, sameElement, sameValue } from './compare';

/** Stored data: readOnly values are kept and checked like the rest. */
const STORED = { dropReadOnly: false };

function valueIn(doc: JsonObject, schemaUrn: string, extension: boolean, def: AttributeDefinition): Json | undefined {
  const holder = extension ? doc[schemaUrn] : doc;
  return isObject(holder) ? holder[def.name] : undefined;
}

/**
 * Compares the resource after one operation with the one before: mutability and required rules for every attribute
 * that changed, and values.ts re-reads it (types, canonical values, one primary). Throws unprefixed ScimErrors.
 */
export function checkOperation(schema: ResourceSchema, before: JsonObject, after: JsonObject): void {
  for (const { schema: urn, extension, attribute } of schema.allAttributes()) {
    const was = valueIn(before, urn, extension, attribute);
    const now = valueIn(after, urn, extension, attribute);
    if (jsonEqual(was, now)) continue;
    const name = extension ? `${urn}:${attribute.name}` : attribute.name;
    if (attribute.mutability === 'readOnly') throw errors.mutability(`'${name}' is readOnly`);
    const present = !extension || isObject(after[urn]);
    if (attribute.required && present && isUnassigned(now)) {
      throw errors.mutability(`'${name}' is required and cannot be removed`);
    }
    if (attribute.mutability === 'immutable' && !isUnassigned(was) && !sameValue(attribute, was, now)) {
      throw errors.mutability(`'${name}' is immutable: it may be given a value once, not changed`);
    }
    if (!attribute.multiValued && attribute.type === 'complex' && isObject(was)) {
      for (const sub of attribute.subAttributes ?? []) {
        const subWas = was[sub.name];
        const subNow = isObject(now) ? now[sub.name] : undefined;
        if (isUnassigned(subWas) || sameElement(sub, subWas, subNow)) continue;
        if (sub.mutability === 'immutable') {
          throw errors.mutability(`'${name}.${sub.name}' is immutable: it may be given a value once, not changed`);
        }
        if (sub.required && isObject(now) && isUnassigned(subNow)) {
          throw errors.mutability(`'${name}.${sub.name}' is required and cannot be removed`);
        }
      }
    }
    if (!isUnassigned(now)) readAttribute(attribute, now, name, STORED);
  }
}

/**
 * Validates a whole resource against the schema: every attribute re-read by values.ts (types, canonical values,
 * sub-attribute names, one primary) and required attributes present. Keys that are no attribute are left alone.
 */
export function validateResource(schema: ResourceSchema, resource: JsonObject): void {
  const schemas = resource.schemas;
  if (!Array.isArray(schemas) || !schemas.every((s) => typeof s === 'string')) {
    throw errors.invalidValue('"schemas" must be an array of URNs');
  }
  for (const [key, value] of Object.entries(resource)) {
    const ext = schema.extension(key);
    if (ext) {
      if (!isObject(value)) throw errors.invalidValue(`'${key}' must be an object`);
      for (const [k, v] of Object.entries(value)) {
        const def = schema.attribute(ext.id, k);
        if (!def) throw errors.invalidValue(`'${ext.id}' has no attribute '${k}'`);
        readAttribute(def, v, `${ext.id}:${def.name}`, STORED);
      }
      continue;
    }
    const def = schema.attribute(schema.core.id, key);
    if (def) readAttribute(def, value, def.name, STORED);
  }
  for (const { schema: urn, extension, attribute } of schema.allAttributes()) {
    if (!attribute.required || (extension && !isObject(resource[urn]))) continue;
    if (isUnassigned(valueIn(resource, urn, extension, attribute))) {
      throw errors.invalidValue(`required attribute '${extension ? `${urn}:` : ''}${attribute.name}' is missing`);
    }
  }
}
