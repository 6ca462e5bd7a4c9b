/**
 * The audit trail in the embedded store: each entry under two keys, in time order and by resource, put in the
 * transaction of the write it records (records.ts): no write without its entry, no entry without its write.
 */
import type { AuditEntry, AuditPage, AuditQuery } from '../../scim/audit';
import type { AuditStore } from '../store';
import { MAX_ID, type LmdbEnvironment } from './environment';
import { Turns } from '../../turns';
import { rangeSlices } from './slices';

/** Entries a prune removes per transaction, so that a first prune of a long log does not hold the write lock long. */
const PRUNE_BATCH = 5000;
/** Keys a page of the trail reads per range read. */
const LOG_SLICE = 200;

/** Orders two keys of strings as the database does (by code point, element by element). */
function compareKeys(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  }
  return a.length - b.length;
}

export class LmdbAudit implements AuditStore {
  constructor(private readonly db: LmdbEnvironment) {}

  /** Stores an entry (inside the caller's transaction). */
  put(entry: AuditEntry): void {
    this.db.audit.put(['t', entry.at, entry.id], entry);
    this.db.audit.put(['r', entry.resourceId, entry.at, entry.id], 1);
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
        entries.push(entry);
      }
    }
    return { entries, more: false };
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
