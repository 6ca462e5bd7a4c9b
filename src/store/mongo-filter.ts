// STUB: replaced by the filter work (issue 4). Signatures are the contract.
import type { Document } from 'mongodb';
import type { Filter } from '../scim/filter/ast';
import { fieldPath } from './mongo-document';
import { normaliseSimple } from '../scim/query-copy';

/**
 * Compiles a filter to a MongoDB query over the normalised copy (`q`). `exact: false` means the query is a
 * superset (FerretDB and MongoDB both accept it) and the caller must post-filter with evaluateFilter.
 */
export function compileFilter(filter: Filter): { query: Document; exact: boolean } {
  if (filter.op !== 'eq') throw new Error('stub compiler: only eq');
  const def = filter.path.resolved.sub ?? filter.path.resolved.attribute;
  return { query: { [fieldPath(filter.path.resolved)]: { $eq: normaliseSimple(def, filter.value) } }, exact: true };
}
