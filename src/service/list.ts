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
import type { PageWalks, WalkPosition } from './page-walks';

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
  /**
   * Who is asking (the token's subject and client): a caller's walk by startIndex continues from where its previous
   * page ended (./page-walks.ts). Without it, every page is read by skipping.
   */
  walker?: string;
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
  /** Callers' walks by startIndex (./page-walks.ts); without it, every index page is read by skipping. */
  walks?: PageWalks;
}

export class Lister {
  constructor(private readonly opts: ListerOptions) {}

  async list(params: ListParams): Promise<ListResult> {
    const { schema, limits } = this.opts;
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
    return this.byIndex(filter, sort, params);
  }

  /**
   * An index page (RFC 7644 §3.4.2.4). The page where the caller's previous page of the same query ended is read
   * after that page's last result (a keyset read, costing one page); any other is read by skipping.
   */
  private async byIndex(filter: Filter | undefined, sort: SortSpec | undefined, params: ListParams): Promise<ListResult> {
    const { schema, resources, walks } = this.opts;
    // RFC 7644 §3.4.2.4: "A value less than 1 SHALL be interpreted as 1".
    const startIndex = Math.max(1, Math.floor(params.startIndex));
    const walk = walks && params.walker !== undefined && params.count > 0 ? `${params.walker}\0${this.contextOf(params, sort)}` : undefined;
    const from: WalkPosition = startIndex === 1 ? { after: undefined } : walk ? walks!.position(walk, startIndex) : null;
    const result = from?.after
      ? await resources.query(schema, { filter, startIndex: 1, count: params.count, sort, keyset: { after: from.after } })
      : await resources.query(schema, { filter, startIndex, count: params.count, sort });
    if (walk) {
      const last = result.records[result.records.length - 1];
      walks!.served(walk, startIndex, from, result.records.length, last ? this.keyOf(sort, last) : undefined);
    }
    return { totalResults: result.totalResults, startIndex: params.startIndex, records: result.records };
  }

  /** What identifies a query's results, whatever page: the type, the filter as sent, the sort. */
  private contextOf(params: ListParams, sort: SortSpec | undefined): string {
    const sortKey = sort ? `${sort.path.toLowerCase()}\0${sort.order}` : '';
    return `${this.opts.schema.type.id}\0${params.filter ?? ''}\0${sortKey}`;
  }

  /** A record's place in the query's order (../store/sort.ts): its sort value and id. */
  private keyOf(sort: SortSpec | undefined, record: StoredRecord) {
    const { schema } = this.opts;
    return sortKeyOf(sort ? sortPlan(schema, sort) : undefined, { id: record.id, q: sort ? queryCopy(schema, record.resource) : {} });
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
    const context = this.contextOf(params, sort);
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
    const keyOf = (record: StoredRecord) => this.keyOf(sort, record);
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
