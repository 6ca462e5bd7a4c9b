/**
 * The storage contract, in three concerns the rest of the server receives separately: resources (records, their
 * versions, views and unique values, and queries over them), memberships (a group's members, kept as pairs), and the
 * audit trail. A Store is the three together with their lifecycle. Two implementations: MongoDB (mongo/) and the
 * embedded store on LMDB (lmdb/); one contract test suite (test/store/contract.ts) runs against both.
 */
import type { StoredRecord } from '../scim/resource';
import type { ResourceSchema } from '../scim/schema';
import type { Filter } from '../scim/filter/ast';
import type { Keyset, SortSpec } from './sort';
import type { Member, MemberType } from '../scim/members';
import type { AuditEntry, AuditPage, AuditPosition, AuditQuery } from '../scim/audit';
import type { ScimError } from '../scim/errors';
import type { SchemaState } from '../scim/schema-state';

export type { Keyset, SortKey, SortSpec } from './sort';
export type { MemberType };

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

/** A record's view (../scim/view.ts) and the version it belongs to. */
export interface StoredView {
  version: number;
  view: string;
  /**
   * The resource is (or may be) a member of some group: its representation then also has `groups`, which the view
   * does not hold (they are computed at read time), so the view cannot answer alone.
   */
  member?: boolean;
}

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

/**
 * What a write stores together with its record, all or nothing: the new members of a group (`members`), and the
 * write's audit entry (`audit`, readable from AuditStore.log once the write is answered).
 */
export interface Alongside {
  members?: MemberChange;
  audit?: AuditEntry;
}

/** One record of a batch of creates, with what a create stores alongside it. */
export interface CreateItem extends Alongside {
  record: StoredRecord;
}

/**
 * What became of one item of createMany: stored, refused (its uniqueness error), or not attempted (`skipped`: a
 * `null` item, or any item after the batch reached its error budget).
 */
export type CreateOutcome = 'created' | 'skipped' | ScimError;

/**
 * A version-guarded replacement of a record. Usually the next version (`expectedVersion + 1`); a write that stores
 * several queued changes of one resource at once (ResourceService's coalesced writes) skips to the last of them, with
 * the audit entry of each version in between.
 */
export interface ReplaceRequest {
  /** The new record: `record.version` must be greater than `expectedVersion`. */
  record: StoredRecord;
  /** The version the stored record must still have, or nothing is written ('conflict'). */
  expectedVersion: number;
  /**
   * The record at `expectedVersion` as the caller read it: a store may use it instead of reading the record again
   * (the version check still happens).
   */
  current?: StoredRecord;
  /**
   * How the stored record's derived values (normalised copy, unique keys, index entries) were folded, when not as
   * the server folds now: a format upgrade (service/store-format.ts) stores a record again so that they are derived
   * anew, and a store that updates them by difference removes what this fold made.
   */
  storedFold?: (s: string) => string;
  /** The change of a group's members, stored with the record, all or nothing. */
  members?: MemberChange;
  /**
   * The write's audit entry, or the entries of every version from `expectedVersion + 1` to `record.version` in that
   * order; stored with the record, all or nothing.
   */
  audit?: AuditEntry | readonly AuditEntry[];
}

/** The audit entries of a replace, as a list. */
export function auditEntriesOf(audit: ReplaceRequest['audit']): readonly AuditEntry[] {
  return audit === undefined ? [] : Array.isArray(audit) ? audit : [audit as AuditEntry];
}

export interface DeleteRequest {
  id: string;
  /** When given, the record is deleted only if its version still matches. */
  expectedVersion?: number;
  /** Stored if, and only if, the record is deleted, its `versionBefore` set to the version deleted. */
  audit?: AuditEntry;
}

/** Outcome of a version-guarded write. */
export type WriteOutcome = 'ok' | 'missing' | 'conflict';

/** Records of every resource type: each with its version, its view, its unique values and index entries. */
export interface ResourceStore {
  /**
   * Inserts a new record (version 1). Throws a `uniqueness` ScimError when a unique attribute (or the id) is taken.
   * What goes `alongside` (a new group's members, the audit entry) is stored with it, all or nothing.
   */
  create(schema: ResourceSchema, record: StoredRecord, alongside?: Alongside): Promise<void>;
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
   * A record's view and version, without reading the record itself: a GET by id then costs a key lookup (the
   * embedded store answers synchronously). Undefined when the record is missing or was stored without a view.
   */
  getView(schema: ResourceSchema, id: string): StoredView | undefined | Promise<StoredView | undefined>;
  /**
   * The views of several records just read, where the store can read them locally at once (the embedded store);
   * undefined where it cannot (a remote store, whose list pages are rendered). `member` is not set: the records
   * read say it.
   */
  getViews(schema: ResourceSchema, ids: readonly string[]): (StoredView | undefined)[] | undefined;
  /**
   * Replaces the record only if its stored version is still `expectedVersion` (no lost updates when two requests
   * race). Throws `uniqueness` when a unique attribute is taken by another resource; nothing is written then.
   */
  replace(schema: ResourceSchema, request: ReplaceRequest): Promise<WriteOutcome>;
  /**
   * Deletes the record. Its memberships go with it: as a group (its members) and as a member (of every group that
   * contained it).
   */
  delete(schema: ResourceSchema, request: DeleteRequest): Promise<WriteOutcome>;
  /**
   * Filters, sorts and pages. Without `sort`, records come in id order. With it, ties are broken by id in the same
   * direction, and records without a value come last when ascending and first when descending (RFC 7644
   * §3.4.2.3), so descending is exactly ascending reversed. Throws `invalidValue` for a sort path no schema defines.
   */
  query(schema: ResourceSchema, options: QueryOptions): Promise<QueryResult>;
  /**
   * Every record of the type in id order, `visit`ed a batch at a time with the event loop free in between; creates
   * no index (the schema check runs before indexes that stored data might contradict are made).
   */
  walk(schema: ResourceSchema, visit: (records: StoredRecord[]) => Promise<void> | void): Promise<void>;
}

