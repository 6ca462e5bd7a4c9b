/**
 * The storage contract. Two implementations: MongoDB (mongo.ts) and the embedded store on LMDB (lmdb.ts).
 * One contract test suite (test/store/contract.ts) runs against both.
 */
import type { StoredRecord } from '../scim/resource';
import type { ResourceSchema } from '../scim/schema';
import type { Filter } from '../scim/filter/ast';
import type { Keyset } from './sort';
import type { Member, MemberType } from '../scim/members';
import type { AuditEntry, AuditPage, AuditQuery } from '../scim/audit';
import type { ScimError } from '../scim/errors';

export type { Keyset, SortKey } from './sort';

export interface SortSpec {
  /** Attribute path as resolved against the resource schema, e.g. name.familyName. */
  path: string;
  order: 'ascending' | 'descending';
}

export interface QueryOptions {
  filter?: Filter;
  /** 1-based index of the first result (RFC 7644 §3.4.2.4). */
  startIndex: number;
  /** Page size; 0 asks only for the total. */
  count: number;
  sort?: SortSpec;
  /**
   * Keyset paging for cursors (RFC 9865): the results in the query's order (by `sort`, then id; by id without
   * `sort`) strictly after (or before) the given key, i.e. the sort value and id of a record (see SortKey). Used
   * instead of startIndex; `{}` is the first page. Stable while the data changes: a resource that exists
   * throughout, and keeps its sort value, is returned exactly once, whatever is created or deleted meanwhile.
   */
  keyset?: Keyset;
}

export interface QueryResult {
  totalResults: number;
  records: StoredRecord[];
  /** With keyset paging: whether more results follow the page (after) or precede it (before). */
  more?: boolean;
}

/** A record's stored view and the version it belongs to. */
export interface StoredView {
  version: number;
  view: string;
  /**
   * The resource is (or may be) a member of some group: its representation then also has `groups`, which the view
   * does not hold (they are computed at read time), so the view cannot answer alone.
   */
  member?: boolean;
}

export type { MemberType };

/**
 * One member of a group as the stores keep it: not inside the group's record but as a (group, member) pair of its
 * own, so that adding or removing a member touches one pair whatever the group's size, and a group of 100,000
 * members is as cheap to change as a group of 10 (and no document nears MongoDB's 16 MB). `display` is the member's
 * displayName as of its last write (Group.members.display, readOnly).
 */
export type MemberEntry = Member;

/** How a write changes a group's members: all of them (`replace`), or some added and some removed. */
export interface MemberChange {
  replace?: MemberEntry[];
  add?: MemberEntry[];
  /** Member ids. */
  remove?: string[];
}

/** A direct membership: `group` contains `member`. */
export interface Membership {
  group: string;
  member: string;
  type: MemberType;
}

/** One record of a batch of creates, with what create() takes besides it. */
export interface CreateItem {
  record: StoredRecord;
  members?: MemberChange;
  audit?: AuditEntry;
}

/**
 * What became of one item of createMany: stored, refused (its uniqueness error), or not attempted (`skipped`: a
 * `null` item, or any item after the batch reached its error budget).
 */
export type CreateOutcome = 'created' | 'skipped' | ScimError;

/** Outcome of a version-guarded write. */
export type WriteOutcome = 'ok' | 'missing' | 'conflict';

