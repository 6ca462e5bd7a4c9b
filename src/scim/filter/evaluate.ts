// STUB: replaced by the filter work (issue 4). Signatures are the contract.
import type { JsonObject } from '../values';
import type { Filter } from './ast';
import { isCaseInsensitive } from '../schema';

/** True when the resource matches the filter, comparing as each attribute's schema says. */
export function evaluateFilter(filter: Filter, resource: JsonObject): boolean {
  if (filter.op !== 'eq') throw new Error('stub evaluator: only eq');
  const { resolved } = filter.path;
  const holder = resolved.extension ? (resource[resolved.schema] as JsonObject | undefined) : resource;
  const v = holder?.[resolved.attribute.name];
  if (typeof v !== 'string' || typeof filter.value !== 'string') return false;
  return isCaseInsensitive(resolved.attribute) ? v.toLowerCase() === filter.value.toLowerCase() : v === filter.value;
}

/** True when one element of a multi-valued complex attribute matches a value filter (paths relative to it). */
export function evaluateOnElement(filter: Filter, element: JsonObject): boolean {
  void filter;
  void element;
  throw new Error('stub evaluator: value filters');
}
