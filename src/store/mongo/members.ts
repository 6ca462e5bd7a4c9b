/**
 * Group members on MongoDB: one document per (group, member) pair in the `memberships` collection,
 *   { _id: "<group> <member>", g: group, m: member, t: "User" | "Group", d?: display }
 * indexed by group (a group's members) and by member (a user's groups). Adding or removing a member writes one
 * pair, whatever the group's size, and no document grows with the group (MongoDB's 16 MB never comes near).
 *
 * A write that changes a group and its pairs spans documents; intents.ts makes it all or nothing without
 * multi-document transactions, applying the change here (apply(), idempotent).
 *
 * A user's documents carry `gm: true` once the user was made a member of some group (set before the pair is
 * written, never removed): a GET of a user without it needs no second query for `groups` (records.ts getView).
 */
import type { AnyBulkWriteOperation, Collection } from 'mongodb';
import type { MemberChange, MemberEntry, Membership, MembershipStore, MemberType } from '../store';
import type { ResourceDocument } from './document';
import { onceUntilItWorks, type MongoConnection } from './connection';
import { everyDuplicate, isDuplicateKey } from './errors';

export const MEMBERSHIPS = 'memberships';
/** Ids per statement: bounded commands, whatever the group's size. */
const CHUNK = 1000;
/** Pairs per batch when a group's members are read. */
const MEMBERS_BATCH = 2000;

export interface PairDocument {
  _id: string;
  g: string;
  m: string;
  t: MemberType;
  d?: string;
}

/** `items` in slices of CHUNK, so that no statement grows with a group. */
export function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

const pairId = (group: string, member: string) => `${group} ${member}`;

export class MongoMemberships implements MembershipStore {
  readonly pairs: Collection<PairDocument>;
  /** The collection's indexes, created on first use (retried if that failed). */
  readonly ready = onceUntilItWorks(async () => {
    await this.pairs.createIndex({ g: 1, m: 1 }, { name: 'by:group' });
    await this.pairs.createIndex({ m: 1 }, { name: 'by:member' });
  });

  constructor(private readonly conn: MongoConnection) {
    this.pairs = conn.db.collection<PairDocument>(MEMBERSHIPS);
  }

  members(groupId: string): Promise<MemberEntry[]> {
    return this.conn.guard('members', async () => {
      await this.ready();
      // Member-id order, as the embedded store gives them, from the by:group index (g, m): sorted by the database,
      // not here (100,000 ids sorted in memory hold the event loop for tens of milliseconds). Batches of
      // MEMBERS_BATCH: the driver decodes each batch in one go, so a 16 MB batch would hold it too.
      const out: MemberEntry[] = [];
      const cursor = this.pairs.find({ g: groupId }, { projection: { _id: 0, m: 1, t: 1, d: 1 }, sort: { g: 1, m: 1 }, batchSize: MEMBERS_BATCH });
      for await (const p of cursor) {
        // Keys in the order a response shows them (value, display, type): the caller passes these on as they are.
        out.push(p.d === undefined || p.d === null ? { value: p.m, type: p.t } : { value: p.m, display: p.d, type: p.t });
      }
      return out;
    });
  }

  /**
   * Ids and types only (the ids of a 100,000-member group, for a membership filter). In the by:group index's order:
   * unsorted, DocumentDB planned the read of a 100,000-member group as a scan that took over 5 s.
   */
  memberIds(groupId: string): Promise<Pick<MemberEntry, 'value' | 'type'>[]> {
    return this.conn.guard('members', async () => {
      await this.ready();
      const out: Pick<MemberEntry, 'value' | 'type'>[] = [];
      const cursor = this.pairs.find({ g: groupId }, { projection: { _id: 0, m: 1, t: 1 }, sort: { g: 1, m: 1 }, batchSize: MEMBERS_BATCH });
      for await (const p of cursor) out.push({ value: p.m, type: p.t });
      return out;
    });
  }

  membersAmong(groupId: string, ids: readonly string[]): Promise<Set<string>> {
    return this.conn.guard('members', async () => {
      await this.ready();
      const out = new Set<string>();
      for (const part of chunks(ids)) {
        for (const p of await this.pairs.find({ _id: { $in: part.map((id) => pairId(groupId, id)) } }, { projection: { m: 1 } }).toArray()) out.add(p.m);
      }
      return out;
    });
  }

  async groupsOf(memberIds: readonly string[]): Promise<Membership[]> {
    if (memberIds.length === 0) return [];
    return this.conn.guard('members', async () => {
      await this.ready();
      const out: Membership[] = [];
      for (const part of chunks(memberIds)) {
        const query = part.length === 1 ? { m: part[0]! } : { m: { $in: part } };
        for (const p of await this.pairs.find(query, { projection: { g: 1, m: 1, t: 1 } }).toArray()) out.push({ group: p.g, member: p.m, type: p.t });
      }
      return out;
    });
  }

