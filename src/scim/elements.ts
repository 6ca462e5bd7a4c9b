/**
 * When two values of a multi-valued attribute are "the same value", and an index that answers it in constant time.
 *
 * RFC 7644 §3.5.2.1: "If the target location already contains the value specified, no changes SHOULD be made to
 * the resource". RFC 7643 §2.4 gives multi-valued attributes a `value` and a `type` ("work", "home"); the server
 * reads them as the element's identity:
 * - a simple multi-valued attribute: values equal after normalisation (caseExact, dateTime instants);
 * - a complex one with a `value` sub-attribute (emails, phoneNumbers, members, …): equal `value`, and equal `type`
 *   when both have one. `{value: "a@x.t", type: "work", primary: true}` given to a user that has
 *   `{value: "a@x.t", type: "work"}` is that element made primary, not a second element;
 * - a complex one without `value` (addresses): one contains the other, `primary` aside (every sub-attribute the
 *   one assigns has the same value in the other), compared within elements of the same `type`.
 *
 * Lookups are hashed on the normalised `value` (or `type`), so adding n values to a list of m costs O(n + m), not
 * O(n·m): pairwise, one request adding thousands of values would take seconds of CPU.
 */
import { AttributeDefinition, subAttribute } from './schema';
import { normaliseSimple } from './query-copy';
import { isObject, isUnassigned, Json, JsonObject } from './values';
import type { Filter } from './filter/ast';
import { containsComplex, sameElement } from './patch/compare';

/** Reads the elements of one multi-valued attribute the way this module compares them. */
export class ElementRules {
  private readonly valueSub: AttributeDefinition | undefined;
  private readonly typeSub: AttributeDefinition | undefined;

  constructor(readonly def: AttributeDefinition) {
    this.valueSub = def.type === 'complex' ? subAttribute(def, 'value') : undefined;
    this.typeSub = def.type === 'complex' ? subAttribute(def, 'type') : undefined;
  }

  /** The hash bucket of an element: elements in different buckets are never the same value. */
  bucket(e: Json): string {
    if (this.def.type !== 'complex') return typeof e === 'string' ? `s${String(normaliseSimple(this.def, e))}` : JSON.stringify(e);
    if (!isObject(e)) return '';
    const sub = this.valueSub ?? this.typeSub;
    if (!sub) return '';
    const v = e[sub.name];
    if (v === undefined || v === null) return '';
    return typeof v === 'string' ? `s${String(normaliseSimple(sub, v))}` : JSON.stringify(v);
  }

  /**
   * The bucket of every element a value filter can match, when the filter requires an equality on the sub-attribute
   * buckets are made of (`emails[value eq "a@x.t"]`, `addresses[type eq "work" and …]`); undefined otherwise.
   */
  bucketOfFilter(filter: Filter): string | undefined {
    const sub = this.valueSub ?? this.typeSub;
    if (!sub) return undefined;
    const find = (f: Filter): string | undefined => {
      if (f.op === 'and') return find(f.left) ?? find(f.right);
      if (f.op === 'eq' && typeof f.value === 'string' && f.path.resolved.sub?.name === sub.name) {
        return `s${String(normaliseSimple(sub, f.value))}`;
      }
      return undefined;
    };
    return find(filter);
  }

  /**
   * `item`, which names `existing`, merged into it: the item's sub-attributes win, but the identity (value and
   * type) keeps the spelling already there, so a re-sent "A@X.T" does not rewrite "a@x.t".
   */
  merge(existing: JsonObject, item: JsonObject): JsonObject {
    const out: JsonObject = { ...existing, ...item };
    for (const sub of [this.valueSub, this.typeSub]) {
      if (sub && existing[sub.name] !== undefined) out[sub.name] = existing[sub.name]!;
    }
    return out;
  }

  /**
   * `item` names the element `existing`: the same value (complex with `value`: equal value, and equal type when both
   * have one; without `value`: one contains the other, primary aside).
   */
  same(existing: Json, item: Json): boolean {
    if (this.def.type !== 'complex') return sameElement(this.def, existing, item);
    if (!isObject(existing) || !isObject(item)) return false;
    if (this.valueSub) {
      const name = this.valueSub.name;
      if (!sameElement(this.valueSub, existing[name], item[name])) return false;
      const t = this.typeSub?.name;
      if (!t || isUnassigned(existing[t]) || isUnassigned(item[t])) return true;
      return sameElement(this.typeSub!, existing[t], item[t]);
    }
    return containsComplex(this.def, existing, item, 'primary') || containsComplex(this.def, item, existing, 'primary');
  }
}

/** The elements of one list by bucket, kept up to date as elements are appended. */
export class ElementIndex {
  private readonly buckets = new Map<string, number[]>();

  constructor(
    readonly rules: ElementRules,
    list: readonly Json[],
  ) {
    list.forEach((e, i) => this.add(e, i));
  }

  add(e: Json, index: number): void {
    const key = this.rules.bucket(e);
    const at = this.buckets.get(key);
    if (at) at.push(index);
    else this.buckets.set(key, [index]);
  }

  /** Indexes of the elements in one bucket. */
  candidates(bucket: string): readonly number[] {
    return this.buckets.get(bucket) ?? [];
  }

  /** The first element of `list` that `item` names, or -1. */
  find(list: readonly Json[], item: Json): number {
    const candidates = this.buckets.get(this.rules.bucket(item));
    if (!candidates) return -1;
    for (const i of candidates) if (this.rules.same(list[i]!, item)) return i;
    return -1;
  }
}

/**
 * Collapses the values a client gave for one multi-valued attribute so that no two are the same value: a later
 * duplicate's sub-attributes are merged into the first (`[{value:a}, {value:a, primary:true}]` is one primary
 * value). Order is kept. Linear.
 */
export function dedupeElements(def: AttributeDefinition, items: Json[]): Json[] {
  if (items.length < 2) return items;
  const rules = new ElementRules(def);
  const out: Json[] = [];
  const index = new ElementIndex(rules, out);
  for (const item of items) {
    const at = index.find(out, item);
    if (at < 0) {
      index.add(item, out.length);
      out.push(item);
    } else if (isObject(out[at]) && isObject(item)) {
      out[at] = rules.merge(out[at] as JsonObject, item);
    }
  }
  return out;
}
