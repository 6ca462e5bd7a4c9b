/**
 * Which attributes a store keeps unique, read from the schemas (RFC 7643 §2.2 "uniqueness"): "server" — "The value
 * SHOULD be unique within the context of the current SCIM endpoint (or tenancy)" — and "global", which a single
 * service can only enforce as "server". `id` is left out: it is the record key, unique by construction.
 *
 * Values are compared on the normalised copy (query-copy.ts), so a caseExact=false attribute such as userName is
 * unique regardless of case.
 */
import type { ResolvedAttribute, ResourceSchema } from '../scim/schema';
import { isObject, Json, JsonObject } from '../scim/values';
import { errors, ScimError } from '../scim/errors';

export interface UniqueAttribute {
  /** Names the attribute in error messages: `userName`, or `<extension URN>:<name>`. */
  label: string;
  resolved: ResolvedAttribute;
  /** The attribute's values in a resource or its normalised copy (one per element when multi-valued). */
  read(resource: JsonObject): Json[];
}

const cache = new WeakMap<ResourceSchema, UniqueAttribute[]>();

export function uniqueAttributes(schema: ResourceSchema): UniqueAttribute[] {
  let found = cache.get(schema);
  if (found) return found;
  found = [];
  for (const { schema: urn, extension, attribute } of schema.allAttributes()) {
    if (attribute.name === 'id') continue;
    if (attribute.uniqueness !== 'server' && attribute.uniqueness !== 'global') continue;
    found.push({
      label: extension ? `${urn}:${attribute.name}` : attribute.name,
      resolved: { schema: urn, extension, attribute },
      read(resource) {
        const holder = extension ? resource[urn] : resource;
        const v = isObject(holder) ? holder[attribute.name] : undefined;
        const values = Array.isArray(v) ? v : [v];
        return values.filter((x): x is Json => x !== undefined && x !== null);
      },
    });
  }
  cache.set(schema, found);
  return found;
}

/**
 * RFC 7644 §3.3: "If the service provider determines that the creation of the requested resource conflicts with
 * existing resources (e.g., a "User" resource with a duplicate "userName"), the service provider MUST return HTTP
 * status code 409 (Conflict) with a "scimType" error code of "uniqueness"" — §3.5.1 says the same of replace.
 */
export function uniquenessError(label: string, value: Json): ScimError {
  const shown = typeof value === 'string' ? `'${value}'` : JSON.stringify(value);
  return errors.uniqueness(`${label} ${shown} is already taken`);
}
