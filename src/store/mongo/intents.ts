/**
 * Writes that span documents, made all or nothing without multi-document transactions: a group and its member pairs
 * (members.ts), a resource and its pairs when it is deleted.
 *
 * The write is kept as an intent in the resource's own document: the document is written (one version-guarded
 * document write, atomic) together with `pend`, the rest of the write still to make; the rest is then made, every
 * step idempotent; then `pend` is removed. While `pend` is there, other writes of the document find no match for
 * their guard and retry (ResourceService), so changes to one group's pairs never interleave. A write stopped half
 * way (a crash, a lost connection) leaves `pend` behind: the next read of the document by this process, or by any
 * process once the intent is PEND_STALE_MS old (its writer is presumed gone), finishes it. Deleting a resource that
 * has pairs is the same: `pend: {delete: true}`, then its pairs, then the document.
 */
import { randomUUID } from 'node:crypto';
import type { Collection } from 'mongodb';
import type { MemberChange } from '../store';
import type { Pending, ResourceDocument } from './document';
import type { MongoMemberships } from './members';
import type { MongoAudit } from './audit';

/** An intent older than this is finished by whoever reads it: its writer is presumed gone. */
export const PEND_STALE_MS = 10_000;

/** A record read by a write, with what the write needs of its document: everything but the query copy and view. */
export const WRITE_READ_PROJECTION = { q: 0, view: 0 } as const;

export class Intents {
  /** Names this instance in the intents it writes. */
  private readonly instance = randomUUID();
  /** Ids whose intent this instance is carrying out right now. */
  private readonly inFlight = new Set<string>();

  constructor(
    private readonly memberships: MongoMemberships,
    private readonly audit: MongoAudit,
  ) {}

  /** A new intent of this instance, to store in a document's `pend`. */
  intent(change: { members?: MemberChange; delete?: true }): Pending {
    return { ...change, at: Date.now(), by: this.instance };
  }

  /** This instance is about to write (or is carrying out) the intent of `id`: settle() leaves it alone meanwhile. */
  begin(id: string): void {
    this.inFlight.add(id);
  }

  /** The intent of `id` was not written after all (its write failed or matched nothing). */
  abandon(id: string): void {
    this.inFlight.delete(id);
  }

  /**
   * Carries out the intent of `doc` and removes it, if it is this instance's own (and not being carried out right
   * now) or stale. Returns the document as it is afterwards (undefined once deleted), or as it was when the intent
   * is someone else's work in progress.
   */
  async settle(coll: Collection<ResourceDocument>, doc: ResourceDocument): Promise<ResourceDocument | undefined> {
    const pend = doc.pend;
    if (!pend) return doc;
    if (this.inFlight.has(doc._id)) return doc;
    if (pend.by !== this.instance && Date.now() - pend.at < PEND_STALE_MS) return doc;
    await this.finish(coll, doc._id, doc.v, pend);
    return (await coll.findOne({ _id: doc._id }, { projection: WRITE_READ_PROJECTION })) ?? undefined;
  }

  /** Makes the rest of the write `pend` holds, then removes it (or the document, for a delete). */
  async finish(coll: Collection<ResourceDocument>, id: string, version: number, pend: Pending): Promise<void> {
    this.inFlight.add(id);
    try {
      if (pend.delete) {
        await this.memberships.dropAll(id);
        // The delete's audit entry (and any not copied yet) goes into the trail before the document goes.
        await this.audit.copyFrom(coll, await coll.findOne({ _id: id }, { projection: { aud: 1 } }));
        await coll.deleteOne({ _id: id, 'pend.at': pend.at });
        return;
      }
      if (pend.members) await this.memberships.apply(id, pend.members);
      await coll.updateOne({ _id: id, v: version, 'pend.at': pend.at }, { $unset: { pend: '' } });
    } finally {
      this.inFlight.delete(id);
    }
  }
}
