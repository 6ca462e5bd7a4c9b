/**
 * The typed tree of a SCIM filter (RFC 7644 §3.4.2.2). Parsed once (parse.ts), then interpreted twice: in memory
 * (evaluate.ts, embedded store) and compiled to a MongoDB query (../../store/mongo-filter.ts).
 */
import type { ResolvedAttribute } from '../schema';

export type CompareOperator = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le';
export type FilterValue = string | number | boolean | null;

/** An attribute path as written in the filter, resolved against the resource schema. */
export interface AttributePath {
  /** The path as the client wrote it, for error messages. */
  text: string;
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
  | { op: 'valuePath'; path: AttributePath; filter: Filter };