export interface ResourceStore {
  readonly kind: 'memory' | 'lmdb' | 'mongodb';
  /**
   * Checks the backing service answers and creates the indexes of the given resource types, before the first
   * request. Stores also prepare a resource type on first use, so a type left out here is still safe to use.
   */
  init(schemas?: readonly ResourceSchema[]): Promise<void>;
  /**
   * Inserts a new record (version 1). Throws a `uniqueness` ScimError when a unique attribute (or the id) is taken.
   * `members`: the new group's members, written with it (all or nothing). `audit`: the write's audit entry, stored
   * with it, all or nothing (auditLog()).
   */
  create(schema: ResourceSchema, record: StoredRecord, members?: MemberChange, audit?: AuditEntry): Promise<void>;
  /**
   * Creates many records, in order, each exactly as create() would (all or nothing per item: the record, its unique
   * keys, members and audit entry), in as few round trips or commits as the store can (a Bulk request's run of
   * POSTs). An item refused (a unique value taken, by the database or by an earlier item) does not stop the rest.
   * `null` items are operations that already failed before reaching the store: they count as errors. Once
   * `maxErrors` errors are counted, no further item is attempted (RFC 7644 §3.7 failOnErrors). Errors other than an
   * item's own (the database unreachable) are thrown; items before them may have been stored, as a single create
   * that times out may have been.
   */
  createMany(schema: ResourceSchema, items: readonly (CreateItem | null)[], maxErrors?: number): Promise<CreateOutcome[]>;
  get(schema: ResourceSchema, id: string): Promise<StoredRecord | undefined>;
  /** The records of these ids that exist, in no particular order. */
  getMany(schema: ResourceSchema, ids: readonly string[]): Promise<StoredRecord[]>;
  /**
   * A record's `view` (the serialised default representation), kept with it in the same transaction (document),
   * and the record's version, without reading the record itself: a GET by id then costs a key lookup (the embedded
   * store answers synchronously). Undefined when the record is missing or was stored without a view.
   */
  getView?(schema: ResourceSchema, id: string): StoredView | undefined | Promise<StoredView | undefined>;
  /**
   * The views of several records just read, read locally at once (the embedded store); a remote store leaves it
   * out. `member` is not set: the records read say it.
   */
  getViews?(schema: ResourceSchema, ids: readonly string[]): (StoredView | undefined)[];
  /**
   * Replaces the record only if its stored version is still `expectedVersion` (no lost updates when two requests
   * race). `record.version` must be `expectedVersion + 1`. Throws `uniqueness` when a unique attribute is taken by
   * another resource; nothing is written then. `current`, when given, is the record at `expectedVersion` as the
   * caller read it: a store may use it instead of reading the record again (the version check still happens).
   * `audit` is stored if, and only if, the record is.
   */
  replace(
    schema: ResourceSchema,
    record: StoredRecord,
    expectedVersion: number,
    current?: StoredRecord,
    members?: MemberChange,
    audit?: AuditEntry,
  ): Promise<WriteOutcome>;
  /**
   * Deletes the record; with `expectedVersion`, only if the version still matches. Its memberships go with it: as a
   * group (its members) and as a member (of every group that contained it). `audit` is stored if, and only if, the
   * record is deleted, its `versionBefore` set to the version deleted.
   */
  delete(schema: ResourceSchema, id: string, expectedVersion?: number, audit?: AuditEntry): Promise<WriteOutcome>;
  /**
   * The audit trail: entries of accepted writes in (at, id) order, by resource and time. An entry is readable here
   * once its write has been answered (a store that copies entries in the background copies this instance's first).
   */
  auditLog(query: AuditQuery): Promise<AuditPage>;
  /** Removes the entries older than `before` (ISO 8601): the retention of the audit trail. Returns how many. */
  pruneAudit(before: string): Promise<number>;
  /**
   * A group's members, in member-id order. A member that does not exist when a write adds it is not added (the
   * service checked it exists; a delete may have come in between).
   */
  members(groupId: string): Promise<MemberEntry[]>;
  /** Which of `ids` are members of the group. */
  membersAmong(groupId: string, ids: readonly string[]): Promise<Set<string>>;
  /** The direct memberships of these members: the groups that contain each. */
  groupsOf(memberIds: readonly string[]): Promise<Membership[]>;
  /** A member's displayName changed: its `display` in every group that contains it follows. */
  renameMember(memberId: string, display: string | undefined): Promise<void>;
  /**
   * Filters, sorts and pages. Without `sort`, records come in id order. With it, ties are broken by id in the same
   * direction, and records without a value come last when ascending and first when descending (RFC 7644
   * §3.4.2.3), so descending is exactly ascending reversed. Throws `invalidValue` for a sort path no schema defines.
   */
  query(schema: ResourceSchema, options: QueryOptions): Promise<QueryResult>;
  /** Resolves when the backing service answers; throws an `unavailable` ScimError otherwise. */
  ping(): Promise<void>;
  /** What an operator wants to know of local data (the embedded store): records held and the data file's size. */
  stats?(): { records: number; bytes: number };
  close(): Promise<void>;
}
