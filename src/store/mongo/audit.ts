/**
 * The audit trail on MongoDB: one document per entry in the `audit` collection,
 *   { _id: entryId, at, rid: resourceId, e: entry (keys encoded) }
 * indexed by time and by resource.
 *
 * An entry must be stored if and only if its write is, and this store uses no multi-document transactions. So the
 * entry travels inside the resource's own document: the version-guarded write of the resource sets the document's
 * `aud` to its entry in the same single-document update, which is atomic (to a list of entries, one per version, when
the write stores several queued changes of the resource at once). After the write is answered, the entry is
 * copied into `audit` (batched, in the background). Copies are idempotent (the entry's id is the audit document's
 * `_id`), so a copy made twice is one entry. The document keeps its last entry until its next write replaces it;
 * nothing is written back to it after the copy, which would cost a second write of every resource written.
 *
 * An entry is never replaced before it is known to be copied: a write of version v+1 replaces the entry of version v
 * only if this instance copied that entry itself, and otherwise copies it first (another instance's entry, one whose
 * copy is still queued, one left by a process that stopped). A copy that never happened in a document that is not
 * written again is found by the sweep, run at start and every SWEEP_EVERY_MS by every instance: the documents whose
 * entry is newer than the last sweep's mark (less a margin for clocks and slow commits; an index on `aud.at`), each
 * entry looked up by id and copied when missing; then the mark moves on (`audit_sweep`). A reader of the trail first
 * waits for this instance's queued copies, so a client reads its own writes' entries at once. A delete goes by an
 * intent (intents.ts): the document is marked with the entry, the entry copied, then the document deleted.
 */
import type { Collection, Document } from 'mongodb';
import type { AuditEntry, AuditPage, AuditQuery } from '../../scim/audit';
import type { AuditStore } from '../store';
import { decodeKeys, encodeKeys, type ResourceDocument } from './document';
import { everyDuplicate, isDuplicateKey } from './errors';
import type { JsonObject } from '../../scim/values';
import { onceUntilItWorks, type MongoConnection } from './connection';

export const AUDIT = 'audit';
const SWEEP_MARK = 'audit_sweep';
/** Entries newer than this are left to the copy their writer queued. */
export const SWEEP_AGE_MS = 10_000;
export const SWEEP_EVERY_MS = 60_000;
/** How far before the last mark a sweep looks again: clocks of instances apart, a commit slower than its `at`. */
const SWEEP_MARGIN_MS = 60_000;
/**
 * Entries copied per statement. The driver serialises a statement in one go: 500 creates' entries (650 KB of BSON)
 * took 17-27 ms, the event loop held all along; 100 take a fifth of that.
 */
const BATCH = 100;
/** Resources whose last copied entry this instance remembers (the oldest are forgotten first). */
const REMEMBERED = 50_000;
/** Entries an import inserts per command. */
const RESTORE_BATCH = 500;
/** Entries per batch when a page of the trail is read. */
const AUDIT_BATCH = 200;

export interface AuditDocument {
  _id: string;
  at: string;
  rid: string;
  e: JsonObject;
}

interface Outgoing {
  coll: Collection<ResourceDocument>;
  entry: AuditEntry;
}

export function encodeEntry(entry: AuditEntry): JsonObject {
  return encodeKeys(entry as unknown as JsonObject);
}

function decodeEntry(stored: JsonObject): AuditEntry {
  return decodeKeys(stored) as unknown as AuditEntry;
}

/** The entries a document's `aud` holds: one, or one per version of a write that stored several changes. */
function entriesIn(stored: JsonObject | JsonObject[] | null | undefined): AuditEntry[] {
  if (!stored) return [];
  return Array.isArray(stored) ? stored.map(decodeEntry) : [decodeEntry(stored)];
}

export class MongoAudit implements AuditStore {
  private queue: Outgoing[] = [];
  private running?: Promise<void>;
  /** collection \0 resource id -> the version whose entry this instance copied (the one its document holds). */
  private readonly copied = new Map<string, number>();
  private readonly audit: Collection<AuditDocument>;
  private readonly marks: Collection<{ _id: string; upTo: string }>;
  private sweepTimer?: NodeJS.Timeout;
  /** The collection's indexes, created on first use (retried if that failed). */
  readonly ready = onceUntilItWorks(async () => {
    await this.audit.createIndexes([
      { key: { at: 1, _id: 1 }, name: 'by:at' },
      { key: { rid: 1, at: 1, _id: 1 }, name: 'by:resource' },
    ]);
  });

