/**
 * The in-memory interpretation of a filter (used by the embedded store, by PATCH value paths, and to post-filter
 * MongoDB results when compileFilter could only give a superset).
 *
 * It must agree exactly with ../../store/mongo/filter.ts on every resource; the semantics both implement are
 * described in ast.ts. In particular comparisons are type-aware like MongoDB's type bracketing: a string operand
 * only ever matches string values, a number only numbers, a boolean only booleans.
 */
import { compareStrings } from '../collation';
import type { AttributeDefinition, ResolvedAttribute } from '../schema';
import { normaliseSimple } from '../query-copy';
import { isObject, Json, JsonObject } from '../values';
import type { CompareOperator, Filter, FilterValue } from './ast';

/** Own property lookup; falls back to a case-insensitive match (attribute names are case-insensitive). */
function getKey(obj: JsonObject, name: string): Json | undefined {
  if (Object.prototype.hasOwnProperty.call(obj, name)) return obj[name];
  const lower = name.toLowerCase();
  for (const key of Object.keys(obj)) if (key.toLowerCase() === lower) return obj[key];
  return undefined;
}

/** Flattens one level of arrays (multi-valued attributes) and drops null/undefined. */
function pushValues(out: Json[], v: Json | undefined): void {
  if (v === undefined || v === null) return;
  if (Array.isArray(v)) {
    for (const x of v) if (x !== null && x !== undefined) out.push(x);
  } else {
    out.push(v);
  }
}

/** The top-level attribute value of a resource (extension attributes live under their schema URN). */
function attributeValue(resource: JsonObject, resolved: ResolvedAttribute): Json | undefined {
  let holder: Json | undefined = resource;
  if (resolved.extension) holder = getKey(resource, resolved.schema);
  if (!isObject(holder)) return undefined;
  return getKey(holder, resolved.attribute.name);
}

/** Every value the path reaches in the resource: through every element of a multi-valued complex attribute. */
function valuesOf(resource: JsonObject, resolved: ResolvedAttribute): Json[] {
  const top: Json[] = [];
  pushValues(top, attributeValue(resource, resolved));
  if (!resolved.sub) return top;
  const out: Json[] = [];
  for (const element of top) if (isObject(element)) pushValues(out, getKey(element, resolved.sub.name));
  return out;
}

/** The values of the sub-attribute the path names, in one element of a multi-valued complex attribute. */
function valuesOnElement(element: JsonObject, resolved: ResolvedAttribute): Json[] {
  const out: Json[] = [];
  if (resolved.sub) pushValues(out, getKey(element, resolved.sub.name));
  return out;
}

/**
 * RFC 7644 §3.4.2.2 pr: "If the attribute has a non-empty value, or if it contains a non-empty node for complex
 * attributes, there is a match." Type-aware so MongoDB can test the same thing: a string-like value must be a
 * non-empty string, a boolean a boolean, a number a number, a complex value must have a present sub-attribute.
 */
function isPresent(def: AttributeDefinition, v: Json): boolean {
  switch (def.type) {
    case 'string':
    case 'reference':
    case 'binary':
    case 'dateTime':
      return typeof v === 'string' && v.length > 0;
    case 'boolean':
      return typeof v === 'boolean';
    case 'integer':
    case 'decimal':
      return typeof v === 'number';
    case 'complex': {
      if (!isObject(v)) return false;
      for (const sub of def.subAttributes ?? []) {
        // Never-returned sub-attributes are not in the query copy either: they do not count.
        if (sub.returned === 'never') continue;
        const values: Json[] = [];
        pushValues(values, getKey(v, sub.name));
        if (values.some((x) => isPresent(sub, x))) return true;
      }
      return false;
    }
  }
}


function ordered(op: 'gt' | 'ge' | 'lt' | 'le', c: number): boolean {
  switch (op) {
    case 'gt':
      return c > 0;
    case 'ge':
      return c >= 0;
    case 'lt':
      return c < 0;
    case 'le':
      return c <= 0;
  }
}

/** One value against the operand, both normalised as the query copy is (case folded, dateTimes as UTC). */
function compareOne(op: Exclude<CompareOperator, 'ne'>, def: AttributeDefinition, raw: Json, operand: FilterValue): boolean {
  const v = normaliseSimple(def, raw);
  const w = normaliseSimple(def, operand);
  switch (op) {
    case 'eq':
      return v === w;
    case 'co':
      return typeof v === 'string' && typeof w === 'string' && v.includes(w);
    case 'sw':
      return typeof v === 'string' && typeof w === 'string' && v.startsWith(w);
    case 'ew':
      return typeof v === 'string' && typeof w === 'string' && v.endsWith(w);
    case 'gt':
    case 'ge':
    case 'lt':
    case 'le':
      if (typeof v === 'string' && typeof w === 'string') return ordered(op, compareStrings(v, w));
      if (typeof v === 'number' && typeof w === 'number') return ordered(op, v - w);
      return false;
  }
}

