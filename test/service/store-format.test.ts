/**
 * The store's format (issue 30, item 4), on both stores: a new store is noted as current; a newer format is
 * refused at start; a store of format 1 (no note, data stored) is upgraded at start: a resource whose userName
 * builds before NFC folding folded differently is stored again (a new version), so that a filter and the
 * uniqueness rule see it as the server folds now; the others are left as they are; an upgrade stopped half way goes
 * on from its position.
 */
import t from 'tap';
import type { Test } from 'tap';
import { buildApp, StartRefused } from '../../src/app';
import { loadConfig } from '../../src/config';
import { mintToken } from '../../src/cli/mint';
import type { Store } from '../../src/store/store';
import type { MongoStore } from '../../src/store/mongo';
import { SchemaRegistry } from '../../src/scim/schema';
import { parseFilter } from '../../src/scim/filter/parse';
import { FORMAT_NOTE, STORE_FORMAT, upgradeStore } from '../../src/service/store-format';
import { type Directory, directoryOf, type StoreKind, storeKinds, USER } from '../helper';

type Tap = Test;
type Json = Record<string, unknown>;
/** `café` with a combining acute accent (e + U+0301), as a macOS form may send it; and precomposed (U+00E9). */
const DECOMPOSED = 'cafe\u0301@example.com';
const PRECOMPOSED = 'caf\u00e9@example.com';

const directory = (t: { teardown(fn: () => unknown): void }, kind: StoreKind): Directory => directoryOf(t, kind, 'format');

async function withApp<T>(d: ReturnType<typeof directory>, fn: (req: (method: string, url: string, payload?: unknown) => Promise<{ status: number; body: Json }>) => Promise<T>): Promise<T> {
  const config = loadConfig(d.env);
  const app = await buildApp({ config });
  try {
    const authorization = `Bearer ${await mintToken(config.jwt, { scope: 'scim:read scim:write', ttlSeconds: 600 })}`;
    return await fn(async (method, url, payload) => {
      const res = await app.inject({ method: method as 'GET', url: `/scim/v2${url}`, payload: payload as Json, headers: { authorization, 'content-type': 'application/scim+json' } });
      return { status: res.statusCode, body: res.body ? (res.json() as Json) : {} };
    });
  } finally {
    await app.close();
  }
}

/**
 * Makes what the store derived from the user's userName what a build before NFC folding derived (lower-casing
 * only), and removes the format note: a directory of format 1.
 */
async function asFormat1(t: Tap, kind: StoreKind, store: Store, dbName: string, id: string): Promise<void> {
  const old = DECOMPOSED.toLowerCase();
  if (kind === 'mongodb') {
    const coll = (store as MongoStore).client.db(dbName).collection('users');
    t.equal((await coll.updateOne({ _id: id as never }, { $set: { 'q.userName': old } })).modifiedCount, 1);
  } else {
    const db = (store as unknown as { db: { unique: { getRange(o: object): Iterable<{ key: string[]; value: string }>; remove(k: unknown): Promise<boolean>; put(k: unknown, v: unknown): Promise<boolean> } } }).db;
    const keys = [...db.unique.getRange({ start: ['User', 'userName'], end: ['User', 'userName', '\uffff'] })].filter((e) => e.value === id);
    t.equal(keys.length, 1);
    await db.unique.remove(keys[0]!.key);
    await db.unique.put(['User', 'userName', JSON.stringify(old)], id);
    // Its index entries (the filter's lookups) too: every entry of the user holding the folded value.
    const index = (store as unknown as { db: { index: { getRange(o: object): Iterable<{ key: unknown[] }>; remove(k: unknown): Promise<boolean>; put(k: unknown, v: unknown): Promise<boolean> } } }).db.index;
    const now = DECOMPOSED.normalize('NFC').toLowerCase().normalize('NFC');
    let moved = 0;
    for (const { key } of [...index.getRange({})]) {
      if (!key.includes(id) || !key.includes(now)) continue;
      await index.remove(key);
      await index.put(key.map((k) => (k === now ? old : k)), 1);
      moved++;
    }
    t.ok(moved > 0, 'index entries refolded as format 1 had them');
  }
  await store.notes.write(FORMAT_NOTE, undefined);
}