/** Groups' members, as (group, member) pairs; written by ResourceStore's writes, read and renamed here. */
export interface MembershipStore {
  /**
   * A group's members, in member-id order. A member that does not exist when a write adds it is not added (the
   * service checked it exists; a delete may have come in between).
   */
  members(groupId: string): Promise<MemberEntry[]>;
  /**
   * A group's members' ids and types, in no particular order: what a filter on membership selects
   * (`groups.value eq "<g>"`), read more cheaply than members() where a store can (no order, no display).
   */
  memberIds(groupId: string): Promise<Pick<MemberEntry, 'value' | 'type'>[]>;
  /** Which of `ids` are members of the group. */
  membersAmong(groupId: string, ids: readonly string[]): Promise<Set<string>>;
  /** The direct memberships of these members: the groups that contain each. */
  groupsOf(memberIds: readonly string[]): Promise<Membership[]>;
  /** A member's displayName changed: its `display` in every group that contains it follows. */
  renameMember(memberId: string, display: string | undefined): Promise<void>;
  /**
   * Adds these members to the group as they are (an import: `display` as exported), without a write of the group's
   * record: its version stays. Idempotent; a member that does not exist is not added.
   */
  restore(groupId: string, members: readonly MemberEntry[]): Promise<void>;
}

/** The audit trail: one entry per accepted write, stored by ResourceStore's writes, read and pruned here. */
export interface AuditStore {
  /**
   * Entries in (at, id) order, by resource and time. An entry is readable here once its write has been answered (a
   * store that copies entries in the background copies this instance's first).
   */
  log(query: AuditQuery): Promise<AuditPage>;
  /** Removes the entries older than `before` (ISO 8601): the retention of the audit trail. Returns how many. */
  prune(before: string): Promise<number>;
  /** Stores entries as they are (an import), each once: an entry whose id is stored already is left as it is. */
  restore(entries: readonly AuditEntry[]): Promise<void>;
}

/**
 * The whole directory read in order, for an export (../transfer/): resources by type in id order, a group's members
 * in member-id order, the audit trail in (at, id) order, each a page after a position.
 */
export interface DirectoryReader {
  /**
   * `snapshot`: every read sees the directory as it was when the reader was opened (the embedded store: one read
   * transaction). `live`: each read sees the data as it is when made (MongoDB without snapshot reads).
   */
  readonly consistency: 'snapshot' | 'live';
  count(schema: ResourceSchema): Promise<number>;
  /** Records after the id `after` (from the first without it), at most `limit`. */
  records(schema: ResourceSchema, after: string | undefined, limit: number): Promise<StoredRecord[]>;
  /** The group's members after the member id `after`, at most `limit`. */
  members(groupId: string, after: string | undefined, limit: number): Promise<MemberEntry[]>;
  /** Audit entries after the position `after`, at most `limit`. */
  audit(after: AuditPosition | undefined, limit: number): Promise<AuditEntry[]>;
  /** Ends the read (the embedded store's read transaction, which holds old pages until it ends). */
  close(): void;
}

/** Short named texts a store keeps for the server itself (an import in progress, the store's format). */
export interface NoteStore {
  read(name: string): Promise<string | undefined>;
  /** Sets the note, or removes it (undefined). */
  write(name: string, value: string | undefined): Promise<void>;
}

/** An index being built in the background: a path indexed since the records were stored (operator schemas). */
export interface IndexBuild {
  type: string;
  /** The paths (or index names) being built. */
  paths: string[];
  /** Records (or indexes) done of `total`. */
  done: number;
  total: number;
}

/** What the stored data was last checked against, per resource type (scim/schema-state.ts). */
export interface SchemaStateStore {
  read(type: string): Promise<SchemaState | undefined>;
  write(type: string, state: SchemaState): Promise<void>;
}

/** What an operator wants to know of local data: records held and the data file's size. */
export interface StoreStats {
  records: number;
  bytes: number;
}

export interface Store {
  readonly kind: 'lmdb' | 'mongodb';
  readonly resources: ResourceStore;
  readonly memberships: MembershipStore;
  readonly audit: AuditStore;
  /**
   * Checks the backing service answers and creates the indexes of the given resource types, before the first
   * request. Stores also prepare a resource type on first use, so a type left out here is still safe to use.
   */
  init(schemas?: readonly ResourceSchema[]): Promise<void>;
  /** The schema each resource type's stored data was last checked against. */
  readonly schemaState: SchemaStateStore;
  readonly notes: NoteStore;
  /** Opens a read of the whole directory (an export); close it when done. */
  reader(): DirectoryReader;
  /** Indexes being built in the background; empty once every index is complete. */
  indexing(): IndexBuild[];
  /** Resolves when the background index builds init() started are done (tests, the schema command). */
  indexed(): Promise<void>;
  /** Resolves when the backing service answers; throws an `unavailable` ScimError otherwise. */
  ping(): Promise<void>;
  /** The embedded store's figures of its data directory; undefined for a database elsewhere. */
  stats(): StoreStats | undefined;
  close(): Promise<void>;
}
