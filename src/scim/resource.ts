/** The stored shape of a resource and the server-managed parts of it (id, meta, version). */
import { randomUUID } from 'node:crypto';
import type { JsonObject } from './values';

export interface Meta {
  resourceType: string;
  created: string;
  lastModified: string;
  version: string;
  location?: string;
}

/**
 * A resource as the service stores it: canonical attribute names (schema spelling), extension attributes under
 * their schema URN, `id` and `meta` set by the server. `meta.location` and reference URIs (`$ref`) are not stored:
 * they depend on the base URL and are added when the resource is rendered.
 */
export type ScimResource = JsonObject & { schemas: string[]; id: string; meta: Meta & JsonObject };

/** What a store keeps for a resource: the resource, its numeric version, and its secrets (hashed password). */
export interface StoredRecord {
  resourceType: string;
  id: string;
  /** Increases by one on every write that changes the resource. */
  version: number;
  resource: ScimResource;
  secrets?: { password?: string };
  /**
   * The resource's view (view.ts): its default representation as serialised text, made by the service; opaque to stores,
   * which keep it with the record and give it back (ResourceStore.getView).
   */
  view?: string;
  /**
   * Set by the store that read it: the resource is (or may be) a member of some group, so its representation has
   * `groups` (computed at read time, never stored). Never written by a store.
   */
  member?: boolean;
}

/**
 * A new resource id: a UUID version 7 (RFC 9562 §5.7), whose first 48 bits are the creation time in milliseconds and
 * whose other 74 bits are random. Ids are opaque to clients either way (RFC 7643 §3.1); made in time order, the
 * records a directory gains and their index entries without a value append to the end of the stores' B-trees
 * instead of landing on a random page each.
 */
export function newId(): string {
  const random = randomUUID();
  const ms = Date.now().toString(16).padStart(12, '0');
  // randomUUID(): xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx, V already the RFC variant; keep its random bits after the
  // version nibble.
  return `${ms.slice(0, 8)}-${ms.slice(8, 12)}-7${random.slice(15)}`;
}

/** The weak entity tag of a version (RFC 7644 §3.14: versions are weak ETags). */
export function etagOf(version: number): string {
  return `W/"${version}"`;
}

/** Parses an If-Match / If-None-Match header into the list of tags it names, or '*' for any. */
export function parseEtagList(header: string): string[] | '*' {
  const trimmed = header.trim();
  if (trimmed === '*') return '*';
  return trimmed
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t.length > 0);
}

/** Compares tags weakly (RFC 9110 §8.8.3.2): W/"3" matches "3" and W/"3". */
export function etagMatches(header: string, version: number): boolean {
  const tags = parseEtagList(header);
  if (tags === '*') return true;
  const opaque = `"${version}"`;
  return tags.some((t) => t.replace(/^W\//, '') === opaque);
}
