/**
 * Lists of one resource type (RFC 7644 §3.4.2): the filter parsed and made runnable (memberships rewritten into ids,
 * id equalities made keys), sortBy checked, then a page by index or, with a cursor (RFC 9865), by keyset.
 */
import { errors } from '../scim/errors';
import type { StoredRecord } from '../scim/resource';
import type { ResourceSchema } from '../scim/schema';
import { parseFilter } from '../scim/filter/parse';
import { idEqualitiesByKey } from '../scim/filter/by-id';
import { pathsOf, type Filter } from '../scim/filter/ast';
import { attributeKey } from '../scim/diff';
import { queryCopy } from '../scim/query-copy';
import type { CursorCodec } from '../scim/cursor';
import type { Limits } from '../scim/limits';
import { sortKeyOf, sortPlan, type SortSpec } from '../store/sort';
import type { ResourceStore } from '../store/store';
import type { Memberships } from './memberships';

export interface ListParams {
  filter?: string;
  startIndex: number;
  count: number;
  sortBy?: string;
  sortOrder?: 'ascending' | 'descending';
  /** RFC 9865: present (possibly empty, meaning the first page) to page by cursor instead of by index. */
  cursor?: string;
  /**
   * Top-level attributes (keys as in ../scim/audit.ts attributeKey) the caller may not read: a filter or sort by one
   * would tell their values apart, so it is refused (403).
   */
  unreadable?: ReadonlySet<string>;
}

export interface ListResult {
  totalResults: number;
  /** Index paging only. */
  startIndex?: number;
  records: StoredRecord[];
  nextCursor?: string;
  previousCursor?: string;
}

export interface ListerOptions {
  schema: ResourceSchema;
  resources: ResourceStore;
  limits: Limits;
  /** Signs and reads cursors; without it, cursor paging is refused. */
  cursors?: CursorCodec;
  /** The type's memberships (Group members, User groups), whose filters are rewritten into ids. */
  memberships?: Memberships;
}

export class Lister {
  constructor(private readonly opts: ListerOptions) {}

  async list(params: ListParams): Promise<ListResult> {
    const { schema, resources, limits } = this.opts;
    let filter: Filter | undefined = params.filter !== undefined ? parseFilter(schema, params.filter, limits) : undefined;
    const unreadable = params.unreadable;
    if (unreadable?.size) {
      const hidden = (r: { schema: string; extension: boolean; attribute: { name: string } }) => unreadable.has(attributeKey(r));
      for (const path of filter ? pathsOf(filter) : []) {
        if (hidden(path.resolved)) throw errors.forbidden(`filter: '${path.text}' is an attribute this caller may not read, so it may not filter by it either`);
      }
      const sorted = params.sortBy !== undefined ? schema.resolve(params.sortBy) : undefined;
      if (sorted && hidden(sorted)) throw errors.forbidden(`sortBy: '${params.sortBy}' is an attribute this caller may not read, so it may not sort by it either`);
    }
    const { memberships } = this.opts;
    if (filter && memberships) filter = await memberships.rewriteFilter(schema, filter);
    if (filter) filter = idEqualitiesByKey(filter);
    const sort = this.sortOf(params);
    if (params.cursor !== undefined) return this.byCursor(filter, sort, params, params.cursor);
    const result = await resources.query(schema, { filter, startIndex: params.startIndex, count: params.count, sort });
    return { totalResults: result.totalResults, startIndex: params.startIndex, records: result.records };
  }

  private sortOf(params: ListParams): SortSpec | undefined {
    if (params.sortBy === undefined) return undefined;
    const r = this.opts.schema.resolve(params.sortBy);
    if (!r || r.attribute.returned === 'never') throw errors.invalidValue(`sortBy: unknown attribute '${params.sortBy}'`);
    return { path: params.sortBy, order: params.sortOrder ?? 'ascending' };
  }

  /**
   * RFC 9865 cursor paging: keyset pages in the order of `sortBy` (RFC 9865 §2.2: "If sorting is implemented ...,
   * then cursor-paged results should be sorted"), then id; by id without sortBy. Cursors are signed, bound to the
   * filter and sort, and carry the page size, which every page must repeat (§2.1, `invalidCount`).
   */
  private async byCursor(filter: Filter | undefined, sort: SortSpec | undefined, params: ListParams, cursor: string): Promise<ListResult> {
    const { schema, resources, cursors } = this.opts;
    if (!cursors) throw errors.invalidValue('cursor paging is not enabled');
    const sortKey = sort ? `${sort.path.toLowerCase()}\0${sort.order}` : '';
    const context = `${schema.type.id}\0${params.filter ?? ''}\0${sortKey}`;
    const state = cursor === '' ? undefined : cursors.decode(cursor, context);
    if (state && state.count !== params.count) {
      throw errors.invalidCount(
        `count ${params.count} differs from the count ${state.count} of the query that issued the cursor; every page of a query must ask for the same count`,
      );
    }
    const position = state?.position;
    const keyset = position && position.direction !== 'start' ? { [position.direction]: position.key } : {};
    const result = await resources.query(schema, { filter, startIndex: 1, count: params.count, sort, keyset });
    if (params.count === 0) return { totalResults: result.totalResults, records: [] };
    const plan = sort ? sortPlan(schema, sort) : undefined;
    const keyOf = (record: StoredRecord) => sortKeyOf(plan, { id: record.id, q: queryCopy(schema, record.resource) });
    const link = (direction: 'after' | 'before', record: StoredRecord | undefined) =>
      record ? cursors.encode({ position: { direction, key: keyOf(record) }, count: params.count }, context) : undefined;
    const first = result.records[0];
    const last = result.records[result.records.length - 1];
    const out: ListResult = { totalResults: result.totalResults, records: result.records };
    if (position?.direction === 'before') {
      // A previous page: what follows it is where the client came from.
      out.nextCursor = last
        ? link('after', last)
        : // Empty: nothing precedes the position, so every result follows it, and the first page is the next one.
          result.totalResults > 0
          ? cursors.encode({ position: { direction: 'start' }, count: params.count }, context)
          : undefined;
      if (result.more) out.previousCursor = link('before', first);
    } else {
      if (result.more) out.nextCursor = link('after', last);
      // RFC 9865 §2: "previousCursor MUST not be returned with the first page".
      if (position?.direction === 'after') out.previousCursor = link('before', first);
    }
    return out;
  }
}
