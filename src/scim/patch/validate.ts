/**
 * The check on the result of a PATCH, once, after all its operations: the whole resource against the schema. The
 * per-operation rules (required, immutable) are checked on what each operation wrote, in translate.ts.
 */
import { errors } from '../errors';
import { AttributeDefinition, ResourceSchema } from '../schema';
import { isObject, isUnassigned, Json, JsonObject, readAttribute } from '../values';

/** Stored data: readOnly values are kept and checked like the rest. */
const STORED = { dropReadOnly: false };

function valueIn(doc: JsonObject, schemaUrn: string, extension: boolean, def: AttributeDefinition): Json | undefined {
  const holder = extension ? doc[schemaUrn] : doc;
  return isObject(holder) ? holder[def.name] : undefined;
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
