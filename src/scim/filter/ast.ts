/**
 * The typed tree of a SCIM filter (RFC 7644 §3.4.2.2). Parsed once (parse.ts), then interpreted twice: in memory
 * (evaluate.ts, embedded store) and compiled to a MongoDB query (../../store/mongo/filter.ts).
 *
 * Both interpreters give every node the same meaning; the differential test (test/scim/filter/differential.test.ts)
 * holds them to it. The meaning, shared by both:
 * - A comparison matches when ANY value at the path matches (RFC 7644 §3.4.2.2: "If the specified attribute in a
 *   filter expression is a multi-valued attribute, the filter matches if any of the values of the specified
 *   attribute match the specified criterion").
 * - `ne` is the negation of `eq`: it matches when no value equals the operand, so an absent attribute matches `ne`.
 * - `eq null` means "not present" (the negation of `pr`); `ne null` means "present".
 * - Values are compared after normaliseSimple (../query-copy.ts): caseExact=false strings folded, dateTimes as UTC
 *   instants; a value of another JSON type than the operand never matches (as in MongoDB's type bracketing).
 */
import type { AttributeDefinition, ResolvedAttribute } from '../schema';

export type CompareOperator = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le';
export type FilterValue = string | number | boolean | null;

/** An attribute path as written in the filter, resolved against the resource schema. */
export interface AttributePath {
  /** The path as the client wrote it, for error messages. */
  text: string;
  /**
   * For a comparison on a complex attribute written without a sub-attribute (`emails co "@x.com"`,
   * `manager eq "42"`), the parser resolves the path to its `value` sub-attribute, so `sub` is set even though
   * `text` names no sub-attribute.
   */
  resolved: ResolvedAttribute;
}

export type Filter =
  | { op: CompareOperator; path: AttributePath; value: FilterValue }
  | { op: 'pr'; path: AttributePath }
  | { op: 'and' | 'or'; left: Filter; right: Filter }
  | { op: 'not'; filter: Filter }
  /**
   * `emails[type eq "work" and value co "@example.com"]`: `path` names the multi-valued complex attribute; inside
   * `filter`, every path resolves to a sub-attribute of it (resolved.attribute is the parent, resolved.sub the
   * sub-attribute), and all of it must hold for one and the same element.
   */
  | { op: 'valuePath'; path: AttributePath; filter: Filter }
  /**
   * The resources whose `id` (`path`) is one of `ids`. Never parsed from a client's text: a comparison on a
   * membership (a Group's `members.value`, a User's `groups.value`), which no record holds, becomes this once the
   * memberships are looked up (service/memberships.ts), and the stores serve it from their primary key.
   */
  | { op: 'idIn'; path: AttributePath; ids: ReadonlySet<string> };

export const COMPARE_OPERATORS: readonly CompareOperator[] = ['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le'];

/** Every attribute path a filter reads, in its order (the attribute of a valuePath, then its sub-filter's). */
export function* pathsOf(filter: Filter): Generator<AttributePath> {
  switch (filter.op) {
    case 'and':
    case 'or':
      yield* pathsOf(filter.left);
      yield* pathsOf(filter.right);
      return;
    case 'not':
      yield* pathsOf(filter.filter);
      return;
    case 'valuePath':
      yield filter.path;
      yield* pathsOf(filter.filter);
      return;
    default:
      yield filter.path;
  }
}

/** The definition the comparison looks at: the sub-attribute when the path names one, else the attribute. */
export function targetOf(path: AttributePath): AttributeDefinition {
  return path.resolved.sub ?? path.resolved.attribute;
}
