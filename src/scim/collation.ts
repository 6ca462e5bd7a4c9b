/**
 * The one string order of the server: by Unicode code point, which is what MongoDB gives (it compares UTF-8 bytes).
 * Filters (gt/ge/lt/le) and sorting use it in memory so both stores agree. JavaScript's `<` compares UTF-16 code
 * units, which puts astral characters before U+E000–U+FFFF; shifting the code units fixes that without allocating.
 */
export function compareStrings(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

function codePointRank(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  if (unit >= 0xe000) return unit - 0x800;
  return unit;
}
