/**
 * How a resource is laid out in a MongoDB document:
 *   { _id: id, v: version, res: resource, q: queryCopy(resource), secrets?: { password } }
 * Keys are encoded because MongoDB field paths cannot address keys containing '.' (the enterprise URN has
 * "2.0") or starting with '$' ($ref): '.' becomes U+FF0E and a leading '$' becomes U+FF04.
 */
import type { ResolvedAttribute, ResourceSchema } from '../../scim/schema';
import type { ScimResource, StoredRecord } from '../../scim/resource';
import { queryCopy } from '../../scim/query-copy';
import { isObject, Json, JsonObject } from '../../scim/values';
import type { MemberChange } from '../store';

export function encodeKey(key: string): string {
  return key.replace(/\./g, '\uFF0E').replace(/^\$/, '\uFF04');
}

export function decodeKey(key: string): string {
  return key.replace(/\uFF0E/g, '.').replace(/^\uFF04/, '$');
}

/** Dotted path into the normalised copy `q` for a resolved attribute. */
export function fieldPath(resolved: ResolvedAttribute, root = 'q'): string {
  const parts = [root];
  if (resolved.extension) parts.push(encodeKey(resolved.schema));
  parts.push(encodeKey(resolved.attribute.name));
  if (resolved.sub) parts.push(encodeKey(resolved.sub.name));
  return parts.join('.');
}

/** A stored resource as MongoDB holds it. */
export interface ResourceDocument {
  _id: string;
  v: number;
  /** The resource, keys encoded. */
  res: JsonObject;
  /** queryCopy(schema, resource), keys encoded: what filters, sorts and unique indexes read. */
  q: JsonObject;
  secrets?: { password?: string };
  /** StoredRecord.view: the resource's view, read alone by a GET (records.ts getView). */
  view?: string;
  /** The rest of a write that spans documents, still to be made (intents.ts). */
  pend?: Pending;
  /** Set once the resource was made a member of some group (members.ts). */
  gm?: true;
  /**
   * The audit entry of the write that made this version, kept until the next write (audit.ts); a list when that write
   * stored several queued changes at once, one entry per version.
   */
  aud?: JsonObject | JsonObject[];
}

/** What a document's `pend` holds: the rest of a write that spans documents (intents.ts). */
export interface Pending {
  members?: MemberChange;
  delete?: true;
  /** When the intent was written (ms since the epoch), and by which store instance. */
  at: number;
  by: string;
}

/** One collection per resource type, named after its endpoint: `/Users` -> `users`. */
export function collectionName(schema: ResourceSchema): string {
  return schema.type.endpoint.replace(/^\/+/, '').toLowerCase() || schema.type.id.toLowerCase();
}

function mapKeys(value: Json, map: (key: string) => string): Json {
  if (Array.isArray(value)) return value.map((v) => mapKeys(v, map));
  if (isObject(value)) {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value)) out[map(k)] = mapKeys(v, map);
    return out;
  }
  return value;
}

export function encodeKeys(value: JsonObject): JsonObject {
  return mapKeys(value, encodeKey) as JsonObject;
}

export function decodeKeys(value: JsonObject): JsonObject {
  return mapKeys(value, decodeKey) as JsonObject;
}

export function toDocument(schema: ResourceSchema, record: StoredRecord): ResourceDocument {
  const doc: ResourceDocument = {
    _id: record.id,
    v: record.version,
    res: encodeKeys(record.resource),
    q: encodeKeys(queryCopy(schema, record.resource)),
  };
  if (record.secrets) doc.secrets = { ...record.secrets };
  if (record.view !== undefined) doc.view = record.view;
  return doc;
}

export function fromDocument(schema: ResourceSchema, doc: Pick<ResourceDocument, '_id' | 'v' | 'res' | 'secrets' | 'gm'>): StoredRecord {
  const record: StoredRecord = {
    resourceType: schema.type.id,
    id: doc._id,
    version: doc.v,
    resource: decodeKeys(doc.res) as ScimResource,
  };
  if (doc.secrets) record.secrets = { ...doc.secrets };
  if (doc.gm) record.member = true;
  return record;
}
