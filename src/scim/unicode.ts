/**
 * Text the server can store. A JSON string may carry an unpaired UTF-16 surrogate (`"x\ud800"`), which no UTF-8
 * store can hold: the MongoDB driver writes it as U+FFFD, so `"x\ud800"` and `"x\ud802"` become the same stored
 * value (a 409 for a userName nobody holds) and the server would echo a value it did not keep. Such strings are
 * refused wherever they come in: request bodies (http/scim-json.ts) and filter literals (filter/parse.ts).
 */
import { errors } from './errors';
import { pointer } from './pointer';

export const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function hasUnpairedSurrogate(s: string): boolean {
  return UNPAIRED_SURROGATE.test(s);
}

/**
 * The JSON pointer (RFC 6901) of the first member name or string value holding an unpaired surrogate, or
 * undefined. Iterative, so a deeply nested body cannot exhaust the stack; linear in the size of the value.
 */
export function findUnpairedSurrogate(value: unknown): string | undefined {
  const stack: { v: unknown; at: (string | number)[] }[] = [{ v: value, at: [] }];
  while (stack.length > 0) {
    const { v, at } = stack.pop()!;
    if (typeof v === 'string') {
      if (hasUnpairedSurrogate(v)) return pointer(at);
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], at: [...at, i] });
    } else if (typeof v === 'object' && v !== null) {
      for (const [k, x] of Object.entries(v)) {
        if (hasUnpairedSurrogate(k)) return `${pointer(at)} (a member name)`;
        stack.push({ v: x, at: [...at, k] });
      }
    }
  }
  return undefined;
}

/** Throws 400 invalidValue naming where a request body holds an unpaired surrogate. */
export function checkWellFormed(body: unknown): void {
  const at = findUnpairedSurrogate(body);
  if (at !== undefined) {
    throw errors.invalidValue(
      `the request body has a string with an unpaired UTF-16 surrogate at '${at || '/'}'; such text cannot be stored`,
    );
  }
}
