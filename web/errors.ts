/**
 * Which field a server error is about. SCIM errors carry no structured pointer (RFC 7644 §3.12: status, scimType,
 * detail), but this server's details name the attribute in quotes, with the index and sub-attribute
 * (`operation 2: 'emails[0].type' must be one of …`), or by name (`userName 'ann' is already taken`), and say which
 * of a PATCH's operations failed. Matched against the fields of the section being saved; what matches none is
 * shown for the section as a whole. Either way the server's own words are what the person reads.
 */
import type { FieldPath } from './fields';

/** Parses `emails[0].type`, `name.givenName`, `urn:…:User:manager.value`. */
export function parsePath(text: string): FieldPath {
  let rest = text;
  let urn = '';
  if (rest.startsWith('urn:')) {
    // The attribute follows the extension URN's last colon.
    const i = rest.lastIndexOf(':');
    urn = rest.slice(0, i + 1);
    rest = rest.slice(i + 1);
  }
  const m = /^([^.[\]]+)(?:\[(\d+)\])?(?:\.([^.[\]]+))?/.exec(rest);
  if (!m) return { key: text };
  return { key: urn + m[1], index: m[2] === undefined ? undefined : Number(m[2]), sub: m[3] };
}

/**
 * The field of `keys` a detail names, else the one the failing operation (1-based, as the server counts) was for;
 * undefined when neither says.
 */
export function fieldOfError(detail: string, keys: readonly string[], operationKeys: readonly string[]): FieldPath | undefined {
  const known = (key: string) => keys.find((k) => k.toLowerCase() === key.toLowerCase());
  for (const quoted of detail.matchAll(/'([^']+)'/g)) {
    const path = parsePath(quoted[1]!);
    const key = known(path.key);
    if (key) return { ...path, key };
  }
  // An attribute named without quotes: the longest key found as a word (`userName 'x' is already taken`).
  const words = new Set(detail.split(/[^\w:.$-]+/).map((w) => w.toLowerCase()));
  const named = [...keys].sort((a, b) => b.length - a.length).find((k) => words.has(k.toLowerCase()));
  if (named) return { key: named };
  const op = /^operation (\d+):/.exec(detail);
  const opKey = op ? operationKeys[Number(op[1]) - 1] : undefined;
  return opKey ? parsePath(opKey) : undefined;
}
