/**
 * The indexes of a resource type's collection, all over the normalised copy `q` (keys encoded by fieldPath, the
 * same way the filter compiler addresses them).
 *
 * Unique attributes get a UNIQUE index: with userName lower-cased in `q`, that makes userName unique regardless of
 * case, atomically, across any number of server instances and concurrent creates — the database decides, never a
 * read-then-write. The indexes are sparse so that resources without an optional unique attribute do not collide
 * on "missing" (FerretDB does not implement partialFilterExpression; sparse works on both).
 *
 * Lookup indexes cover the attributes clients filter and sort by most (Entra and Okta look users up by userName
 * and externalId; incremental syncs sort by meta.lastModified). Each ends with `_id`, the tiebreak of every sort.
 */
import type { IndexDescription } from 'mongodb';
import type { ResourceSchema } from '../../scim/schema';
import { fieldPath } from './document';
import { uniqueAttributes, UniqueAttribute } from '../unique';
import { LOOKUP_PATHS } from '../indexed';

export interface UniqueIndex {
  name: string;
  /** Field path in the document. */
  path: string;
  attribute: UniqueAttribute;
}

export interface IndexPlan {
  unique: UniqueIndex[];
  all: IndexDescription[];
}

export function indexPlan(schema: ResourceSchema): IndexPlan {
  const unique = uniqueAttributes(schema).map((attribute) => ({
    name: `unique:${attribute.label}`,
    path: fieldPath(attribute.resolved),
    attribute,
  }));
  const all: IndexDescription[] = unique.map((u) => ({ key: { [u.path]: 1 }, name: u.name, unique: true, sparse: true }));
  // Sorting is by (attribute, _id); the unique index alone cannot give that order, so sortBy=userName would read
  // every user. A companion index can.
  for (const u of unique) all.push({ key: { [u.path]: 1, _id: 1 }, name: `by:${u.attribute.label}` });
  for (const path of [...LOOKUP_PATHS, ...schema.indexed]) {
    const resolved = schema.resolve(path);
    if (!resolved) continue; // the resource type has no such attribute (Group has no emails)
    const field = fieldPath(resolved);
    if (unique.some((u) => u.path === field)) continue;
    all.push({ key: { [field]: 1, _id: 1 }, name: `by:${path}` });
  }
  // The audit outbox (mongo-audit.ts): documents holding entries not yet copied, found by their age.
  all.push({ key: { 'aud.at': 1 }, name: 'audit:outbox', sparse: true });
  return { unique, all };
}
