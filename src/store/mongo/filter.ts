/**
 * Compiles a filter tree to a MongoDB query over the normalised copy `q` (see ../scim/query-copy.ts).
 *
 * The query must mean exactly what evaluateFilter (../scim/filter/evaluate.ts) means; the semantics are written
 * down in ../scim/filter/ast.ts and a differential test runs both over the same data. Safety: no client input ever
 * becomes a field name or an operator. Field names come from the schema (fieldPath), operands are literals under
 * an operator this module chooses, and co/ew (and sw through arrays) become regular expressions in which every
 * character that is not a letter, digit, space or non-ASCII is escaped, so a value such as `.*` or `(a+)+$` is
 * matched literally and cannot cause catastrophic backtracking; sw is a range of strings (startsWith).
 *
 * Operators used, all accepted by MongoDB and by FerretDB 1.24 (checked against FerretDB with the sqlite handler):
 * $eq, $gt/$gte/$lt/$lte (strings and numbers, through arrays), $regex (with \xHH escapes and \z), $in,
 * $exists, $type: "number", $and, $or, $nor. Not used, because FerretDB 1.24 differs from MongoDB or refuses them:
 * `$eq: null` (FerretDB does not match array elements that lack the field, MongoDB does); $ne, $not and $nin
 * through arrays of sub-documents (FerretDB: "some element differs" instead of "no element equals"); `$elemMatch`
 * on sub-document fields ("unknown operator: type") or with $and ("not implemented").
 *
 * Without $elemMatch, a value filter whose conditions must hold on one and the same element
 * (`emails[type eq "work" and value co "@x.com"]`, or any negation inside the brackets) cannot be expressed. Such
 * filters compile to a sound superset (the conditions on the dotted paths, uncorrelated) and `exact: false`: the
 * caller must post-filter with evaluateFilter. Everything else compiles exactly.
 */
import type { Document } from 'mongodb';
import type { Filter } from '../../scim/filter/ast';
import type { AttributeDefinition, ResolvedAttribute } from '../../scim/schema';
import { fieldPath } from './document';
import { normaliseSimple } from '../../scim/query-copy';

/** A query, or `true` (every document) / `false` (no document) before rendering. */
type Query = Document | boolean;

/**
 * Lower and upper bounds of what a filter matches: `sub` ⊆ filter ⊆ `sup`. Exact nodes have sub = sup. Negation
 * swaps them (not sub ⊇ not filter), which keeps `not (emails[… and …])` sound.
 */
interface Bounds {
  sup: Query;
  sub: Query;
  exact: boolean;
}

/** Matches no document: every document has an _id. */
const NOTHING: Document = { _id: { $exists: false } };

function exactly(q: Query): Bounds {
  return { sup: q, sub: q, exact: true };
}

function soleKey(q: Document, key: string): unknown[] | undefined {
  const keys = Object.keys(q);
  return keys.length === 1 && keys[0] === key && Array.isArray(q[key]) ? (q[key] as unknown[]) : undefined;
}

function all(parts: Query[]): Query {
  const out: Document[] = [];
  for (const p of parts) {
    if (p === false) return false;
    if (p === true) continue;
    const nested = soleKey(p, '$and');
    if (nested) out.push(...(nested as Document[]));
    else out.push(p);
  }
  if (out.length === 0) return true;
  return out.length === 1 ? out[0]! : { $and: out };
}

function any(parts: Query[]): Query {
  const out: Document[] = [];
  for (const p of parts) {
    if (p === true) return true;
    if (p === false) continue;
    const nested = soleKey(p, '$or');
    if (nested) out.push(...(nested as Document[]));
    else out.push(p);
  }
  if (out.length === 0) return false;
  return out.length === 1 ? out[0]! : { $or: out };
}

function negate(q: Query): Query {
  if (typeof q === 'boolean') return !q;
  const nor = soleKey(q, '$nor');
  if (nor) return any(nor as Document[]);
  const or = soleKey(q, '$or');
  return { $nor: or ?? [q] };
}