  async renameMember(memberId: string, display: string | undefined): Promise<void> {
    await this.conn.guard('members', async () => {
      await this.ready();
      await this.pairs.updateMany({ m: memberId }, display === undefined ? { $unset: { d: '' } } : { $set: { d: display } });
    });
  }

  /**
   * Pairs inserted rather than upserted (an import: a pair already there is one an earlier run of it stored), with
   * the same marks before and the same check after as apply().
   */
  restore(groupId: string, members: readonly MemberEntry[]): Promise<void> {
    return this.conn.guard('members', async () => {
      await this.ready();
      const byType = await this.mark(members);
      for (const part of chunks(members)) {
        try {
          await this.pairs.insertMany(
            part.map((m) => pairOf(groupId, m)),
            { ordered: false },
          );
        } catch (e) {
          if (!isDuplicateKey(e) && !everyDuplicate(e)) throw e;
        }
      }
      await this.dropVanished(groupId, byType);
    });
  }

  /**
   * Makes the pairs of `groupId` what `change` says (inside the caller's guard). Idempotent: running it again
   * (finishing an intent) is safe.
   */
  async apply(groupId: string, change: MemberChange): Promise<void> {
    await this.ready();
    const added = [...(change.replace ?? []), ...(change.add ?? [])];
    const byType = await this.mark(added);
    const remove = [...(change.remove ?? [])];
    if (change.replace) {
      const keep = new Set(change.replace.map((m) => m.value));
      for await (const pair of this.pairs.find({ g: groupId }, { projection: { m: 1 } })) if (!keep.has(pair.m)) remove.push(pair.m);
    }
    for (const part of chunks(added)) {
      const ops: AnyBulkWriteOperation<PairDocument>[] = part.map((m) => ({
        replaceOne: { filter: { _id: pairId(groupId, m.value) }, replacement: pairOf(groupId, m), upsert: true },
      }));
      await this.pairs.bulkWrite(ops, { ordered: false });
    }
    for (const part of chunks(remove)) await this.pairs.deleteMany({ g: groupId, m: { $in: part } });
    await this.dropVanished(groupId, byType);
  }

  /**
   * Marks the members about to be added (`gm`), by type; returns their collections and ids. Members are marked
   * before their pairs exist, so a mark may be early (never late). One update by _id per member, in one bulk
   * command: DocumentDB runs an updateMany over `_id: {$in: […]}` without the _id index (100 members took 400 ms
   * with 100,000 users, against 10 ms as 100 updates by _id).
   */
  private async mark(added: readonly MemberEntry[]): Promise<{ coll: Collection<ResourceDocument>; ids: string[] }[]> {
    const byType: { coll: Collection<ResourceDocument>; ids: string[] }[] = [];
    for (const type of ['User', 'Group'] as const) {
      const ids = added.filter((m) => m.type === type).map((m) => m.value);
      const coll = ids.length > 0 ? await this.conn.collectionOfType(type) : undefined;
      if (coll) byType.push({ coll, ids });
    }
    for (const { coll, ids } of byType) {
      for (const part of chunks(ids)) {
        await coll.bulkWrite(
          part.map((id) => ({ updateOne: { filter: { _id: id, gm: { $exists: false } }, update: { $set: { gm: true } } } })),
          { ordered: false },
        );
      }
    }
    return byType;
  }

  /**
   * A member deleted while it was being added (its delete removed its pairs before ours were written) must not
   * stay behind as a member of nothing that exists.
   */
  private async dropVanished(groupId: string, byType: { coll: Collection<ResourceDocument>; ids: string[] }[]): Promise<void> {
    for (const { coll, ids } of byType) {
      for (const part of chunks(ids)) {
        const found = new Set((await coll.find({ _id: { $in: part } }, { projection: { _id: 1 } }).toArray()).map((d) => d._id));
        const gone = part.filter((id) => !found.has(id));
        if (gone.length > 0) await this.pairs.deleteMany({ g: groupId, m: { $in: gone } });
      }
    }
  }

  /** Removes every pair of `id`, as a group and as a member (inside the caller's guard). */
  async dropAll(id: string): Promise<void> {
    await this.ready();
    await this.pairs.deleteMany({ g: id });
    await this.pairs.deleteMany({ m: id });
  }
}

function pairOf(groupId: string, m: MemberEntry): PairDocument {
  const doc: PairDocument = { _id: pairId(groupId, m.value), g: groupId, m: m.value, t: m.type };
  if (m.display !== undefined) doc.d = m.display;
  return doc;
}
