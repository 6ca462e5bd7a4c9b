/**
 * The format a store was written in (issue 30): a note in the store itself (NoteStore `format`), so that a server
 * meeting data written by an older build upgrades it before serving it, and one meeting data of a newer build
 * refuses to start rather than misread it.
 *
 * Formats:
 *   1  every store written before the note existed (no note). Case-insensitive values were folded by lower-casing
 *      only in builds before NFC folding (scim/query-copy.ts foldCase): their normalised copies, unique keys and index
 *      entries may differ from what the server computes now, so `café` with a combining accent could neither be
 *      found by a filter nor collide with `café` precomposed.
 *   2  every such resource stored again, so that what is derived from it is folded as foldCase folds.
 *
 * The upgrade walks every resource a page at a time, each page from a fresh read, and stores again, as the server's
 * own repair, the resources that would fold differently (a new version, as `npm run schema -- apply` makes for a
 * caseExact change: caches and clients see a change). The note records its position after each page and each
 * repair before it is made, so an upgrade stopped (a crash, kill -9) goes on from the page it was in and makes no
 * repair twice: run again, it finds what is done done.
 */
import type { ResourceSchema } from '../scim/schema';
import { foldBeforeNfc, foldedDifferentlyBefore } from '../scim/query-copy';
import type { Store } from '../store/store';

export const STORE_FORMAT = 2;
export const FORMAT_NOTE = 'format';
/** Records per page of the upgrade's walk. */
const PAGE = 500;

interface FormatNote {
  format: number;
  /** An upgrade in progress: the type and id it reached. */
  upgrading?: {
    to: number;
    type: string;
    after?: string;
    /** A repair about to be made: the record and the version it makes. Found made on resume, it is not made again. */
    repairing?: { id: string; version: number };
  };
}

export class StoreFormatError extends Error {}

export interface UpgradeReport {
  from: number;
  to: number;
  walked: number;
  restored: number;
}

export interface UpgradeOptions {
  /** Told after each page. */
  onProgress?: (type: string, walked: number, total: number) => void;
}

async function readNote(store: Store): Promise<FormatNote | undefined> {
  const text = await store.notes.read(FORMAT_NOTE);
  if (text === undefined) return undefined;
  const note = JSON.parse(text) as FormatNote;
  if (!Number.isSafeInteger(note.format) || note.format < 1) throw new StoreFormatError(`the store's format note is not one this server wrote: ${text}`);
  return note;
}

/** Whether the store holds nothing: no resource of these types, no audit entry. */
export async function isEmptyStore(store: Store, schemas: readonly ResourceSchema[]): Promise<boolean> {
  const reader = store.reader();
  try {
    for (const schema of schemas) if ((await reader.count(schema)) > 0) return false;
    return (await reader.audit(undefined, 1)).length === 0;
  } finally {
    reader.close();
  }
}

/** Notes an empty store (a new directory, an import's target) as written in the current format. */
export async function noteCurrentFormat(store: Store): Promise<void> {
  await store.notes.write(FORMAT_NOTE, JSON.stringify({ format: STORE_FORMAT }));
}

/** The store's format: the note's, 1 for data written before the note, undefined for an empty store without one. */
export async function storeFormat(store: Store, schemas: readonly ResourceSchema[]): Promise<number | undefined> {
  const note = await readNote(store);
  if (note) return note.format;
  return (await isEmptyStore(store, schemas)) ? undefined : 1;
}

/**
 * Brings the store to STORE_FORMAT before it is served: notes an empty store as current, upgrades an older one in
 * place, refuses a newer one. Returns what an upgrade did, undefined when there was none.
 */
export async function upgradeStore(store: Store, schemas: readonly ResourceSchema[], options: UpgradeOptions = {}): Promise<UpgradeReport | undefined> {
  const note = await readNote(store);
  if (note && note.format > STORE_FORMAT) {
    throw new StoreFormatError(
      `the store was written in format ${note.format} by a newer server; this one reads formats up to ${STORE_FORMAT}: run the newer server, or export with it (npm run export) and import here`,
    );
  }
  if (note?.format === STORE_FORMAT) return undefined;
  if (!note && (await isEmptyStore(store, schemas))) {
    await noteCurrentFormat(store);
    return undefined;
  }
  const from = note?.format ?? 1;
  const report: UpgradeReport = { from, to: STORE_FORMAT, walked: 0, restored: 0 };
  // Only one step so far: 1 → 2, the refold.
  let position = note?.upgrading;
  for (const schema of schemas) {
    const type = schema.type.id;
    if (position && position.type !== type) {
      // Types before the one the upgrade reached are done.
      if (schemas.findIndex((s) => s.type.id === position!.type) > schemas.indexOf(schema)) continue;
    }
    let after = position?.type === type ? position.after : undefined;
    const interrupted = position?.type === type ? position.repairing : undefined;
    position = undefined;
    const total = await countOf(store, schema);
    let walked = 0;
    for (;;) {
      // A fresh read per page: the embedded store's snapshot would otherwise hold old pages while the repairs write.
      const reader = store.reader();
      let page;
      try {
        page = await reader.records(schema, after, PAGE);
      } finally {
        reader.close();
      }
      if (page.length === 0) break;
      for (const record of page) {
        if (!foldedDifferentlyBefore(record.resource)) continue;
        // Made before the upgrade stopped: its derived values are folded anew already.
        if (interrupted?.id === record.id && record.version >= interrupted.version) continue;
        const version = record.version + 1;
        // Noted before it is made, so that an upgrade stopped right after makes it once, not twice.
        await store.notes.write(FORMAT_NOTE, JSON.stringify({ format: from, upgrading: { to: STORE_FORMAT, type, after, repairing: { id: record.id, version } } } satisfies FormatNote));
        const resource = { ...record.resource, meta: { ...record.resource.meta, version: `W/"${version}"` } };
        // Stored again: the store derives its normalised copy, unique keys and index entries anew. Without a view:
        // the next read renders the resource (and a write makes the view again).
        const outcome = await store.resources.replace(schema, {
          record: { ...record, version, resource, view: undefined },
          expectedVersion: record.version,
          current: record,
          storedFold: foldBeforeNfc,
        });
        if (outcome === 'ok') report.restored++;
      }
      report.walked += page.length;
      walked += page.length;
      after = page[page.length - 1]!.id;
      await store.notes.write(FORMAT_NOTE, JSON.stringify({ format: from, upgrading: { to: STORE_FORMAT, type, after } } satisfies FormatNote));
      options.onProgress?.(type, walked, total);
    }
  }
  await noteCurrentFormat(store);
  return report;
}

async function countOf(store: Store, schema: ResourceSchema): Promise<number> {
  const reader = store.reader();
  try {
    return await reader.count(schema);
  } finally {
    reader.close();
  }
}
