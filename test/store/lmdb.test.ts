import t from 'tap';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { open, type Key } from 'lmdb';
import { LMDB_OPTIONS, LmdbStore, SUB_DATABASES } from '../../src/store/lmdb';
import { SchemaRegistry } from '../../src/scim/schema';
import type { AuditEntry } from '../../src/scim/audit';
import { createStore } from '../../src/store';
import { storeContract } from './contract';
import { tempDataDir } from '../helper';
import { turnsDuring } from '../support/turns';

type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

t.test('LMDB store contract', async (t) => {
  storeContract(t, async () => {
    const dir = tempDataDir();
    const store = new LmdbStore({ path: dir });
    await store.init();
    return {
      store,
      cleanup: async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  });
});

t.test('createStore without a MongoDB URI gives the embedded LMDB store in the data directory', async (t) => {
  const dir = tempDataDir();
  const store = await createStore({ mongodbDb: 'unused', dataDir: dir });
  t.equal(store.kind, 'lmdb');
  t.equal((store as LmdbStore).path, dir);
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

t.test('a data directory whose name has a dot is a directory, kept across a restart', async (t) => {
  const { userRecord, users } = await import('./contract');
  const parent = tempDataDir();
  t.teardown(() => rmSync(parent, { recursive: true, force: true }));
  // The names operators use (/srv/scim.d) and that mktemp makes (-t x.XXXX), new and already there.
  for (const name of ['scim.d', 'x.a1b2', 'data.v2.lmdb']) {
    const dir = join(parent, name);
    if (name !== 'scim.d') mkdirSync(dir);
    const u = userRecord({ userName: `dotted-${name}` });
    let store = await createStore({ mongodbDb: 'unused', dataDir: dir });
    await store.init([users]);
    await store.resources.create(users, u);
    await store.close();
    t.ok(statSync(dir).isDirectory(), `${name}: still a directory`);
    t.ok(existsSync(join(dir, 'data.mdb')), `${name}: the database file is inside it`);
    store = await createStore({ mongodbDb: 'unused', dataDir: dir });
    await store.init([users]);
    t.equal((await store.resources.get(users, u.id))?.resource.userName, `dotted-${name}`, `${name}: the user is there after a restart`);
    await store.close();
  }
});

t.test('backup of a live store, restored: every record, unique key and index entry is in the copy', async (t) => {
  const { backupLmdb } = await import('../../src/store/lmdb');
  const { SchemaRegistry } = await import('../../src/scim/schema');
  const { parseFilter } = await import('../../src/scim/filter/parse');
  const users = SchemaRegistry.fromDirectory().resourceSchema('User');
  const dir = tempDataDir();
  const copyDir = tempDataDir();
  t.teardown(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(copyDir, { recursive: true, force: true });
  });
  const live = new LmdbStore({ path: dir });
  await live.init([users]);
  const at = '2026-01-01T00:00:00.000Z';
  for (let i = 0; i < 50; i++) {
    const id = `id-${String(i).padStart(3, '0')}`;
    await live.resources.create(users, {
      resourceType: 'User',
      id,
      version: 1,
      resource: { schemas: [users.core.id], id, userName: `backup-${i}`, meta: { resourceType: 'User', created: at, lastModified: at, version: 'W/"1"' } },
    });
  }
  // The server keeps the environment open while the copy is taken.
  const copied = await backupLmdb(dir, copyDir);
  t.equal(copied.records, 50, 'the copy reports its records');
  await live.close();
  const restored = new LmdbStore({ path: copyDir });
  t.teardown(() => restored.close());
  await restored.init([users]);
  t.equal((await restored.resources.get(users, 'id-007'))?.resource.userName, 'backup-7');
  const found = await restored.resources.query(users, { filter: parseFilter(users, 'userName eq "BACKUP-42"'), startIndex: 1, count: 10 });
  t.same(found.records.map((r) => r.id), ['id-042'], 'index entries came along');
  await t.rejects(
    restored.resources.create(users, { resourceType: 'User', id: 'other', version: 1, resource: { schemas: [users.core.id], id: 'other', userName: 'Backup-1', meta: { resourceType: 'User', created: at, lastModified: at, version: 'W/"1"' } } }),
    { code: 'uniqueness' },
    'unique keys came along',
  );
  t.equal((await restored.resources.query(users, { startIndex: 1, count: 0 })).totalResults, 50, 'and the count');
});

t.test('the development key lives with the data, owner-only, and is reused on the next start', async (t) => {
  const { developmentKey, DEV_KEY_FILE } = await import('../../src/dev-key');
  const { statSync } = await import('node:fs');
  const { join } = await import('node:path');
  const dir = tempDataDir();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const first = developmentKey(dir);
  t.equal(first.created, true);
  t.equal(first.file, join(dir, DEV_KEY_FILE));
  t.equal(statSync(first.file).mode & 0o777, 0o600, 'readable by the owner only');
  const second = developmentKey(dir);
  t.equal(second.created, false);
  t.equal(second.secret, first.secret, 'a token minted yesterday still verifies');
});

t.test('keys the process supplies: a development key, and a secret cursor key when the JWT key is public', async (t) => {
  const { withProcessKeys, CURSOR_KEY_FILE } = await import('../../src/dev-key');
  const { loadConfig } = await import('../../src/config');
  const { statSync } = await import('node:fs');
  const { join } = await import('node:path');
  const dir = tempDataDir();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const PEM = '-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----';
  const config = (env: Record<string, string>) => loadConfig({ SCIM_DATA_DIR: dir, ...env });
  const rows: { name: string; env: Record<string, string>; dev: boolean; cursor: 'derived' | 'kept' | 'random' | 'configured'; note: boolean }[] = [
    { name: 'HS256 secret: cursors derive from it', env: { SCIM_JWT_SECRET: 's'.repeat(32) }, dev: false, cursor: 'derived', note: false },
    { name: 'no key, embedded: a development key', env: {}, dev: true, cursor: 'derived', note: false },
    { name: 'public key, embedded: a cursor key kept with the data', env: { SCIM_JWT_PUBLIC_KEY: PEM }, dev: false, cursor: 'kept', note: false },
    { name: 'public key, MongoDB: a random cursor key, and a warning', env: { SCIM_JWT_PUBLIC_KEY: PEM, MONGODB_URI: 'mongodb://db' }, dev: false, cursor: 'random', note: true },
    { name: 'public key and SCIM_CURSOR_SECRET', env: { SCIM_JWT_PUBLIC_KEY: PEM, SCIM_CURSOR_SECRET: 'c'.repeat(32) }, dev: false, cursor: 'configured', note: false },
  ];
  for (const row of rows) {
    const a = withProcessKeys(config(row.env));
    const b = withProcessKeys(config(row.env));
    t.equal(a.devKeyNote !== undefined, row.dev, `${row.name}: development key`);
    t.equal(a.cursorNote !== undefined, row.note, `${row.name}: warning`);
    const cursor = a.config.cursorSecret;
    if (row.cursor === 'derived') t.equal(cursor, undefined, `${row.name}: no cursor key of its own`);
    if (row.cursor === 'configured') t.equal(cursor, 'c'.repeat(32), row.name);
    if (row.cursor === 'random') t.not(cursor, b.config.cursorSecret, `${row.name}: one per process`);
    if (row.cursor === 'kept') {
      t.equal(cursor, b.config.cursorSecret, `${row.name}: the same after a restart`);
      t.equal(statSync(join(dir, CURSOR_KEY_FILE)).mode & 0o777, 0o600, `${row.name}: readable by the owner only`);
    }
    t.not(cursor, PEM, `${row.name}: never the public key`);
  }
});

/** An empty store in a data directory of its own, closed and removed when the test ends. */
async function freshStore(t: Tap, schemas: Parameters<LmdbStore['init']>[0]): Promise<LmdbStore> {
  const dir = tempDataDir();
  const store = new LmdbStore({ path: dir });
  t.teardown(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await store.init(schemas);
  return store;
}

t.test('a scan reads in chunks, yielding between them, and still sees every record once', async (t) => {
  const { SchemaRegistry } = await import('../../src/scim/schema');
  const { parseFilter } = await import('../../src/scim/filter/parse');
  const users = SchemaRegistry.fromDirectory().resourceSchema('User');
  const store = await freshStore(t, [users]);
  const at = '2026-01-01T00:00:00.000Z';
  const n = 4500;
  await Promise.all(
    Array.from({ length: n }, (_, i) => {
      const id = `s${String(i).padStart(5, '0')}`;
      return store.resources.create(users, {
        resourceType: 'User',
        id,
        version: 1,
        resource: { schemas: [users.core.id], id, userName: `scan-${i}`, title: i % 3 === 0 ? 'Lead Engineer' : 'Analyst', meta: { resourceType: 'User', created: at, lastModified: at, version: 'W/"1"' } },
      });
    }),
  );
  let ticks = 0;
  const timer = setInterval(() => ticks++, 0);
  // `co` on an attribute that is not indexed: no plan serves it, so every record is read.
  const res = await store.resources.query(users, { filter: parseFilter(users, 'title co "lead"'), startIndex: 1, count: 5000 });
  clearInterval(timer);
  t.equal(res.totalResults, 1500);
  t.equal(new Set(res.records.map((r) => r.id)).size, 1500, 'each once');
  t.ok(ticks > 0, `timers ran during the scan (${ticks})`);
});

t.test('a deep page counts off the keys before it in chunks, yielding between them, and is the page an in-memory sort gives', async (t) => {
  const { userRecord, users } = await import('./contract');
  const store = await freshStore(t, [users]);
  // Some users without a title: they sort after the others ascending, before them descending (RFC 7644 §3.4.2.3).
  const records = Array.from({ length: 60 }, (_, i) => userRecord({ userName: `deep-${String((i * 37) % 60).padStart(2, '0')}`, ...(i % 7 === 0 ? {} : { title: `T${i % 5}` }) }));
  for (const r of records) await store.resources.create(users, r);
  const all = async (sort?: { path: string; order: 'ascending' | 'descending' }) => (await store.resources.query(users, { startIndex: 1, count: 1000, sort })).records.map((r) => r.id);
  const sorts = [undefined, { path: 'userName', order: 'ascending' as const }, { path: 'userName', order: 'descending' as const }, { path: 'title', order: 'ascending' as const }, { path: 'title', order: 'descending' as const }];
  const expected = new Map<number, string[]>();
  for (const [k, sort] of sorts.entries()) expected.set(k, await all(sort));
  const { parseFilter } = await import('../../src/scim/filter/parse');
  const filters = ['userName sw "deep-"', 'userName sw "deep-1" or userName sw "deep-4"', 'title pr'];
  const filtered = new Map<string, string[]>();
  for (const f of filters) filtered.set(f, (await store.resources.query(users, { filter: parseFilter(users, f), startIndex: 1, count: 1000, sort: { path: 'title', order: 'descending' } })).records.map((r) => r.id));
  store.resources.queries.skipChunk = 4;
  // An indexed filter whose range holds many entries reads them in chunks too: the same matches, the same order.
  for (const f of filters) {
    const res = await store.resources.query(users, { filter: parseFilter(users, f), startIndex: 1, count: 1000, sort: { path: 'title', order: 'descending' } });
    t.same(res.records.map((r) => r.id), filtered.get(f), `${f}: the same page with the range read in chunks`);
  }
  for (const [k, sort] of sorts.entries()) {
    for (const startIndex of [1, 4, 5, 6, 17, 55, 60, 61, 100]) {
      const { result: page, turns: ticks } = await turnsDuring(() => store.resources.query(users, { startIndex, count: 7, sort }));
      const what = `${sort ? `${sort.path} ${sort.order}` : 'id order'}, startIndex ${startIndex}`;
      t.same(page.records.map((r) => r.id), expected.get(k)!.slice(startIndex - 1, startIndex + 6), what);
      t.equal(page.totalResults, 60, `${what}: total`);
      // title is not indexed: its pages are sorted in memory (a scan, chunked by records), checked for the order only.
      if (startIndex > 20 && sort?.path !== 'title') t.ok(ticks > 0, `${what}: other callbacks ran while it skipped (${ticks} turns)`);
    }
  }
});

t.test('views are dropped at start when something that keeps none wrote since (a server from before them)', async (t) => {
  const users = SchemaRegistry.fromDirectory().resourceSchema('User');
  const dir = tempDataDir();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const resource = (title: string, version: number) =>
    ({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], id: 'u1', userName: 'ann', title, meta: { resourceType: 'User', created: 'x', lastModified: 'x', version: `W/"${version}"` } }) as never;
  const reopen = async () => {
    const s = new LmdbStore({ path: dir });
    await s.init([users]);
    return s;
  };

  let store = await reopen();
  await store.resources.create(users, { resourceType: 'User', id: 'u1', version: 1, resource: resource('one', 1), view: 'v1' });
  await store.close();
  store = await reopen();
  t.same(store.resources.getView(users, 'u1'), { version: 1, view: 'v1' }, 'kept across a restart of a store that keeps views');
  await store.close();

  // An older server: it changes the record and knows nothing of the views.
  const env = open({ path: dir, ...LMDB_OPTIONS } as Parameters<typeof open>[0]);
  const records = env.openDB<{ version: number; resource: unknown }, [string, string]>({ name: 'records' });
  await env.transaction(() => records.put(['User', 'u1'], { version: 2, resource: resource('two', 2) }));
  await env.close();

  store = await reopen();
  t.equal(store.resources.getView(users, 'u1'), undefined, 'the view of version 1 is gone');
  t.equal((await store.resources.get(users, 'u1'))?.version, 2);
  t.equal(await store.resources.replace(users, { record: { resourceType: 'User', id: 'u1', version: 3, resource: resource('three', 3), view: 'v3' }, expectedVersion: 2 }), 'ok');
  await store.close();
  store = await reopen();
  t.same(store.resources.getView(users, 'u1'), { version: 3, view: 'v3' }, 'made again by the next write, and kept');
  await store.close();
});

t.test('a member is told by one key that counts its groups: flagged while in some group, not after it left them all', async (t) => {
  const { userRecord, nextVersion, groups: groupSchema, users } = await import('./contract');
  const dir = tempDataDir();
  const store = new LmdbStore({ path: dir });
  t.teardown(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await store.init([users, groupSchema]);
  const u = userRecord({ userName: 'counted' });
  await store.resources.create(users, u);
  const group = (id: string) => ({ resourceType: 'Group', id, version: 1, resource: { schemas: [], id, displayName: id, meta: { resourceType: 'Group', created: 'x', lastModified: 'x', version: 'W/"1"' } } }) as never;
  const [g1, g2] = [group('g1'), group('g2')];
  await store.resources.create(groupSchema, g1, { members: { replace: [{ value: u.id, type: 'User' }] } });
  await store.resources.create(groupSchema, g2, { members: { add: [{ value: u.id, type: 'User' }] } });
  // Adding a member twice counts it once.
  t.equal(await store.resources.replace(groupSchema, { record: nextVersion(g2, {}), expectedVersion: 1, current: g2, members: { add: [{ value: u.id, type: 'User' }] } }), 'ok');
  t.equal((await store.resources.get(users, u.id))?.member, true);
  t.equal(await store.resources.replace(groupSchema, { record: nextVersion(g1, {}), expectedVersion: 1, current: g1, members: { remove: [u.id] } }), 'ok');
  t.equal((await store.resources.get(users, u.id))?.member, true, 'still in g2');
  t.equal(await store.resources.delete(groupSchema, { id: 'g2' }), 'ok');
  t.notOk((await store.resources.get(users, u.id))?.member, 'in no group any more');
  t.notOk(store.resources.getView(users, u.id)?.member);
});

t.test("a data directory from before index layouts: its paths keep their slots, an operator's new path is built in the background", async (t) => {
  const builtIn = SchemaRegistry.fromDirectory().resourceSchema('User');
  const withOperator = SchemaRegistry.load({ operatorDir: join(__dirname, '..', '..', 'examples', 'schema') }).resourceSchema('User');
  const HR = 'urn:example:params:scim:schemas:extension:hr:2.0:User';
  const dir = tempDataDir();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  let store = new LmdbStore({ path: dir });
  await store.init([builtIn]);
  for (let i = 0; i < 600; i++) {
    const id = `u${String(i).padStart(4, '0')}`;
    const resource = { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], id, userName: id, externalId: `x-${i}`, meta: { resourceType: 'User', created: 'x', lastModified: 'x', version: 'W/"1"' } };
    await store.resources.create(builtIn, { resourceType: 'User', id, version: 1, resource: resource as never });
  }
  await store.close();
  // What a server from before layouts left: the plan as a list of paths in slot order, and no layout.
  const env = open({ path: dir, ...LMDB_OPTIONS } as Parameters<typeof open>[0]);
  const meta = env.openDB<string, [string, string]>({ name: 'meta' });
  const index = env.openDB<number, Key>({ name: 'index' });
  const layout = JSON.parse(meta.get(['index-layout', 'User'])!) as { format: string; slots: Record<string, string> };
  t.equal(layout.format, 'v4', 'a new directory writes slots as one character');
  const slotNumber = (slot: string) => slot.charCodeAt(0) - 0x21;
  const legacy = ['v3', ...Object.entries(layout.slots).sort((a, b) => slotNumber(a[1]) - slotNumber(b[1])).map(([signature]) => signature.split('|')[0]!)];
  const keys = [...index.getKeys({ start: ['User'], end: ['User', '\uffff'] as Key })] as unknown as [string, string, unknown, string][];
  t.ok(keys.length > 0 && keys.every((k) => typeof k[1] === 'string' && k[1].length === 1));
  await env.transaction(() => {
    meta.remove(['index-layout', 'User']);
    meta.put(['indexes', 'User'], JSON.stringify(legacy));
    // Its entries with the slot as a number, as v3 wrote them.
    for (const k of keys) {
      index.remove(k as unknown as Key);
      index.put([k[0], slotNumber(k[1]), k[2], k[3]] as unknown as Key, 1);
    }
  });
  const entriesBefore = [...index.getKeys({ start: ['User'], end: ['User', 1e9] as Key })].length;
  t.equal(entriesBefore, keys.length);
  await env.close();

  store = new LmdbStore({ path: dir });
  t.teardown(() => store.close());
  await store.init([withOperator]);
  t.ok(store.indexing().length > 0, 'the operator paths are built in the background, not the whole index again');
  await store.indexed();
  const queries = store.resources.queries;
  const slots = new Map(queries.readyPaths(withOperator).map((p) => [p.path, p.slot]));
  legacy.slice(1).forEach((path, slot) => t.equal(slots.get(path), slot, `${path} keeps slot ${slot}`));
  t.ok(slots.has(`${HR}:jobCode`), 'the new path is planned on once built');
  const found = await store.resources.query(withOperator, { startIndex: 1, count: 5, filter: (await import('../../src/scim/filter/parse')).parseFilter(withOperator, 'externalId eq "x-42"') });
  t.same(found.records.map((r) => r.id), ['u0042'], 'an old path still answers from its entries');
  t.ok(entriesBefore > 0);
});

t.test('a page of the audit trail read in slices: every entry once, in order, both ways, from a position, within bounds', async (t) => {
  const { userRecord, users } = await import('./contract');
  const store = await freshStore(t, [users]);
  const all: { at: string; id: string }[] = [];
  for (let i = 0; i < 450; i++) {
    const record = userRecord({ userName: `audited-${i}` });
    // Several entries share an instant, so the id orders them.
    const at = new Date(Date.UTC(2026, 0, 1) + 1000 * Math.floor(i / 3)).toISOString();
    const id = `e${String((i * 7) % 450).padStart(4, '0')}`;
    all.push({ at, id });
    await store.resources.create(users, record, { audit: { id, at, actor: {}, operation: 'create', resourceType: 'User', resourceId: record.id, versionAfter: 1, changes: [] } });
  }
  const ascending = [...all].sort((a, b) => (a.at === b.at ? (a.id < b.id ? -1 : 1) : a.at < b.at ? -1 : 1));
  const walk = async (order: 'ascending' | 'descending', count: number, bounds: { since?: string; until?: string } = {}) => {
    const out: string[] = [];
    let after: { at: string; id: string } | undefined;
    for (;;) {
      const page = await store.audit.log({ order, count, ...bounds, ...(after ? { after } : {}) });
      out.push(...page.entries.map((e) => e.id));
      if (!page.more) return out;
      const last = page.entries[page.entries.length - 1]!;
      after = { at: last.at, id: last.id };
    }
  };
  t.same(await walk('ascending', 170), ascending.map((e) => e.id), 'ascending, pages of 170');
  t.same(await walk('descending', 1000), [...ascending].reverse().map((e) => e.id), 'descending, one page');
  const since = ascending[100]!.at;
  const until = ascending[400]!.at;
  const inside = ascending.filter((e) => e.at >= since && e.at < until).map((e) => e.id);
  t.same(await walk('ascending', 90, { since, until }), inside, 'within since/until');
  t.same(await walk('descending', 250, { since, until }), [...inside].reverse(), 'within since/until, descending');
});

t.test('a data directory written before compression: its values read as they were, and are compressed when next written', async (t) => {
  const { userRecord, nextVersion, users } = await import('./contract');
  const { parseFilter } = await import('../../src/scim/filter/parse');
  const dir = tempDataDir();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const audit = (record: { id: string; version: number }, n: number): AuditEntry =>
    ({ id: `e${n}`, at: `2026-03-01T00:00:0${n}.000Z`, actor: { clientId: 'old' }, operation: 'create', resourceType: 'User', resourceId: record.id, versionAfter: record.version, changes: [{ attribute: 'userName', after: `old-${n}` }] });
  const made = [0, 1, 2].map((i) => userRecord({ userName: `old-${i}`, displayName: `Old ${i}`, title: 'x'.repeat(3000 * i) }));
  let store = new LmdbStore({ path: dir });
  await store.init([users]);
  for (const [i, r] of made.entries()) await store.resources.create(users, { ...r, view: `{"old view ${i}":"${'v'.repeat(500)}"}` }, { audit: audit(r, i) });
  await store.close();

  // The values as the store wrote them before compression: the same encoding, put without it (a write of this
  // store's, so the views stay).
  const env = open({ path: dir, ...LMDB_OPTIONS } as Parameters<typeof open>[0]);
  const plain = { records: {}, views: { encoding: 'string' }, audit: {} } as const;
  await env.transaction(() => {
    for (const name of ['records', 'views', 'audit'] as const) {
      const now = env.openDB({ name, ...SUB_DATABASES[name] } as never);
      const old = env.openDB({ name, ...plain[name] } as never);
      for (const { key, value } of [...now.getRange({})]) old.put(key, value);
    }
    env.openDB({ name: 'meta' }).put(['views', 'writer-txn'], String(env.getWriteTxnId()));
  });
  const raw = (name: string) => [...env.openDB({ name, encoding: 'binary' }).getRange({})].map(({ value }) => (value as Buffer)[0]!);
  t.ok(raw('records').every((b) => b < 250) && raw('views').every((b) => b < 250) && raw('audit').every((b) => b < 250), 'written uncompressed');
  await env.close();

  store = new LmdbStore({ path: dir });
  await store.init([users]);
  for (const [i, r] of made.entries()) {
    t.same((await store.resources.get(users, r.id))?.resource, r.resource, `record ${i} reads as written`);
    t.same(store.resources.getView(users, r.id), { version: 1, view: `{"old view ${i}":"${'v'.repeat(500)}"}` }, `view ${i} reads as written`);
  }
  t.same((await store.audit.log({ order: 'ascending', count: 10 })).entries, made.map((r, i) => audit(r, i)), 'the audit trail reads as written');
  const found = await store.resources.query(users, { filter: parseFilter(users, 'userName sw "old-"'), startIndex: 1, count: 10 });
  t.same(found.records.map((r) => r.id).sort(), made.map((r) => r.id).sort(), 'found by a filter');
  const next = nextVersion(made[1]!, { title: 'new' });
  t.equal(await store.resources.replace(users, { record: { ...next, view: '{"new":1}' }, expectedVersion: 1, current: made[1] }), 'ok');
  t.equal((await store.resources.get(users, made[1]!.id))?.resource.title, 'new');
  t.same(store.resources.getView(users, made[1]!.id), { version: 2, view: '{"new":1}' });
  await store.close();

  const again = open({ path: dir, ...LMDB_OPTIONS } as Parameters<typeof open>[0]);
  t.teardown(() => again.close());
  const records = again.openDB<Buffer, [string, string]>({ name: 'records', encoding: 'binary' });
  t.equal(records.get(['User', made[1]!.id])![0], 254, 'the record written since is compressed');
  t.ok(records.get(['User', made[0]!.id])![0]! < 250, 'the others are as they were');
});

t.test("a create's audit entry keeps the values it shares with the record once, by reference to the record", async (t) => {
  const { userRecord, users } = await import('./contract');
  const dir = tempDataDir();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const r = userRecord({ userName: 'by-ref', displayName: 'By Ref' });
  const entry: AuditEntry = {
    id: 'e1', at: '2026-03-01T00:00:01.000Z', actor: { clientId: 'c' }, operation: 'create', resourceType: 'User', resourceId: r.id, versionAfter: 1,
    changes: [{ attribute: 'userName', after: 'by-ref' }, { attribute: 'displayName', after: 'By Ref' }, { attribute: 'password', masked: true }],
  };
  let store = new LmdbStore({ path: dir });
  await store.init([users]);
  await store.resources.create(users, r, { audit: entry });
  await store.close();

  const env = open({ path: dir, ...LMDB_OPTIONS } as Parameters<typeof open>[0]);
  const audit = env.openDB({ name: 'audit', ...SUB_DATABASES.audit } as never) as unknown as { get(k: Key): { changes: unknown } };
  const records = env.openDB({ name: 'records', ...SUB_DATABASES.records } as never) as unknown as { get(k: Key): { version: number; a?: unknown }; put(k: Key, v: unknown): Promise<boolean> };
  const meta = env.openDB<string, [string, string]>({ name: 'meta' });
  const shape = audit.get(['t', entry.at, entry.id]).changes;
  t.type(shape, 'string', 'the list of changes is kept once, by its key');
  t.same(JSON.parse(meta.get(['audit-shape', shape as string])!), ['userName', 'displayName', { attribute: 'password', masked: true }], 'by name');
  t.same(records.get(['User', r.id]).a, [entry.at, entry.id], 'the record names the entry');
  // A server that knew nothing of references changed the record without writing the entry out.
  await records.put(['User', r.id], { ...records.get(['User', r.id]), version: 2, a: undefined });
  await env.close();

  store = new LmdbStore({ path: dir });
  await store.init([users]);
  t.teardown(() => store.close());
  t.same((await store.audit.log({ order: 'ascending', count: 1 })).entries[0]!.changes, [{ attribute: 'userName' }, { attribute: 'displayName' }, { attribute: 'password', masked: true }], 'a version it no longer refers to: the attributes named, no value guessed');
});
