/**
 * The embedded store's read of the whole directory for an export: one LMDB read transaction from open to close, so
 * every page sees the directory as it was when the export began, whatever is written meanwhile (LMDB keeps the
 * pages that transaction sees until it ends, so a long export beside many writes grows the data file for a while).
 */
import type { Key, Transaction } from 'lmdb';
import type { AuditEntry, AuditPosition } from '../../scim/audit';
import type { StoredRecord } from '../../scim/resource';
import type { ResourceSchema } from '../../scim/schema';
import type { DirectoryReader, MemberEntry } from '../store';
import { MAX_ID, recordOf, type LmdbEnvironment, type StoredMember } from './environment';
import type { LmdbAudit } from './audit';

export class LmdbReader implements DirectoryReader {
  readonly consistency = 'snapshot' as const;
  private readonly transaction: Transaction;
  private closed = false;

  constructor(
    private readonly db: LmdbEnvironment,
    private readonly trail: LmdbAudit,
  ) {
    this.transaction = db.env.useReadTransaction();
  }

  private range<K>(start: K, end: K, limit: number) {
    return { start, end, limit, transaction: this.transaction } as unknown as { start: Key; end: Key; limit: number };
  }

  async count(schema: ResourceSchema): Promise<number> {
    return this.db.counts.get([schema.type.id], { transaction: this.transaction }) ?? 0;
  }

  async records(schema: ResourceSchema, after: string | undefined, limit: number): Promise<StoredRecord[]> {
    const type = schema.type.id;
    const out: StoredRecord[] = [];
    for (const { key, value } of this.db.records.getRange(this.range([type, after ?? ''], [type, MAX_ID], limit + 1) as never)) {
      const id = (key as [string, string])[1];
      if (id === after) continue;
      if (out.length === limit) break;
      out.push(recordOf(schema, id, value));
    }
    return out;
  }

  async members(groupId: string, after: string | undefined, limit: number): Promise<MemberEntry[]> {
    const out: MemberEntry[] = [];
    for (const { key, value } of this.db.memberPairs.getRange(this.range(['g', groupId, after ?? ''], ['g', groupId, MAX_ID], limit + 1) as never)) {
      const member = (key as string[])[2]!;
      if (member === after) continue;
      if (out.length === limit) break;
      const pair = value as StoredMember;
      out.push(pair.d === undefined ? { value: member, type: pair.t } : { value: member, display: pair.d, type: pair.t });
    }
    return out;
  }

  async audit(after: AuditPosition | undefined, limit: number): Promise<AuditEntry[]> {
    const out: AuditEntry[] = [];
    const start = after ? ['t', after.at, after.id] : ['t'];
    for (const { key, value } of this.db.audit.getRange(this.range(start, ['t', MAX_ID], limit + 1) as never)) {
      const k = key as string[];
      if (after && k[1] === after.at && k[2] === after.id) continue;
      if (value === 1) continue;
      if (out.length === limit) break;
      out.push(this.trail.read(value, this.transaction));
    }
    return out;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.transaction.done();
  }
}
