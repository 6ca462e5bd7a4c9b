/**
 * Groups' members in the embedded store: one (group, member) pair per membership, under two keys (by group, by
 * member), and a count of the groups holding each member. Read and renamed here; changed inside the write
 * transaction of the group's record (records.ts), so a group and its pairs change together.
 */
import type { MemberChange, MemberEntry, Membership, MembershipStore, MemberType } from '../store';
import { MAX_ID, type LmdbEnvironment, type StoredMember } from './environment';
import { Turns } from '../../turns';
import { rangeSlices } from './slices';

/** Members read per range read; the event loop is given back between reads once a slice's budget is spent. */
const MEMBERS_SLICE = 1000;
/** Pairs an import adds per transaction. */
const RESTORE_BATCH = 1000;

function storedMember(t: MemberType, d: string | undefined): StoredMember {
  return d === undefined ? { t } : { t, d };
}

export class LmdbMemberships implements MembershipStore {
  constructor(private readonly db: LmdbEnvironment) {}

  /**
   * A group's members in member-id order, read in slices with the event loop free in between (a group of 100,000
   * members takes tens of milliseconds to read; ./slices.ts).
   */
  /** The members as members() reads them: one range of keys, in order already, which costs nothing more. */
  memberIds(groupId: string): Promise<MemberEntry[]> {
    return this.members(groupId);
  }

  async members(groupId: string): Promise<MemberEntry[]> {
    const out: MemberEntry[] = [];
    const read = (range: object) => this.db.memberPairs.getRange(range as Parameters<typeof this.db.memberPairs.getRange>[0]);
    const range = { start: ['g', groupId], end: ['g', groupId, MAX_ID] };
    for await (const slice of rangeSlices(read, (e) => e.key, range, MEMBERS_SLICE, new Turns())) {
      for (const { key, value } of slice) {
        const pair = value as StoredMember;
        // Keys in the order a response shows them (value, display, type): the caller passes these on as they are.
        out.push(pair.d === undefined ? { value: key[2], type: pair.t } : { value: key[2], display: pair.d, type: pair.t });
      }
    }
    return out;
  }

  async membersAmong(groupId: string, ids: readonly string[]): Promise<Set<string>> {
    return new Set(ids.filter((id) => this.db.memberPairs.get(['g', groupId, id]) !== undefined));
  }

  async groupsOf(memberIds: readonly string[]): Promise<Membership[]> {
    const out: Membership[] = [];
    for (const member of memberIds) {
      for (const { key, value } of this.db.memberPairs.getRange({ start: ['m', member], end: ['m', member, MAX_ID] })) {
        out.push({ group: key[2], member, type: value as MemberType });
      }
    }
    return out;
  }

  async renameMember(memberId: string, display: string | undefined): Promise<void> {
    await this.db.write(() => {
      for (const { key } of this.db.memberPairs.getRange({ start: ['m', memberId], end: ['m', memberId, MAX_ID] })) {
        const pair = this.db.memberPairs.get(['g', key[2], memberId]) as StoredMember | undefined;
        if (!pair || pair.d === display) continue;
        this.db.memberPairs.put(['g', key[2], memberId], storedMember(pair.t, display));
      }
    });
  }

  async restore(groupId: string, members: readonly MemberEntry[]): Promise<void> {
    // In transactions of RESTORE_BATCH pairs: a group of 100,000 members in one would hold the write lock for long.
    for (let i = 0; i < members.length; i += RESTORE_BATCH) {
      const add = members.slice(i, i + RESTORE_BATCH);
      await this.db.write(() => this.change(groupId, { add }));
    }
  }

  /** Whether the resource is in some group (its representation then has `groups`): one key, not a range. */
  isMember(id: string): boolean {
    return this.db.memberPairs.doesExist(['n', id, '']);
  }

  /** Applies a change of a group's members (inside the caller's transaction): both keys of each pair. */
  change(groupId: string, change: MemberChange): void {
    if (change.replace) {
      const keep = new Set(change.replace.map((m) => m.value));
      for (const member of this.memberIdsOf(groupId)) if (!keep.has(member)) this.removePair(groupId, member);
    }
    for (const m of [...(change.replace ?? []), ...(change.add ?? [])]) {
      // In the same transaction as the check: a member deleted meanwhile is not added (its delete took its pairs).
      if (!this.db.records.doesExist([m.type, m.value])) continue;
      if (!this.db.memberPairs.doesExist(['g', groupId, m.value])) this.countGroups(m.value, 1);
      this.db.memberPairs.put(['g', groupId, m.value], storedMember(m.type, m.display));
      this.db.memberPairs.put(['m', m.value, groupId], m.type);
    }
    for (const id of change.remove ?? []) this.removePair(groupId, id);
  }

  /** Removes every pair a resource is in, as a group and as a member (inside the caller's transaction). */
  dropAll(id: string): void {
    for (const member of this.memberIdsOf(id)) this.removePair(id, member);
    const groups = [...this.db.memberPairs.getKeys({ start: ['m', id], end: ['m', id, MAX_ID] })].map((k) => k[2]);
    for (const group of groups) this.removePair(group, id);
  }

  private memberIdsOf(groupId: string): string[] {
    return [...this.db.memberPairs.getKeys({ start: ['g', groupId], end: ['g', groupId, MAX_ID] })].map((k) => k[2]);
  }

  private removePair(groupId: string, member: string): void {
    if (!this.db.memberPairs.doesExist(['g', groupId, member])) return;
    this.db.memberPairs.remove(['g', groupId, member]);
    this.db.memberPairs.remove(['m', member, groupId]);
    this.countGroups(member, -1);
  }

  /** Keeps ['n', member] the number of groups holding the member. */
  private countGroups(member: string, by: number): void {
    const key: [string, string, string] = ['n', member, ''];
    const n = ((this.db.memberPairs.get(key) as number | undefined) ?? 0) + by;
    if (n > 0) this.db.memberPairs.put(key, n);
    else this.db.memberPairs.remove(key);
  }
}