/**
 * An or-chain, flattened: equalities with a string operand on the same path become one set, so `emails.value eq
 * "a" or emails.value eq "b" or …` reads the values once and looks each up, instead of comparing every value with
 * every operand (200 operands against 1,000 emails was 200,000 comparisons per resource). Same meaning as the
 * chain: a string value equals an operand exactly when its normalised form is in the set of normalised operands.
 */
interface OrPlan {
  sets: { resolved: ResolvedAttribute; def: AttributeDefinition; operands: Set<Json> }[];
  rest: Filter[];
}

const orPlans = new WeakMap<Filter, OrPlan>();

function orPlan(filter: Filter): OrPlan {
  let plan = orPlans.get(filter);
  if (plan) return plan;
  const branches: Filter[] = [];
  const pending: Filter[] = [filter];
  while (pending.length > 0) {
    const f = pending.pop()!;
    if (f.op === 'or') pending.push(f.right, f.left);
    else branches.push(f);
  }
  const groups = new Map<string, { resolved: ResolvedAttribute; def: AttributeDefinition; filters: Filter[] }>();
  const rest: Filter[] = [];
  for (const f of branches) {
    if (f.op !== 'eq' || typeof f.value !== 'string') {
      rest.push(f);
      continue;
    }
    const { resolved } = f.path;
    const key = `${resolved.schema}\0${resolved.attribute.name}\0${resolved.sub?.name ?? ''}`;
    const group = groups.get(key) ?? { resolved, def: resolved.sub ?? resolved.attribute, filters: [] };
    group.filters.push(f);
    groups.set(key, group);
  }
  plan = { sets: [], rest };
  for (const g of groups.values()) {
    if (g.filters.length < 2) {
      rest.push(...g.filters);
      continue;
    }
    const operands = new Set<Json>(g.filters.map((f) => normaliseSimple(g.def, (f as { value: string }).value)));
    plan.sets.push({ resolved: g.resolved, def: g.def, operands });
  }
  orPlans.set(filter, plan);
  return plan;
}

function matches(filter: Filter, values: (resolved: ResolvedAttribute) => Json[], element?: JsonObject): boolean {
  switch (filter.op) {
    case 'and':
      return matches(filter.left, values, element) && matches(filter.right, values, element);
    case 'or': {
      const plan = orPlan(filter);
      for (const { resolved, def, operands } of plan.sets) {
        if (values(resolved).some((v) => typeof v === 'string' && operands.has(normaliseSimple(def, v)))) return true;
      }
      return plan.rest.some((f) => matches(f, values, element));
    }
    case 'not':
      return !matches(filter.filter, values, element);
    case 'valuePath': {
      // Value filters only exist at the top level; inside an element there is nothing to descend into.
      if (element) return false;
      const elements = values({ ...filter.path.resolved, sub: undefined });
      return elements.some((e) => isObject(e) && evaluateOnElement(filter.filter, e));
    }
    case 'pr': {
      const def = filter.path.resolved.sub ?? filter.path.resolved.attribute;
      return values(filter.path.resolved).some((v) => isPresent(def, v));
    }
    case 'idIn': {
      const ids = filter.ids;
      return values(filter.path.resolved).some((v) => typeof v === 'string' && ids.has(v));
    }
    default: {
      const def = filter.path.resolved.sub ?? filter.path.resolved.attribute;
      const found = values(filter.path.resolved);
      const { op, value } = filter;
      if (value === null) {
        // `eq null`: not present; `ne null`: present (other operators with null are rejected by the parser).
        const present = found.some((v) => isPresent(def, v));
        return op === 'ne' ? present : op === 'eq' ? !present : false;
      }
      // ne is the negation of eq: "no value equals", so an absent attribute matches.
      if (op === 'ne') return !found.some((v) => compareOne('eq', def, v, value));
      return found.some((v) => compareOne(op, def, v, value));
    }
  }
}

/** True when the resource matches the filter, comparing as each attribute's schema says. */
export function evaluateFilter(filter: Filter, resource: JsonObject): boolean {
  return matches(filter, (resolved) => valuesOf(resource, resolved));
}

/** True when one element of a multi-valued complex attribute matches a value filter (paths relative to it). */
export function evaluateOnElement(filter: Filter, element: JsonObject): boolean {
  return matches(filter, (resolved) => valuesOnElement(element, resolved), element);
}
