/**
 * The audit trail on MongoDB: one document per entry in the `audit` collection,
 *   { _id: entryId, at, rid: resourceId, e: entry (keys encoded) }
 * indexed by time and by resource.
 *
 * An entry must be stored if and only if its write is, and this store uses no multi-document transactions. So the
 * entry travels inside the resource's own document (an outbox): the version-guarded write of the resource pushes
 * it onto the document's `aud` list in the same single-document update, which is atomic. After the write is
 * answered, the entry is copied into `audit` (batched, in the background) and then pulled from `aud`. Copies are
 * idempotent (the entry's id is the audit document's `_id`), so a copy made twice is one entry. A copy that never
 * happened (the process stopped in between) is found by the sweep: documents whose `aud` holds entries older than
 * SWEEP_AGE_MS (an index on `aud.at` finds them), run at start and every SWEEP_EVERY_MS by every instance. A reader
 * of the trail first waits for this instance's pending copies, so a client reads its own writes' entries at once.
 * A delete goes by the intent of mongo-members.ts: the document is marked with the entry, the entry copied, then
 * the document deleted.
 */
import type { AnyBulkWriteOperation, Collection, Db, Document } from 'mongodb';
import type { AuditEntry, AuditPage, AuditQuery } from '../scim/audit';
import { decodeKeys, encodeKeys, type ResourceDocument } from './mongo-document';
import { isDuplicateKey } from './mongo-errors';
import type { JsonObject } from '../scim/values';

export const AUDIT = 'audit';
/** An entry still in its resource's document after this long is copied by the sweep. */
export const SWEEP_AGE_MS = 10_000;
export const SWEEP_EVERY_MS = 60_000;
/** Entries copied per statement. */
const BATCH = 500;

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

export class MongoAudit {
  private queue: Outgoing[] = [];
  private running?: Promise<void>;

  constructor(private readonly audit: Collection<AuditDocument>) {}

  static of(db: Db): MongoAudit {
    return new MongoAudit(db.collection<AuditDocument>(AUDIT));
  }

  async createIndexes(): Promise<void> {
    await this.audit.createIndexes([
      { key: { at: 1, _id: 1 }, name: 'by:at' },
      { key: { rid: 1, at: 1, _id: 1 }, name: 'by:resource' },
    ]);
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

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, BATCH);
        try {
          await this.copy(batch);
        } catch {
          // The database failed: the entries stay in their documents' `aud`, where the sweep finds them.
        }
      }
    } finally {
      this.running = undefined;
    }
  }

  /** Copies entries into `audit` (idempotently), then pulls them from their documents. */
  async copy(items: readonly Outgoing[]): Promise<void> {
    if (items.length === 0) return;
    try {
      await this.audit.insertMany(
        items.map(({ entry }) => ({ _id: entry.id, at: entry.at, rid: entry.resourceId, e: encodeKeys(entry as unknown as JsonObject) })),
        { ordered: false },
      );
    } catch (e) {
      // Some were copied before (by the sweep, or by another instance): those are already there.
      if (!isDuplicateKey(e) && !everyDuplicate(e)) throw e;
    }
    const byCollection = new Map<Collection<ResourceDocument>, Map<string, string[]>>();
    for (const { coll, entry } of items) {
      const ids = byCollection.get(coll) ?? new Map<string, string[]>();
      ids.set(entry.resourceId, [...(ids.get(entry.resourceId) ?? []), entry.id]);
      byCollection.set(coll, ids);
    }
    for (const [coll, ids] of byCollection) {
      const ops: AnyBulkWriteOperation<ResourceDocument>[] = [...ids].map(([rid, entryIds]) => ({
        updateOne: { filter: { _id: rid }, update: { $pull: { aud: { id: { $in: entryIds } } } } as Document },
      }));
      await coll.bulkWrite(ops, { ordered: false });
    }
  }

  /** Copies the entries of one document (a delete's, before the document goes). */
  async copyFrom(coll: Collection<ResourceDocument>, doc: Pick<ResourceDocument, 'aud'> | null): Promise<void> {
    const entries = (doc?.aud ?? []).map((e) => decodeKeys(e as unknown as JsonObject) as unknown as AuditEntry);
    await this.copy(entries.map((entry) => ({ coll, entry })));
  }

  /** Copies entries left in documents for longer than SWEEP_AGE_MS (their copy never happened). */
  async sweep(collections: Iterable<Collection<ResourceDocument>>, now = Date.now()): Promise<number> {
    const cutoff = new Date(now - SWEEP_AGE_MS).toISOString();
    let copied = 0;
    for (const coll of collections) {
      for (;;) {
        const docs = await coll.find({ 'aud.at': { $lt: cutoff } }, { projection: { aud: 1 } }).limit(BATCH).toArray();
        if (docs.length === 0) break;
        const items: Outgoing[] = [];
        for (const doc of docs) {
          for (const e of doc.aud ?? []) {
            const entry = decodeKeys(e as unknown as JsonObject) as unknown as AuditEntry;
            if (entry.at < cutoff) items.push({ coll, entry });
          }
        }
        await this.copy(items);
        copied += items.length;
        if (docs.length < BATCH) break;
      }
    }
    return copied;
  }

  async query(query: AuditQuery): Promise<AuditPage> {
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
    const docs = await this.audit
      .find(filter)
      .sort({ at: dir, _id: dir })
      .limit(query.count + 1)
      .toArray();
    const entries = docs.slice(0, query.count).map((d) => decodeKeys(d.e) as unknown as AuditEntry);
    return { entries, more: docs.length > query.count };
  }

  async prune(before: string): Promise<number> {
    const result = await this.audit.deleteMany({ at: { $lt: before } });
    return result.deletedCount;
  }
}

/** An unordered insertMany whose every failure was a duplicate key. */
function everyDuplicate(e: unknown): boolean {
  const writeErrors = (e as { writeErrors?: { code?: number }[] | { code?: number } }).writeErrors;
  const list = Array.isArray(writeErrors) ? writeErrors : writeErrors ? [writeErrors] : [];
  return list.length > 0 && list.every((w) => w.code === 11000);
}
