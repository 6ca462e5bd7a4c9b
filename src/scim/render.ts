/**
 * Turning a stored resource into what a client sees: `meta.location` and `$ref` URIs depend on the base URL the
 * client used (or SCIM_BASE_URL), so they are computed here, at response time, and never stored.
 */
import type { ScimResource } from './resource';
import type { ResourceSchema, AttributeDefinition } from './schema';
import { subAttribute } from './schema';
import { isObject, Json, JsonObject } from './values';

/** Endpoint of each resource type id, e.g. User -> /Users. */
export type Endpoints = (resourceType: string) => string | undefined;

function withRef(def: AttributeDefinition, v: Json, baseUrl: string, endpoints: Endpoints): Json {
  const ref = subAttribute(def, '$ref');
  if (!ref || !isObject(v) || typeof v.value !== 'string') return v;
  const types = (ref.referenceTypes ?? []).filter((t) => endpoints(t) !== undefined);
  // The element's own `type` names the referenced resource type where it can (Group members: "User"/"Group");
  // otherwise the reference type must be unambiguous.
  const own = typeof v.type === 'string' ? types.find((t) => t.toLowerCase() === (v.type as string).toLowerCase()) : undefined;
  const target = own ?? (types.length === 1 ? types[0] : undefined);
  if (!target) return v;
  return { ...v, $ref: `${baseUrl}${endpoints(target)}/${v.value}` };
}

export function render(schema: ResourceSchema, resource: ScimResource, baseUrl: string, endpoints: Endpoints): JsonObject {
  const out: JsonObject = { ...resource };
  const fill = (defs: AttributeDefinition[], holder: JsonObject) => {
    for (const def of defs) {
      const v = holder[def.name];
      if (def.type !== 'complex' || v === undefined || !subAttribute(def, '$ref')) continue;
      holder[def.name] = Array.isArray(v) ? v.map((x) => withRef(def, x, baseUrl, endpoints)) : withRef(def, v, baseUrl, endpoints);
    }
  };
  fill(schema.core.attributes, out);
  for (const { schema: ext } of schema.extensions) {
    if (isObject(out[ext.id])) {
      const inner = { ...(out[ext.id] as JsonObject) };
      fill(ext.attributes, inner);
      out[ext.id] = inner;
    }
  }
  out.meta = { ...resource.meta, location: `${baseUrl}${schema.type.endpoint}/${resource.id}` };
  return out;
}
