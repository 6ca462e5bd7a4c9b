/** RFC 6901 JSON Pointer of the given reference tokens. */
export function pointer(segments: readonly (string | number)[]): string {
  let out = '';
  for (const s of segments) {
    const token = String(s);
    // Escaping is rare (attribute names never need it; URNs and keys rarely): skip the regexes when not needed.
    out += '/' + (token.includes('~') || token.includes('/') ? token.replace(/~/g, '~0').replace(/\//g, '~1') : token);
  }
  return out;
}