  constructor(private readonly conn: MongoConnection) {
    this.audit = conn.db.collection<AuditDocument>(AUDIT);
    this.marks = conn.db.collection(SWEEP_MARK);
  }

  log(query: AuditQuery): Promise<AuditPage> {
    return this.conn.guard('audit', async () => {
      await this.ready();
      // This instance's own entries not yet copied are copied first: a client reads its writes' entries at once.
      await this.flush();
      return this.query(query);
    });
  }

  prune(before: string): Promise<number> {
    return this.conn.guard(
      'audit',
      async () => {
        await this.ready();
        return (await this.audit.deleteMany({ at: { $lt: before } })).deletedCount;
      },
      this.conn.operationTimeoutMS * 12,
    );
  }

  /**
   * Sweeps now (at start: entries another run left in their documents, having stopped before copying them), then
   * every SWEEP_EVERY_MS in the background, over the resource collections this instance uses.
   */
  async startSweeping(): Promise<void> {
    await this.conn.guard('init', () => this.sweep(this.conn.used), this.conn.operationTimeoutMS * 12);
    if (!this.sweepTimer) {
      this.sweepTimer = setInterval(() => void this.sweep(this.conn.used).catch(() => undefined), SWEEP_EVERY_MS);
      this.sweepTimer.unref();
    }
  }

  /** Stops sweeping and copies what this instance has queued. */
  async close(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    await this.flush();
  }

