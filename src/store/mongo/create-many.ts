/**
 * A batch of creates on MongoDB (a Bulk request's run of POSTs): insertMany, ordered, in slices of INSERT_SLICE
 * documents (each slice one round trip, bounded by the operation deadline). An ordered insert stops at its first
 * failing document: the documents before it are stored, that one gets its error (a duplicate key becomes its
 * uniqueness error; a write conflict is tried again), and the next insert starts after it. Audit entries and
 * intents are handled per document as a single create does (records.ts).
 */
import { Collection, Document, MongoBulkWriteError, MongoServerError } from 'mongodb';
import type { StoredRecord } from '../../scim/resource';
import type { ResourceSchema } from '../../scim/schema';
import type { ScimError } from '../../scim/errors';
import type { CreateItem, CreateOutcome } from '../store';
import { toDocument, type Pending, type ResourceDocument } from './document';
import { isDuplicateKey, isWriteConflict } from './errors';
import { encodeEntry, type MongoAudit } from './audit';
import type { Intents } from './intents';
import type { MongoConnection } from './connection';
import { Turns } from '../../turns';

/**
 * Documents one insertMany sends: a slice of a batch of creates. The driver serialises it in one go (an HR-shaped
 * user with its query copy, view and audit entry is about 4 KB of BSON), so a slice is kept to a few milliseconds.
 */
const INSERT_SLICE = 50;
/** Write conflicts a batch retries before giving up with the conflict's error. */
const MAX_CONFLICTS = 20;

/** Where an ordered insertMany stopped: the index (in the slice) of the document that failed. */
function failedIndex(e: unknown): number | undefined {
  if (!(e instanceof MongoBulkWriteError)) return undefined;
  const first = e.writeErrors;
  const list = Array.isArray(first) ? first : first ? [first] : [];
  return list.length > 0 ? Math.min(...list.map((w) => w.index)) : undefined;
}

/** The failing document's own error, as a server error the duplicate-key handling reads. */
function writeErrorOf(e: unknown): MongoServerError {
  const bulk = e as MongoBulkWriteError;
  const list = Array.isArray(bulk.writeErrors) ? bulk.writeErrors : [bulk.writeErrors];
  const first = list.sort((a, b) => a.index - b.index)[0]!;
  const raw = first.err as { errmsg?: string; code?: number; keyPattern?: Document; keyValue?: Document };
  return new MongoServerError({ message: first.errmsg ?? raw.errmsg ?? 'write error', errmsg: first.errmsg, code: first.code, keyPattern: raw.keyPattern, keyValue: raw.keyValue });
}

/** What a batch of creates works with: the store's connection, intents and audit trail, and how it words a duplicate. */
export interface BatchContext {
  conn: MongoConnection;
  intents: Intents;
  audit: MongoAudit;
  duplicate(coll: Collection<ResourceDocument>, record: StoredRecord, e: MongoServerError): Promise<ScimError>;
}

export async function createMany(
  { conn, intents, audit, duplicate }: BatchContext,
  schema: ResourceSchema,
  items: readonly (CreateItem | null)[],
  maxErrors: number,
): Promise<CreateOutcome[]> {
  const coll = await conn.guard('create', () => conn.collection(schema));
  const out: CreateOutcome[] = items.map(() => 'skipped');
  // Documents are made as their slice comes (a thousand take tens of milliseconds to make), with the event loop
  // given back between slices; an insertMany of one slice is serialised in one go, hence INSERT_SLICE.
  const docs: (ResourceDocument | undefined)[] = new Array(items.length);
  const turns = new Turns();
  const documentsOf = async (from: number, to: number) => {
    for (let k = from; k < to; k++) {
      const item = items[k];
      if (!item || docs[k]) continue;
      const doc = toDocument(schema, item.record);
      if (item.audit) doc.aud = encodeEntry(item.audit);
      docs[k] = doc;
      if (turns.due()) await turns.next();
    }
  };
  const pending = new Map<number, Pending>();
  let failed = 0;
  let i = 0;
  let conflicts = 0;
  try {
    while (i < items.length && failed < maxErrors) {
      const item = items[i];
      if (!item) {
        failed++;
        i++;
        continue;
      }
      // A slice runs up to the next item that already failed, at most INSERT_SLICE long.
      let end = i;
      while (end < items.length && items[end] && end - i < INSERT_SLICE) end++;
      await documentsOf(i, end);
      for (let k = i; k < end; k++) {
        const members = items[k]!.members;
        if (members && !pending.has(k)) {
          const pend = intents.intent({ members });
          pending.set(k, pend);
          docs[k]!.pend = pend;
          intents.begin(items[k]!.record.id);
        }
      }
      const slice = docs.slice(i, end) as ResourceDocument[];
      try {
        await conn.guard('create', () => coll.insertMany(slice, { ordered: true }));
        for (let k = i; k < end; k++) out[k] = 'created';
        i = end;
      } catch (e) {
        const at = failedIndex(e);
        if (at === undefined) throw e;
        for (let k = i; k < i + at; k++) out[k] = 'created';
        const k = i + at;
        const cause = writeErrorOf(e);
        if (isWriteConflict(cause) && conflicts++ < MAX_CONFLICTS) {
          i = k; // rolled back: the same document again
          continue;
        }
        if (!isDuplicateKey(cause)) throw cause;
        intents.abandon(items[k]!.record.id);
        pending.delete(k);
        out[k] = await duplicate(coll, items[k]!.record, cause);
        failed++;
        i = k + 1;
      }
    }
  } finally {
    for (let k = 0; k < items.length; k++) if (out[k] !== 'created' && pending.has(k)) intents.abandon(items[k]!.record.id);
  }
  for (let k = 0; k < items.length; k++) {
    const entry = items[k]?.audit;
    if (out[k] === 'created' && entry) audit.enqueue(coll, entry);
  }
  for (const [k, pend] of pending) {
    if (out[k] === 'created') await conn.guard('create', () => intents.finish(coll, items[k]!.record.id, items[k]!.record.version, pend));
  }
  return out;
}
