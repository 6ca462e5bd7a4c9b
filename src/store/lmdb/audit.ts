/**
 * The audit trail in the embedded store: each entry under two keys, in time order and by resource, put in the
 * transaction of the write it records (records.ts): no write without its entry, no entry without its write.
 *
 * A create's entry refers to the record it created rather than copying it (issue 28: a create's entry copied every
 * attribute, 1.5 KB of a user's 5.8 on disk): each change that only says "set to what the record holds" is kept as
 * the attribute's name, and the record notes the entry (Stored.a). The record's first replace or delete writes the
 * entry out in full, in its own transaction, from the version the entry refers to; so a reader, in any snapshot,
 * finds either the entry by reference and the version it refers to, or the entry in full.
 */
import { createHash } from 'node:crypto';
import type { Transaction } from 'lmdb';
import type { AuditChange, AuditEntry, AuditPage, AuditQuery } from '../../scim/audit';
import { cloneJson, isObject, type Json, type JsonObject } from '../../scim/values';
import { jsonEqual } from '../../scim/equal';
import type { AuditStore } from '../store';
import { MAX_ID, type LmdbEnvironment, type Stored, type StoredAuditEntry } from './environment';
import { Turns } from '../../turns';
import { rangeSlices } from './slices';

/** Entries a prune removes per transaction, so that a first prune of a long log does not hold the write lock long. */
const PRUNE_BATCH = 5000;
/** Keys a page of the trail reads per range read. */
const LOG_SLICE = 200;
/** Entries an import stores per transaction. */
const RESTORE_BATCH = 500;
/** Lists of changes kept in memory by the reader. */
const SHAPES_KEPT = 10_000;

/** Orders two keys of strings as the database does (by code point, element by element). */
function compareKeys(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  }
  return a.length - b.length;
}

export class LmdbAudit implements AuditStore {
  /** Lists of changes read from meta, by key (shapeOf). */
  private readonly shapes = new Map<string, (AuditChange | string)[]>();

  constructor(private readonly db: LmdbEnvironment) {}

  /** Stores an entry (inside the caller's transaction). */
  put(entry: AuditEntry | StoredAuditEntry): void {
    this.db.audit.put(['t', entry.at, entry.id], entry);
    this.db.audit.put(['r', entry.resourceId, entry.at, entry.id], 1);
  }

  /**
   * Stores the entry of a record's first version (inside the caller's transaction), its changes that say "set to
   * the record's value" by name only; returns the entry's position for the record to note (Stored.a), or undefined
   * when no change could be referred to (the entry is then stored in full).
   */
  putReferring(entry: AuditEntry, record: Stored): [string, string] | undefined {
    let referred = false;
    const changes = entry.changes.map((c): AuditChange | string => {
      const keys = Object.keys(c);
      // Only a change of exactly { attribute, after } whose value is the record's, compared as JSON: anything else
      // (a masked value, a member count, a value the record does not hold as given) is kept as given.
      if (entry.versionAfter !== record.version || keys.length !== 2 || c.after === undefined) return c;
      const value = attributeValue(record.resource, c.attribute);
      if (value === undefined || !jsonEqual(value, c.after)) return c;
      referred = true;
      return c.attribute;
    });
    if (!referred) {
      this.put(entry);
      return undefined;
    }
    this.put({ ...entry, changes: this.shapeOf(changes) ?? changes });
    return [entry.at, entry.id];
  }

  /**
   * The key of a list of changes by reference, kept once in meta (`['audit-shape', key]`): the creates of a
   * directory name the same few lists of attributes (400 bytes of names a user, compressed to 200), and an entry
   * then holds the key. Only lists of names and masked changes are kept so (a list with values is the entry's own).
   * The key is a digest, checked against what meta holds under it in this transaction: a list is never taken for
   * another, and never assumed stored by a transaction that was rolled back.
   */
  private shapeOf(changes: (AuditChange | string)[]): string | undefined {
    if (!changes.every((c) => typeof c === 'string' || (Object.keys(c).length === 2 && c.masked === true))) return undefined;
    const text = JSON.stringify(changes);
    const key = createHash('sha256').update(text).digest('base64url').slice(0, 16);
    const held = this.db.meta.get(['audit-shape', key]);
    if (held === undefined) this.db.meta.put(['audit-shape', key], text);
    else if (held !== text) return undefined;
    return key;
  }

  /** The changes of a stored entry, a shape's read from meta (kept in memory: they are few, and never change). */
  private changesOf(entry: StoredAuditEntry): (AuditChange | string)[] {
    if (typeof entry.changes !== 'string') return entry.changes;
    let changes = this.shapes.get(entry.changes);
    if (!changes) {
      const text = this.db.meta.get(['audit-shape', entry.changes]);
      if (text === undefined) throw new Error(`audit entry ${entry.id}: its list of changes ${entry.changes} is not stored`);
      changes = JSON.parse(text) as (AuditChange | string)[];
      if (this.shapes.size >= SHAPES_KEPT) this.shapes.clear();
      this.shapes.set(entry.changes, changes);
    }
    return changes;
  }

