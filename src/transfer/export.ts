/**
 * `npm run export`: the whole directory as an export file (format.ts), read through the store's DirectoryReader a
 * page at a time and written with the output's backpressure respected, so that memory stays flat whatever the size.
 *
 * Order: every resource, type by type in id order; then the members of each group, read again group by group (an
 * import stores every resource before any pair, so a group that contains a group later in id order finds it); then,
 * with `audit`, the trail in (at, id) order.
 */
import { randomUUID } from 'node:crypto';
import type { Writable } from 'node:stream';
import { once } from 'node:events';
import type { ResourceSchema } from '../scim/schema';
import { membersAttribute } from '../scim/members';
import { parseFilter } from '../scim/filter/parse';
import type { AuditEntry, AuditPosition } from '../scim/audit';
import type { Member } from '../scim/members';
import type { StoredRecord } from '../scim/resource';
import type { DirectoryReader, Store } from '../store/store';
import {
  AUDIT_KIND,
  Checksums,
  FORMAT,
  FORMAT_VERSION,
  MEMBERS_KIND,
  MEMBERS_PER_LINE,
  memberItem,
  resourceItem,
  resourceLine,
  type ExportLine,
  type HeaderLine,
  type TrailerLine,
} from './format';

/** Resources read per page. */
const PAGE = 500;
/** Audit entries read per page. */
const AUDIT_PAGE = 1000;

export interface ExportOptions {
  audit?: boolean;
  server: string;
  /** Told after each page: lines written so far, and resources of the header's counts. */
  onProgress?: (written: { lines: number; resources: number; total: number }) => void;
  now?: () => Date;
}

export interface ExportResult {
  header: HeaderLine;
  trailer: TrailerLine;
  /**
   * On a store without snapshots: resources created, changed or deleted while the export read (0 when none). The
   * file then holds each resource as it was when its page was read, not the directory at one moment.
   */
  changedDuring: number;
}

/** Writes a line, waiting for the output to drain when its buffer is full. */
async function put(out: Writable, line: ExportLine): Promise<void> {
  if (!out.write(`${JSON.stringify(line)}\n`)) await once(out, 'drain');
}

/** What readDirectory tells, item by item, in the file's order. */
export interface DirectoryVisitor {
  resource(record: StoredRecord): Promise<void> | void;
  /** A group's members, at most MEMBERS_PER_LINE at a time, in member-id order. */
  members(group: string, members: Member[]): Promise<void> | void;
  audit(entry: AuditEntry): Promise<void> | void;
}

/**
 * The whole directory through `reader`, a page at a time, in the export file's order: every resource of each type
 * in `schemas`' order, then each group's members, then (with `audit`) the trail. The export writes it; an import
 * reads its target back with it to compare checksums.
 */
export async function readDirectory(reader: DirectoryReader, schemas: readonly ResourceSchema[], audit: boolean, visit: DirectoryVisitor): Promise<void> {
  for (const schema of schemas) {
    for (let after: string | undefined; ; ) {
      const page = await reader.records(schema, after, PAGE);
      if (page.length === 0) break;
      for (const record of page) await visit.resource(record);
      after = page[page.length - 1]!.id;
    }
  }
  for (const schema of schemas.filter((s) => membersAttribute(s))) {
    for (let group: string | undefined; ; ) {
      const page = await reader.records(schema, group, PAGE);
      if (page.length === 0) break;
      for (const { id } of page) {
        for (let after: string | undefined; ; ) {
          const members = await reader.members(id, after, MEMBERS_PER_LINE);
          if (members.length === 0) break;
          await visit.members(id, members);
          after = members[members.length - 1]!.value;
        }
      }
      group = page[page.length - 1]!.id;
    }
  }
  if (!audit) return;
  for (let after: AuditPosition | undefined; ; ) {
    const page = await reader.audit(after, AUDIT_PAGE);
    if (page.length === 0) break;
    for (const entry of page) await visit.audit(entry);
    const last = page[page.length - 1]!;
    after = { at: last.at, id: last.id };
  }
}

export async function exportDirectory(store: Store, schemas: readonly ResourceSchema[], out: Writable, options: ExportOptions): Promise<ExportResult> {
  const reader = store.reader();
  const now = options.now ?? (() => new Date());
  try {
    const counts: Record<string, number> = {};
    for (const schema of schemas) counts[schema.type.id] = await reader.count(schema);
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    const header: HeaderLine = {
      type: 'header',
      format: FORMAT,
      formatVersion: FORMAT_VERSION,
      id: randomUUID(),
      server: options.server,
      store: store.kind,
      consistency: reader.consistency,
      at: now().toISOString(),
      counts,
      audit: options.audit === true,
    };
    const sums = new Checksums();
    // The trailer counts every kind the file may hold, those with no item too.
    for (const kind of [...schemas.map((s) => s.type.id), MEMBERS_KIND, ...(options.audit ? [AUDIT_KIND] : [])]) sums.of(kind);
    let lines = 0;
    let resources = 0;
    await put(out, header);
    lines++;
    await readDirectory(reader, schemas, options.audit === true, {
      resource: async (record) => {
        sums.of(record.resourceType).add(resourceItem(record));
        await put(out, resourceLine(record));
        lines++;
        if (++resources % PAGE === 0) options.onProgress?.({ lines, resources, total });
      },
      members: async (group, members) => {
        for (const m of members) sums.of(MEMBERS_KIND).add(memberItem(group, m));
        await put(out, { type: 'members', group, members });
        lines++;
      },
      audit: async (entry) => {
        sums.of(AUDIT_KIND).add(entry);
        await put(out, { type: 'audit', entry });
        if (++lines % AUDIT_PAGE === 0) options.onProgress?.({ lines, resources, total });
      },
    });
    options.onProgress?.({ lines, resources, total });
    const trailer: TrailerLine = { type: 'trailer', counts: sums.counts(), checksums: sums.hexes(), lines: lines + 1 };
    await put(out, trailer);
    const changedDuring = reader.consistency === 'snapshot' ? 0 : await changedSince(store, schemas, header);
    return { header, trailer, changedDuring };
  } finally {
    reader.close();
  }
}

/**
 * What a live read may have missed: resources modified since the export began (meta.lastModified, indexed on both
 * stores), and deletions, seen as a count lower than the header's once the modified ones are taken out.
 */
async function changedSince(store: Store, schemas: readonly ResourceSchema[], header: HeaderLine): Promise<number> {
  let changed = 0;
  for (const schema of schemas) {
    const since = await store.resources.query(schema, { filter: parseFilter(schema, `meta.lastModified ge "${header.at}"`), startIndex: 1, count: 0 });
    const total = await store.resources.query(schema, { startIndex: 1, count: 0 });
    changed += since.totalResults + Math.max(0, (header.counts[schema.type.id] ?? 0) - (total.totalResults - since.totalResults));
  }
  return changed;
}
