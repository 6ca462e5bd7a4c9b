/**
 * The MongoDB store's read of the whole directory for an export. `live`: MongoDB offers snapshot reads only inside
 * transactions or for a few minutes of history on a replica set (`minSnapshotHistoryWindowInSeconds`, 300 s by
 * default), shorter than an export of a large directory, and the test database has neither; each page reads the data
 * as it is then. The exporter (../../transfer/export.ts) says whether the directory changed while it read.
 */
import type { AuditEntry, AuditPosition } from '../../scim/audit';
import type { StoredRecord } from '../../scim/resource';
import type { ResourceSchema } from '../../scim/schema';
import type { DirectoryReader, MemberEntry } from '../store';
import type { MongoConnection } from './connection';
import { collectionName, fromDocument, type ResourceDocument } from './document';
import type { MongoAudit } from './audit';
import type { MongoMemberships } from './members';
import { RECORD_PROJECTION } from './queries';

export class MongoReader implements DirectoryReader {
  readonly consistency = 'live' as const;

  constructor(
    private readonly conn: MongoConnection,
    private readonly memberships: MongoMemberships,
    private readonly trail: MongoAudit,
  ) {}

  count(schema: ResourceSchema): Promise<number> {
    return this.conn.guard('export', () => this.conn.db.collection<ResourceDocument>(collectionName(schema)).countDocuments({}));
  }

  records(schema: ResourceSchema, after: string | undefined, limit: number): Promise<StoredRecord[]> {
    const coll = this.conn.db.collection<ResourceDocument>(collectionName(schema));
    return this.conn.guard('export', async () => {
      const docs = await coll.find(after === undefined ? {} : { _id: { $gt: after } }, { projection: RECORD_PROJECTION, sort: { _id: 1 }, limit, hint: { _id: 1 } }).toArray();
      return docs.map((d) => fromDocument(schema, d));
    });
  }

  members(groupId: string, after: string | undefined, limit: number): Promise<MemberEntry[]> {
    return this.conn.guard('export', async () => {
      await this.memberships.ready();
      const query = after === undefined ? { g: groupId } : { g: groupId, m: { $gt: after } };
      const pairs = await this.memberships.pairs.find(query, { projection: { _id: 0, m: 1, t: 1, d: 1 }, sort: { g: 1, m: 1 }, limit }).toArray();
      return pairs.map((p) => (p.d === undefined || p.d === null ? { value: p.m, type: p.t } : { value: p.m, display: p.d, type: p.t }));
    });
  }

  async audit(after: AuditPosition | undefined, limit: number): Promise<AuditEntry[]> {
    return (await this.trail.log({ order: 'ascending', count: limit, after })).entries;
  }

  close(): void {
    // Nothing held.
  }
}
