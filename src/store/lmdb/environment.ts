/**
 * The LMDB environment of the embedded store: one data directory, one environment, every sub-database in it, so
 * that one write transaction covers a record, its unique keys, index entries, view, member pairs and audit entry.
 *
 * Durable: a write is acknowledged only after its transaction committed and was flushed to disk (write()), so it
 * survives the process being killed right after the response, and a power loss. LMDB serialises write
 * transactions across every process that opens the directory (the benchmark's bare calls open it beside the
 * server). One server process per directory is what is supported: under heavy concurrent writes from two, batches
 * of commits were seen to fail (docs/stores.md).
 *
 * Sub-databases (keys are ordered-binary arrays, so strings order by code point, as MongoDB orders them):
 *   records  [type, id]                      -> { version, resource, secrets, a }               (records.ts)
 *   unique   [type, attribute, key]          -> id          (userName over the case-folded NFC copy)
 *   index    [type, slot, value, id]         -> 1           (slot: the indexed path; one entry per value; plan.ts)
 *   views    [type, id]                      -> "version view": the record's view (StoredRecord.view), a string,
 *                                               so a GET reads no record
 *   counts   [type]                          -> number of records
 *   members  ['g', group, member]            -> { t: type, d?: display }   a group's members (one pair each; members.ts)
 *            ['m', member, group]            -> type                       the same pair, looked up by member
 *            ['n', member, '']               -> number of groups holding the member (absent: none), so that
 *                                               a read tells a member by one key, not a range
 *   meta     ['indexes', type]               -> the index plan the entries were built with
 *            ['views', 'writer-txn']         -> the last transaction written by a store that keeps views
 *            ['audit-shape', key]            -> a list of a create's changes by reference, as JSON (audit.ts)
 *   audit    ['t', at, entryId]              -> AuditEntry   the audit trail in time order (audit.ts); a create's
 *                                               changes may name attributes whose values are the record's (a)
 *            ['r', resourceId, at, entryId]  -> 1            the same entries, by resource
 * Records, views and audit entries are compressed (COMPRESSION below).
 */
import { mkdirSync } from 'node:fs';
import { open, type Database, type Key, type RootDatabase } from 'lmdb';
import type { StoredRecord } from '../../scim/resource';
import type { ResourceSchema } from '../../scim/schema';
import type { AuditChange, AuditEntry } from '../../scim/audit';
import type { MemberType, StoreStats } from '../store';
import { Turns } from '../../turns';
import { COMPRESSION_DICTIONARY } from './dictionary';

/**
 * How the environment is opened; a second process on the directory (the benchmark's bare calls) opens it so too.
 * noSubdir is stated because the package guesses it from the path: a directory whose name has a dot
 * (`/srv/scim.d`, `mktemp -d -t x.XXXX`) would be taken for the database file itself.
 * noReadAhead (MDB_NORDAHEAD): lookups touch pages at random, and the kernel's read-ahead would fault in dozens of
 * neighbouring pages for each, filling the server's RSS with pages no request asked for.
 */
export const LMDB_OPTIONS = { compression: false, maxDbs: 12, mapSize: 2 ** 34, noReadAhead: true, noSubdir: false };

/**
 * LZ4 (the lmdb package's compression) with the store's own dictionary (dictionary.ts), for values of 64 bytes and
 * more: records, views and audit entries, a kilobyte or so each and mostly the same vocabulary, shrink to a third
 * (issue 28: 4.7 GB at 1M users; most of it these values, two per 4 KB page). Decompressing a view costs about a
 * microsecond of a GET. Values written before compression was on stay readable: the package decompresses only values
 * whose first byte is 254 or 255, which no uncompressed value of these sub-databases starts with (msgpack maps and
 * small integers, and views, which start with their version's digits), and it compresses any value that would.
 */
const COMPRESSION = { threshold: 64, dictionary: COMPRESSION_DICTIONARY };

/**
 * How each sub-database is opened: by the store, and by anything else that reads the directory (the benchmarks'
 * bare calls, the footprint measure), which must decode values as the store wrote them.
 */
export const SUB_DATABASES = {
  records: { compression: COMPRESSION },
  unique: {},
  index: {},
  counts: {},
  views: { encoding: 'string', compression: COMPRESSION },
  meta: {},
  members: {},
  audit: { compression: COMPRESSION },
} as const;

/** The end of a range over the ids of a type (ids are never this character). */
export const MAX_ID = '\uffff';

/** meta: the id of the last transaction written by a store that keeps views. */
const VIEWS_WRITER: [string, string] = ['views', 'writer-txn'];

/** A record as the records sub-database holds it. */
export interface Stored {
  version: number;
  resource: StoredRecord['resource'];
  secrets?: StoredRecord['secrets'];
  /**
   * The audit entry (at, id) whose changes refer to this version's values (audit.ts putReferring): written out in
   * full by the transaction that replaces or removes this version.
   */
  a?: [string, string];
}

/**
 * An audit entry as stored: a change given as a string is the attribute, its value the record's; changes given as
 * one string are a list kept in meta under that key (audit.ts).
 */
export type StoredAuditEntry = Omit<AuditEntry, 'changes'> & { changes: (AuditChange | string)[] | string };

/** A pair of the members sub-database, by group: the member's type and display. */
export interface StoredMember {
  t: MemberType;
  d?: string;
}

