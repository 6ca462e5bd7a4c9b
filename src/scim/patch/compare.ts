/**
 * Comparing attribute values the way the schema says: caseExact=false strings ignore case, dateTimes compare as
 * instants (RFC 7643 §2.2, §2.3.5). Used to find "the value specified" that an add must not duplicate and a remove
 * with a value list must delete (RFC 7644 §3.5.2.1-2), and to tell an echoed readOnly value from a change.
 */
import { AttributeDefinition, isCaseInsensitive, subAttribute } from '../schema';
import { isObject, isUnassigned } from '../values';
import { foldCase } from '../query-copy';

export { jsonEqual } from '../equal';

function sameSimple(def: AttributeDefinition, a: unknown, b: unknown): boolean {
  if (typeof a === 'string' && typeof b === 'string') {
    if (def.type === 'dateTime') {
      const ta = Date.parse(a);
      const tb = Date.parse(b);
      if (!Number.isNaN(ta) && !Number.isNaN(tb)) return ta === tb;
    }
    if (isCaseInsensitive(def)) return foldCase(a) === foldCase(b);
  }
  return a === b;
}

/**
 * Every sub-attribute the `part` assigns (but `except`, when given) has the same value in `whole` (a complex value
 * "contains" another).
 */
export function containsComplex(def: AttributeDefinition, whole: unknown, part: unknown, except?: string): boolean {
  if (!isObject(whole) || !isObject(part)) return false;
  return Object.entries(part).every(([k, v]) => {
    if (isUnassigned(v)) return true;
    const sub = subAttribute(def, k);
    if (sub !== undefined && sub.name === except) return true;
    return sub !== undefined && sameSimple(sub, whole[sub.name], v);
  });
}

/** One value (an element, for a multi-valued attribute) equals another. */
export function sameElement(def: AttributeDefinition, a: unknown, b: unknown): boolean {
  if (def.type !== 'complex') return sameSimple(def, a, b);
  return containsComplex(def, a, b) && containsComplex(def, b, a);
}

/** Two whole attribute values are equal; unassigned equals unassigned; multi-valued ignore order. */
export function sameValue(def: AttributeDefinition, a: unknown, b: unknown): boolean {
  if (isUnassigned(a) || isUnassigned(b)) return isUnassigned(a) && isUnassigned(b);
  if (!def.multiValued) return sameElement(def, a, b);
  const as = Array.isArray(a) ? a : [a];
  const bs = Array.isArray(b) ? [...(b as unknown[])] : [b];
  if (as.length !== bs.length) return false;
  for (const x of as) {
    const i = bs.findIndex((y) => sameElement(def, x, y));
    if (i < 0) return false;
    bs.splice(i, 1);
  }
  return true;
}