/**
 * Escapes a literal for a PCRE (MongoDB) / RE2 (FerretDB) pattern: ASCII punctuation gets a backslash (both treat
 * an escaped non-word ASCII character as itself), control characters become \xHH (a pattern cannot hold NUL).
 */
export function escapeRegex(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else if (c > 0x7f || ch === ' ' || /[A-Za-z0-9]/.test(ch)) out += ch;
    else out += `\\${ch}`;
  }
  return out;
}

function targetOf(resolved: ResolvedAttribute): AttributeDefinition {
  return resolved.sub ?? resolved.attribute;
}

/**
 * `pr`, type-aware as in evaluate.ts: a non-empty string ($gt "" only matches strings, and every non-empty string
 * sorts after ""), a boolean, a number, or for a complex attribute any present sub-attribute. Positive conditions
 * only, so through arrays they mean "some value is present".
 */
function presence(resolved: ResolvedAttribute): Query {
  const def = targetOf(resolved);
  const field = fieldPath(resolved);
  switch (def.type) {
    case 'string':
    case 'reference':
    case 'binary':
    case 'dateTime':
      return { [field]: { $gt: '' } };
    case 'boolean':
      return { [field]: { $in: [true, false] } };
    case 'integer':
    case 'decimal':
      return { [field]: { $type: 'number' } };
    case 'complex':
      return any(
        (def.subAttributes ?? [])
          .filter((s) => s.returned !== 'never' && s.type !== 'complex')
          .map((s) => presence({ ...resolved, sub: s })),
      );
  }
}

/** A comparison or pr on a path (top level or the dotted path of a sub-attribute through all elements). */
function leaf(filter: Extract<Filter, { path: unknown }>): Query {
  const resolved = filter.path.resolved;
  if (filter.op === 'idIn') return { _id: { $in: [...filter.ids] } };
  if (filter.op === 'pr') return presence(resolved);
  if (filter.op === 'valuePath') throw new Error('leaf() called on a value path');
  const def = targetOf(resolved);
  const field = fieldPath(resolved);
  const { op, value } = filter;
  if (value === null) {
    if (op === 'eq') return negate(presence(resolved));
    if (op === 'ne') return presence(resolved);
    return false;
  }
  const operand = normaliseSimple(def, value);
  switch (op) {
    case 'eq':
      return { [field]: { $eq: operand } };
    case 'ne':
      // not(eq), as in memory: no value equals, absent matches. Written as $nor rather than $ne: MongoDB's $ne
      // means the same, but FerretDB 1.24 evaluates $ne (and $not, $nin) on a path through an array of
      // sub-documents as "some element differs" (`emails.type $ne "work"` matches [{work}, {home}]).
      return negate({ [field]: { $eq: operand } });
    case 'gt':
    case 'ge':
    case 'lt':
    case 'le': {
      const mongoOp = { gt: '$gt', ge: '$gte', lt: '$lt', le: '$lte' }[op];
      return { [field]: { [mongoOp]: operand } };
    }
    case 'co':
    case 'sw':
    case 'ew': {
      if (typeof operand !== 'string') return false;
      // Case-insensitive attributes are folded in `q` and in the operand: no `i` flag.
      const body = escapeRegex(operand);
      if (op === 'sw') return startsWith(resolved, field, operand, body);
      // `\z`, not `$`: PCRE's `$` also matches before a final newline.
      return { [field]: { $regex: op === 'co' ? body : `${body}\\z` } };
    }
  }
}

/**
 * The least string greater than every string that starts with `prefix`, in code point order (MongoDB compares
 * strings by their UTF-8 bytes, which is the same order): the prefix with its last code point incremented, after
 * dropping trailing U+10FFFF. Undefined when there is none (the prefix is empty or all U+10FFFF).
 */
export function prefixSuccessor(prefix: string): string | undefined {
  const points = Array.from(prefix);
  while (points.length > 0) {
    const last = points.pop()!.codePointAt(0)!;
    // Operands never hold lone surrogates (they are refused when read), so neither may the successor.
    if (last < 0x10ffff) return points.join('') + String.fromCodePoint(last === 0xd7ff ? 0xe000 : last + 1);
  }
  return undefined;
}