export function stored(record: StoredRecord): Stored {
  const out: Stored = { version: record.version, resource: record.resource };
  if (record.secrets) out.secrets = record.secrets;
  return out;
}

/** A record as read, without the member flag (records.ts adds it). */
export function recordOf(schema: ResourceSchema, id: string, value: Stored): StoredRecord {
  const record: StoredRecord = { resourceType: schema.type.id, id, version: value.version, resource: value.resource };
  if (value.secrets) record.secrets = value.secrets;
  return record;
}

export class LmdbEnvironment {
  readonly env: RootDatabase;
  readonly records: Database<Stored, [string, string]>;
  readonly unique: Database<string, [string, string, string]>;
  /** Keys are IndexKey (plan.ts); typed as Key because the package's type leaves out null, which its encoding orders first. */
  readonly index: Database<number, Key>;
  readonly counts: Database<number, [string]>;
  readonly views: Database<string, [string, string]>;
  readonly meta: Database<string, [string, string]>;
  readonly memberPairs: Database<StoredMember | MemberType | number, [string, string, string]>;
  readonly audit: Database<StoredAuditEntry | 1, string[]>;

  constructor(readonly path: string) {
    mkdirSync(path, { recursive: true, mode: 0o700 });
    // Values are msgpack (the package's default); keys are arrays in ordered-binary encoding.
    this.env = open({ path, ...LMDB_OPTIONS } as Parameters<typeof open>[0]);
    this.records = this.env.openDB({ name: 'records', ...SUB_DATABASES.records });
    this.unique = this.env.openDB({ name: 'unique', ...SUB_DATABASES.unique });
    this.index = this.env.openDB({ name: 'index', ...SUB_DATABASES.index });
    this.counts = this.env.openDB({ name: 'counts', ...SUB_DATABASES.counts });
    this.views = this.env.openDB({ name: 'views', ...SUB_DATABASES.views });
    this.meta = this.env.openDB({ name: 'meta', ...SUB_DATABASES.meta });
    this.memberPairs = this.env.openDB({ name: 'members', ...SUB_DATABASES.members });
    this.audit = this.env.openDB({ name: 'audit', ...SUB_DATABASES.audit });
  }

  /**
   * Runs `body` in a write transaction and resolves once it is committed and flushed. Every write transaction of
   * this store notes its id in meta, so that a later start can tell whether anything else wrote since (a server
   * that keeps no views, run on this directory, would change records and leave their views as they were).
   */
  async write<T>(body: () => T): Promise<T> {
    const out = await this.transaction(body);
    // The lmdb package resolves a transaction when it is committed, before the disk has it: the flush (fdatasync)
    // runs beside the next transaction ("overlapping sync"). A write is answered once its commit is flushed, so an
    // answered write survives a power loss too, not only the process being killed. Commits are batched, so this
    // costs a write latency, hardly any throughput (bare LMDB at 50 concurrent writes: 7,400/s without, 8,800/s
    // with, within this machine's noise).
    await this.env.flushed;
    return out;
  }

  /**
   * Runs `step` inside write transactions until it returns false: each transaction ends once its body has run the
   * slice budget (turns.ts), is committed, and the next starts after a turn of the event loop; answered once the last
   * is flushed, as write() is. A batch whose size says little of its cost (a Bulk of 1,000 creates of HR-sized users,
   * each with a dozen index entries and an audit entry) is cut by time, not by count. Each step must be all or nothing.
   */
  async writeInTurns(step: () => boolean): Promise<void> {
    let more = true;
    while (more) {
      await this.transaction(() => {
        const turns = new Turns();
        do more = step();
        while (more && !turns.due());
      });
    }
    await this.env.flushed;
  }

  /** A write transaction that notes its id in meta (see write()), resolved once committed. */
  private transaction<T>(body: () => T): Promise<T> {
    return this.env.transaction(() => {
      this.meta.put(VIEWS_WRITER, String(this.env.getWriteTxnId()));
      return body();
    });
  }

  /**
   * The views are only as good as every writer since they were made: if the last committed transaction is not one
   * of this store's (noted by write()), something that does not keep views wrote after it, and every view is
   * dropped (GET renders until the next write of each record makes its view again).
   */
  dropViewsAfterForeignWrites(): void {
    this.env.transactionSync(() => {
      const last = this.env.getWriteTxnId() - 1;
      if (this.meta.get(VIEWS_WRITER) === String(last)) return;
      for (const key of this.views.getKeys({})) this.views.remove(key);
      this.meta.put(VIEWS_WRITER, String(this.env.getWriteTxnId()));
    });
  }

  /** Records in the data directory, by type, and the size of its data file (for /readyz and the start-up line). */
  stats(): StoreStats {
    let records = 0;
    for (const { value } of this.counts.getRange({})) records += value;
    const s = this.env.getStats() as { pageSize?: number; lastPageNumber?: number };
    return { records, bytes: (s.lastPageNumber ?? 0) * (s.pageSize ?? 4096) };
  }

  /** A consistent, compacted copy of the environment in `target` (a directory), taken while writes go on. */
  async backup(target: string): Promise<void> {
    await this.env.backup(target, true);
  }

  async close(): Promise<void> {
    await this.env.close();
  }
}
