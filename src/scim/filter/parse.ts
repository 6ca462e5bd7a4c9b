// STUB: replaced by the filter work (issue 4). Signatures are the contract.
import type { ResolvedAttribute, ResourceSchema } from '../schema';
import type { Filter } from './ast';
import { errors } from '../errors';

/** Parses a filter (RFC 7644 §3.4.2.2) against a resource schema. Throws invalidFilter naming the position. */
export function parseFilter(schema: ResourceSchema, text: string): Filter {
  const m = /^\s*(\S+)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$/i.exec(text);
  if (!m) throw errors.invalidFilter(`unsupported filter: ${text}`);
  const resolved = schema.resolve(m[1]!);
  if (!resolved) throw errors.invalidFilter(`unknown attribute '${m[1]}'`);
  return { op: 'eq', path: { text: m[1]!, resolved }, value: JSON.parse(`"${m[2]}"`) as string };
}

/**
 * Parses the filter inside a value path such as `emails[type eq "work"]`: its attribute paths resolve as
 * sub-attributes of `parent` (resolved.attribute = parent attribute, resolved.sub = sub-attribute).
 */
export function parseValueFilter(schema: ResourceSchema, parent: ResolvedAttribute, text: string): Filter {
  void schema;
  void parent;
  throw errors.invalidFilter(`value filters are not supported yet: ${text}`);
}
