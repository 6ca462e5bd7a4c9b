/**
 * `id eq "…"` as the stores' primary key: a comparison on `id` becomes an `idIn` node (ast.ts), which both stores
 * serve by key (the records range of the embedded store, `_id` on MongoDB) instead of reading every resource.
 * Entra ID sends `id eq "<random guid>"` as its connection test, and `id eq "<group>" and members.value eq "<user>"`
 * to check a membership. Meaning is unchanged: `id` is caseExact (RFC 7643 §3.1), so equality is exact.
 */
import type { Filter } from './ast';

export function idEqualitiesByKey(filter: Filter): Filter {
  switch (filter.op) {
    case 'and':
    case 'or':
      return { op: filter.op, left: idEqualitiesByKey(filter.left), right: idEqualitiesByKey(filter.right) };
    case 'not':
      return { op: 'not', filter: idEqualitiesByKey(filter.filter) };
    case 'eq': {
      const r = filter.path.resolved;
      if (r.attribute.name !== 'id' || r.sub || r.extension || typeof filter.value !== 'string') return filter;
      return { op: 'idIn', path: filter.path, ids: new Set([filter.value]) };
    }
    default:
      return filter;
  }
}
