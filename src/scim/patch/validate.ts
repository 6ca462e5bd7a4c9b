/**
 * The check on the result of a PATCH, once, after all its operations: the whole resource against the schema. The
 * per-operation rules (required, immutable) are checked on what each operation wrote, in translate.ts, with the
 * rules of change.ts, which also holds the required check made here.
 */
import { errors } from '../errors';
import { checkRequired } from '../change';
import { ResourceSchema } from '../schema';
import { isObject, JsonObject, readAttribute } from '../values';

/** Stored data: readOnly values are kept and checked like the rest. */
const STORED = { dropReadOnly: false };

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
        // A value under a name the schema no longer defines (an operator removed it) is kept, never validated.
        if (!def) continue;
        readAttribute(def, v, `${ext.id}:${def.name}`, STORED);
      }
      continue;
    }
    const def = schema.attribute(schema.core.id, key);
    if (def) readAttribute(def, value, def.name, STORED);
  }
  // Required attributes, by the rule every write shares (change.ts).
  checkRequired(schema, resource);
}