for (const kind of storeKinds()) {
  t.test(kind, async (t) => {
    t.test('a new store is noted as current; a newer format is refused', async (t) => {
      const d = directory(t, kind);
      await withApp(d, async () => undefined);
      const store = await d.open();
      try {
        t.same(JSON.parse((await store.notes.read(FORMAT_NOTE))!), { format: STORE_FORMAT });
        await store.notes.write(FORMAT_NOTE, JSON.stringify({ format: STORE_FORMAT + 1 }));
      } finally {
        await store.close();
      }
      await t.rejects(withApp(d, async () => undefined), new StartRefused(`the store was written in format ${STORE_FORMAT + 1} by a newer server; this one reads formats up to ${STORE_FORMAT}: run the newer server, or export with it (npm run export) and import here`));
    });

    t.test('format 1 is upgraded at start: values folded before NFC are folded again', async (t) => {
      const d = directory(t, kind);
      const ids = await withApp(d, async (req) => {
        const cafe = await req('POST', '/Users', { schemas: [USER], userName: DECOMPOSED });
        const plain = await req('POST', '/Users', { schemas: [USER], userName: 'plain@example.com', displayName: 'Ren\u00e9e' });
        t.equal(cafe.status, 201);
        return { cafe: cafe.body.id as string, plain: plain.body.id as string };
      });
      const registry = SchemaRegistry.load({});
      const users = registry.resourceSchema('User');
      const store = await d.open();
      await asFormat1(t, kind, store, d.db, ids.cafe);
      // As a build before NFC folding left it: the precomposed spelling finds no one.
      const before = await store.resources.query(users, { filter: parseFilter(users, `userName eq "${PRECOMPOSED}"`), startIndex: 1, count: 10 });
      t.equal(before.totalResults, 0, 'format 1: the precomposed spelling is not found');
      const report = await upgradeStore(store, ['User', 'Group'].map((id) => registry.resourceSchema(id)));
      t.match(report, { from: 1, to: STORE_FORMAT, walked: 2, restored: 1 });
      t.same(JSON.parse((await store.notes.read(FORMAT_NOTE))!), { format: STORE_FORMAT });
      t.equal(await upgradeStore(store, [registry.resourceSchema('User')]), undefined, 'a second run has nothing to do');
      await store.close();

      await withApp(d, async (req) => {
        const found = await req('GET', `/Users?filter=${encodeURIComponent(`userName eq "${PRECOMPOSED}"`)}`);
        t.equal(found.body.totalResults, 1, 'the precomposed spelling finds the user');
        const twin = await req('POST', '/Users', { schemas: [USER], userName: PRECOMPOSED });
        t.equal(twin.status, 409, 'and is taken');
        t.equal(((await req('GET', `/Users/${ids.cafe}`)).body.meta as Json).version, 'W/"2"', 'stored again: a new version');
        t.equal(((await req('GET', `/Users/${ids.plain}`)).body.meta as Json).version, 'W/"1"', 'a user that folds the same is left alone');
      });
    });

    t.test('an upgrade stopped half way goes on from its position', async (t) => {
      const d = directory(t, kind);
      const ids = await withApp(d, async (req) => {
        const out: string[] = [];
        for (let i = 0; i < 3; i++) out.push((await req('POST', '/Users', { schemas: [USER], userName: `u${i}-${DECOMPOSED}` })).body.id as string);
        return out.sort();
      });
      const store = await d.open();
      try {
        await store.notes.write(FORMAT_NOTE, JSON.stringify({ format: 1, upgrading: { to: STORE_FORMAT, type: 'User', after: ids[1] } }));
        const registry = SchemaRegistry.load({});
        const report = await upgradeStore(store, ['User', 'Group'].map((id) => registry.resourceSchema(id)));
        t.match(report, { from: 1, walked: 1, restored: 1 }, 'only the users after the position are walked');
        // Stopped right after a repair it had noted: run again, it does not make it twice.
        const users = registry.resourceSchema('User');
        const [last] = await store.resources.getMany(users, [ids[2]!]);
        await store.notes.write(FORMAT_NOTE, JSON.stringify({ format: 1, upgrading: { to: STORE_FORMAT, type: 'User', after: ids[1], repairing: { id: ids[2], version: last!.version } } }));
        const again = await upgradeStore(store, ['User', 'Group'].map((id) => registry.resourceSchema(id)));
        t.match(again, { walked: 1, restored: 0 }, 'the repair noted and made is not made again');
        t.equal((await store.resources.getMany(users, [ids[2]!]))[0]!.version, last!.version);
      } finally {
        await store.close();
      }
    });
  });
}