  /** An entry whose write was stored (in `coll`, in the document's `aud`): copied soon, in a batch. */
  enqueue(coll: Collection<ResourceDocument>, entry: AuditEntry): void {
    this.queue.push({ coll, entry });
    if (!this.running) this.running = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.drain());
  }

  /** Resolves once every entry enqueued before the call was copied (or its copy failed, left to the sweep). */
  async flush(): Promise<void> {
    while (this.running) await this.running;
  }

  /**
   * Before a write replaces the document's entry (that of `version`): copies it, unless this instance knows it did.
   * `held`: the entry as the caller read it with the document at `version` (null: it had none); undefined makes this
   * read it. The write that follows is guarded by `version`, so the entry copied is the one it replaces.
   */
  async beforeReplacing(coll: Collection<ResourceDocument>, id: string, version: number, held?: JsonObject | JsonObject[] | null): Promise<void> {
    if (this.copied.get(`${coll.collectionName}\0${id}`) === version || held === null) return;
    const entries = entriesIn(held ?? (await coll.findOne({ _id: id, v: version }, { projection: { aud: 1 } }))?.aud);
    const last = entries[entries.length - 1];
    if (!last) return;
    if (last.versionAfter !== undefined && this.copied.get(`${coll.collectionName}\0${id}`) === last.versionAfter) return;
    await this.copy(entries.map((entry) => ({ coll, entry })));
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, BATCH);
        try {
          await this.copy(batch);
        } catch {
          // The database failed: the entries stay in their documents, where the next write or the sweep finds them.
        }
      }
    } finally {
      this.running = undefined;
    }
  }

  /** Copies entries into `audit`, idempotently, and remembers them as copied. */
  async copy(items: readonly Outgoing[]): Promise<void> {
    if (items.length === 0) return;
    try {
      await this.audit.insertMany(
        items.map(({ entry }) => ({ _id: entry.id, at: entry.at, rid: entry.resourceId, e: encodeEntry(entry) })),
        { ordered: false },
      );
    } catch (e) {
      // Some were copied before (by the sweep, by another instance, or before a write replaced them).
      if (!isDuplicateKey(e) && !everyDuplicate(e)) throw e;
    }
    for (const { coll, entry } of items) {
      if (entry.versionAfter === undefined) continue;
      const key = `${coll.collectionName}\0${entry.resourceId}`;
      if ((this.copied.get(key) ?? 0) > entry.versionAfter) continue;
      this.copied.delete(key);
      this.copied.set(key, entry.versionAfter);
      if (this.copied.size > REMEMBERED) this.copied.delete(this.copied.keys().next().value!);
    }
  }

  restore(entries: readonly AuditEntry[]): Promise<void> {
    return this.conn.guard('audit', async () => {
      await this.ready();
      for (let i = 0; i < entries.length; i += RESTORE_BATCH) {
        try {
          await this.audit.insertMany(
            entries.slice(i, i + RESTORE_BATCH).map((entry) => ({ _id: entry.id, at: entry.at, rid: entry.resourceId, e: encodeEntry(entry) })),
            { ordered: false },
          );
        } catch (e) {
          // Stored by an earlier run of the same import.
          if (!isDuplicateKey(e) && !everyDuplicate(e)) throw e;
        }
      }
    });
  }

  /** Copies the entry of a document about to be deleted (its delete's). */
  async copyFrom(coll: Collection<ResourceDocument>, doc: Pick<ResourceDocument, 'aud'> | null): Promise<void> {
    await this.copy(entriesIn(doc?.aud).map((entry) => ({ coll, entry })));
  }

  /**
   * Copies the entries whose copy never happened: those of documents written since the last sweep's mark (less the
   * margin) and at least SWEEP_AGE_MS ago, that the trail does not hold. Returns how many were copied.
   */
  async sweep(collections: Iterable<Collection<ResourceDocument>>, now = Date.now()): Promise<number> {
    const cutoff = new Date(now - SWEEP_AGE_MS).toISOString();
    const mark = await this.marks.findOne({ _id: 'mark' });
    const from = mark ? new Date(Date.parse(mark.upTo) - SWEEP_MARGIN_MS).toISOString() : '';
    let copied = 0;
    for (const coll of collections) {
      let after = '';
      for (;;) {
        // In pages by _id within the window, each page's entries looked up in the trail at once.
        const docs = await coll
          .find({ 'aud.at': { $gte: from, $lt: cutoff }, _id: { $gt: after } }, { projection: { aud: 1 } })
          .sort({ _id: 1 })
          .limit(BATCH)
          .toArray();
        if (docs.length === 0) break;
        after = docs[docs.length - 1]!._id;
        const entries = docs.flatMap((d) => entriesIn(d.aud));
        const present = new Set(
          (await this.audit.find({ _id: { $in: entries.map((e) => e.id) } }, { projection: { _id: 1 } }).toArray()).map((d) => d._id),
        );
        const missing = entries.filter((e) => !present.has(e.id));
        await this.copy(missing.map((entry) => ({ coll, entry })));
        copied += missing.length;
        if (docs.length < BATCH) break;
      }
    }
    await this.marks.updateOne({ _id: 'mark' }, { $max: { upTo: cutoff } }, { upsert: true });
    return copied;
  }

  private async query(query: AuditQuery): Promise<AuditPage> {
    const dir = query.order === 'descending' ? -1 : 1;
    const at: Document = {};
    if (query.since !== undefined) at.$gte = query.since;
    if (query.until !== undefined) at.$lt = query.until;
    const where: Document[] = [];
    if (Object.keys(at).length > 0) where.push({ at });
    if (query.resourceId !== undefined) where.push({ rid: query.resourceId });
    if (query.after) {
      const beyond = dir === 1 ? '$gt' : '$lt';
      where.push({ $or: [{ at: { [beyond]: query.after.at } }, { at: query.after.at, _id: { [beyond]: query.after.id } }] });
    }
    const filter = where.length === 0 ? {} : where.length === 1 ? where[0]! : { $and: where };
    // Batches of AUDIT_BATCH: the driver decodes a batch in one go, and a page of 1,000 entries in one batch holds
    // the event loop for tens of milliseconds.
    const docs = await this.audit
      .find(filter, { batchSize: AUDIT_BATCH })
      .sort({ at: dir, _id: dir })
      .limit(query.count + 1)
      .toArray();
    const entries = docs.slice(0, query.count).map((d) => decodeEntry(d.e));
    return { entries, more: docs.length > query.count };
  }

}