/**
 * `sw`: the strings in [prefix, successor), a range an index serves by seeking to it (an anchored $regex is one
 * only for MongoDB's planner; other engines scan every key of the index). On a single-valued attribute the range
 * is exact. Through an array, MongoDB may satisfy $gte and $lt with different elements, so there the range only
 * narrows the candidates and the anchored $regex decides.
 */
function startsWith(resolved: ResolvedAttribute, field: string, prefix: string, body: string): Query {
  const next = prefixSuccessor(prefix);
  const range: Query = { [field]: next === undefined ? { $gte: prefix } : { $gte: prefix, $lt: next } };
  if (!resolved.attribute.multiValued) return range;
  return all([range, { [field]: { $regex: `^${body}` } }]);
}

/** Operands of a chain of one logical operator, collected without recursion (chains can be long). */
function chain(filter: Filter, op: 'and' | 'or'): Filter[] {
  const out: Filter[] = [];
  const stack: Filter[] = [filter];
  while (stack.length > 0) {
    const f = stack.pop()!;
    if (f.op === op) stack.push(f.right, f.left);
    else out.push(f);
  }
  return out;
}

function combine(op: 'and' | 'or', parts: Bounds[]): Bounds {
  const join = op === 'and' ? all : any;
  return {
    sup: join(parts.map((p) => p.sup)),
    sub: join(parts.map((p) => p.sub)),
    exact: parts.every((p) => p.exact),
  };
}

/** "The attribute has some element": the least an inexact value filter needs (a superset of it). */
function hasElement(parent: ResolvedAttribute): Query {
  return { [fieldPath({ ...parent, sub: undefined })]: { $exists: true } };
}

/**
 * Bounds of "some element of `parent` satisfies `filter`". A positive comparison on a sub-attribute holds for some
 * element exactly when the dotted path matches, and "some element satisfies A or B" is "some satisfies A or some
 * satisfies B", so or-trees of positive comparisons are exact. `and` needs both on the same element (the dotted
 * conditions are only a superset), and a negation or `ne` on some element cannot be expressed at all.
 */
function someElement(filter: Filter, parent: ResolvedAttribute): Bounds {
  switch (filter.op) {
    case 'or':
      return combine('or', chain(filter, 'or').map((f) => someElement(f, parent)));
    case 'and': {
      const parts = chain(filter, 'and').map((f) => someElement(f, parent));
      return { sup: all(parts.map((p) => p.sup)), sub: false, exact: false };
    }
    case 'not':
    case 'valuePath':
      return { sup: hasElement(parent), sub: false, exact: false };
    case 'ne':
      if (filter.value !== null) return { sup: hasElement(parent), sub: false, exact: false };
      return exactly(leaf(filter));
    case 'eq':
      if (filter.value === null) return { sup: hasElement(parent), sub: false, exact: false };
      return exactly(leaf(filter));
    default:
      return exactly(leaf(filter));
  }
}

function bounds(filter: Filter): Bounds {
  switch (filter.op) {
    case 'and':
    case 'or':
      return combine(filter.op, chain(filter, filter.op).map(bounds));
    case 'not': {
      const inner = bounds(filter.filter);
      return { sup: negate(inner.sub), sub: negate(inner.sup), exact: inner.exact };
    }
    case 'valuePath':
      return someElement(filter.filter, filter.path.resolved);
    default:
      return exactly(leaf(filter));
  }
}

function render(q: Query): Document {
  if (q === true) return {};
  if (q === false) return NOTHING;
  return q;
}

/**
 * Compiles a filter to a MongoDB query over the normalised copy (`q`). `exact: false` means the query is a
 * superset (FerretDB and MongoDB both accept it) and the caller must post-filter with evaluateFilter.
 */
export function compileFilter(filter: Filter): { query: Document; exact: boolean } {
  const b = bounds(filter);
  return { query: render(b.sup), exact: b.exact };
}
