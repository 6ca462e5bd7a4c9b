/**
 * Which attributes the stores index, for both of them: the unique attributes (userName) and the lookup paths
 * clients filter and sort by most (Entra and Okta look users up by userName and externalId; incremental syncs sort
 * by meta.lastModified; the manager cascade looks reports up by manager.value).
 */
import type { ResolvedAttribute, ResourceSchema } from '../scim/schema';
import { SCHEMA_URNS } from '../scim/schema';
import { uniqueAttributes } from './unique';

export const LOOKUP_PATHS = [
  'externalId',
  'meta.lastModified',
  'meta.created',
  'emails.value',
  'displayName',
  'name.familyName',
  `${SCHEMA_URNS.enterpriseUser}:manager.value`,
  `${SCHEMA_URNS.enterpriseUser}:department`,
  `${SCHEMA_URNS.enterpriseUser}:employeeNumber`,
];

/**
 * The unique attributes, then the lookup paths the resource type has (Group has no emails), then the operator's
 * indexed paths (SCIM_SCHEMA_DIR), each once.
 */
export function indexedAttributes(schema: ResourceSchema): ResolvedAttribute[] {
  const out: ResolvedAttribute[] = uniqueAttributes(schema).map((u) => u.resolved);
  const same = (a: ResolvedAttribute, b: ResolvedAttribute) =>
    a.schema === b.schema && a.attribute.name === b.attribute.name && a.sub?.name === b.sub?.name;
  for (const path of [...LOOKUP_PATHS, ...schema.indexed]) {
    const resolved = schema.resolve(path);
    if (resolved && !out.some((r) => same(r, resolved))) out.push(resolved);
  }
  return out;
}
