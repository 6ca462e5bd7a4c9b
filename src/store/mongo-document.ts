/**
 * How a resource is laid out in a MongoDB document:
 *   { _id: id, v: version, res: resource, q: queryCopy(resource), secrets?: { password } }
 * Keys are encoded because MongoDB field paths cannot address keys containing '.' (the enterprise URN has
 * "2.0") or starting with '$' ($ref): '.' becomes U+FF0E and a leading '$' becomes U+FF04.
 */
import type { ResolvedAttribute } from '../scim/schema';

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