  /**
   * Writes out in full the entry `record` (about to be replaced or removed, in the caller's transaction) is referred
   * to by, if any.
   */
  writeOut(record: Stored): void {
    if (!record.a) return;
    const key = ['t', record.a[0], record.a[1]];
    const value = this.db.audit.get(key);
    // Pruned since, or written out already.
    if (value === undefined || value === 1) return;
    const changes = this.changesOf(value);
    if (!referring(changes)) return;
    this.db.audit.put(key, resolved(value, changes, record));
  }

  /**
   * An entry as the API gives it: its changes by reference resolved from the record version they refer to. In one
   * read snapshot the record is that version (writeOut rewrites the entry in the transaction that replaces it); a
   * record that is not (a directory written by a version of this server that did not know of references) leaves
   * the changes named without their values.
   */
  read(value: StoredAuditEntry, transaction?: Transaction): AuditEntry {
    const changes = this.changesOf(value);
    if (!referring(changes)) return changes === value.changes ? (value as AuditEntry) : { ...value, changes: changes as AuditChange[] };
    const record = this.db.records.get([value.resourceType, value.resourceId], transaction ? { transaction } : undefined);
    return resolved(value, changes, record?.version === value.versionAfter ? record : undefined);
  }

  async log(query: AuditQuery): Promise<AuditPage> {
    // One range of keys: the resource's (['r', id, at, entryId]) or everyone's (['t', at, entryId]), bounded by
    // since/until and by the previous page's position, walked forwards or backwards.
    const prefix = query.resourceId !== undefined ? ['r', query.resourceId] : ['t'];
    const low = [...prefix, query.since ?? ''];
    const high = [...prefix, query.until ?? MAX_ID];
    const descending = query.order === 'descending';
    let start = descending ? high : low;
    const end = descending ? low : high;
    const after = query.after;
    if (after) {
      const position = [...prefix, after.at, after.id];
      if (descending ? compareKeys(position, start) < 0 : compareKeys(position, start) > 0) start = position;
    }
    const entries: AuditEntry[] = [];
    // Read LOG_SLICE keys at a time (./slices.ts): a page of 1,000 entries, each decoded, takes long enough to delay
    // other requests.
    const read = (range: object) => this.db.audit.getRange(range as Parameters<typeof this.db.audit.getRange>[0]);
    for await (const slice of rangeSlices(read, (e) => e.key, { start, end, reverse: descending }, LOG_SLICE, new Turns())) {
      for (const { key, value } of slice) {
        const at = key[prefix.length]!;
        const id = key[prefix.length + 1]!;
        if (after && at === after.at && id === after.id) continue;
        const entry = value === 1 ? this.db.audit.get(['t', at, id]) : value;
        if (!entry || entry === 1) continue;
        if (entries.length === query.count) return { entries, more: true };
        entries.push(this.read(entry));
      }
    }
    return { entries, more: false };
  }

  /**
   * Stores each entry not stored yet, in full, in transactions of RESTORE_BATCH: an import (../../transfer/), which
   * may run again after a crash.
   */
  async restore(entries: readonly AuditEntry[]): Promise<void> {
    for (let i = 0; i < entries.length; i += RESTORE_BATCH) {
      const batch = entries.slice(i, i + RESTORE_BATCH);
      await this.db.write(() => {
        for (const entry of batch) if (!this.db.audit.doesExist(['t', entry.at, entry.id])) this.put(entry);
      });
    }
  }

  async prune(before: string): Promise<number> {
    let removed = 0;
    for (;;) {
      const batch = [...this.db.audit.getRange({ start: ['t'], end: ['t', before], limit: PRUNE_BATCH })];
      if (batch.length === 0) return removed;
      await this.db.write(() => {
        for (const { key, value } of batch) {
          this.db.audit.remove(key);
          if (value !== 1) this.db.audit.remove(['r', value.resourceId, value.at, value.id]);
        }
      });
      removed += batch.length;
    }
  }
}

/** Whether a stored entry's changes refer to its record. */
function referring(changes: readonly (AuditChange | string)[]): boolean {
  return changes.some((c) => typeof c === 'string');
}

/** The entry with its changes by reference given the values `record` holds (none when it is not known). */
function resolved(entry: StoredAuditEntry, stored: readonly (AuditChange | string)[], record: Stored | undefined): AuditEntry {
  const changes = stored.map((c): AuditChange => {
    if (typeof c !== 'string') return c;
    const value = record ? attributeValue(record.resource, c) : undefined;
    return value === undefined ? { attribute: c } : { attribute: c, after: cloneJson(value) };
  });
  return { ...entry, changes } as AuditEntry;
}

/**
 * The value of a top-level attribute as an audit change names it: a core attribute by its name, an extension's by
 * its URN-qualified name (`urn:…:enterprise:2.0:User:manager`), read from the extension's object.
 */
function attributeValue(resource: JsonObject, attribute: string): Json | undefined {
  if (Object.hasOwn(resource, attribute)) return resource[attribute];
  for (const key of Object.keys(resource)) {
    if (!key.startsWith('urn:') || !attribute.startsWith(`${key}:`)) continue;
    const extension = resource[key];
    const name = attribute.slice(key.length + 1);
    if (isObject(extension) && Object.hasOwn(extension, name)) return extension[name];
  }
  return undefined;
}
