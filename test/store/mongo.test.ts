/**
 * The MongoDB store against the server in MONGODB_URI (test/run-tap.js starts the test database for it). Without
 * MONGODB_URI these tests skip, and fail when CI=true.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { connectMongoStore, MongoStore, MongoStoreOptions } from '../../src/store/mongo';
import { createStore } from '../../src/store';
import { encodeKey } from '../../src/store/mongo/document';
import { SCHEMA_URNS } from '../../src/scim/schema';
import { isScimError } from '../../src/scim/errors';
import { FerretDB, startFerretDB } from '../support/ferretdb';
import type { AuditEntry } from '../../src/scim/audit';
import { nextVersion, registry, rejectsScim, storeContract, userRecord, users } from './contract';
import { parseFilter } from '../../src/scim/filter/parse';
import type { QueryOptions } from '../../src/store/store';

const uri = process.env.MONGODB_URI;

if (!uri) {
  const reason = 'MONGODB_URI is not set (npm test starts the test database and sets it)';
  if (process.env.CI === 'true') t.fail(`MongoDB store tests cannot run in CI: ${reason}`);
  else t.plan(0, `MongoDB store tests skipped: ${reason}`);
} else {
  run(uri);
}

function run(uri: string): void {
  // The contract runs four times here (default tuning and three window shapes), with the operator's schemas too: on
  // a loaded two-core machine that is more than the default two minutes of a test file.
  t.setTimeout(300_000);
  const prefix = `scim_test_${randomBytes(6).toString('hex')}`;
  let databases = 0;
  const admin = new MongoClient(uri, { serverSelectionTimeoutMS: 5000 });
  t.teardown(() => admin.close());

  /**
   * A store on a database of its own, dropped by cleanup. Its calls may take 30 s rather than production's 5 s: the
   * contract is about what the store does, and on the shared CI machine the test database has taken more than 5 s
   * for a group's 2,000 member pairs. The deadline itself is tested in test/http/hung-database.test.ts.
   */
  const makeStore = async (tuning: Pick<MongoStoreOptions, 'smallResult' | 'windowCap' | 'windowSample' | 'probe' | 'clientOptions'> = {}) => {
    const dbName = `${prefix}_${++databases}`;
    const store = await connectMongoStore({ uri, dbName, schemas: [users], operationTimeoutMS: 30_000, ...tuning });
    return {
      store,
      dbName,
      cleanup: async () => {
        await store.close();
        await admin.db(dbName).dropDatabase();
      },
    };
  };

  t.test('MongoDB store contract', async (t) => {
    storeContract(t, () => makeStore());
  });

  // The test data is small, so the store orders and pages most results itself (see MongoStore.query); with
  // smallResult 0 every query is paged by the database instead, and must give the same answers: sorted pages as
  // windows of values (mongo-window.ts), or, with windowCap 0, by the database's sort.
  t.test('MongoDB store contract, every query paged by the database, sorted pages as windows', async (t) => {
    storeContract(t, () => makeStore({ smallResult: 0 }));
  });
  t.test('MongoDB store contract, every query sorted and paged by the database', async (t) => {
    storeContract(t, () => makeStore({ smallResult: 0, windowCap: 0 }));
  });
  // Windows of at most 3 documents placed by samples of 2: nearly every page narrows, widens or falls back.
  t.test('MongoDB store contract, tiny windows and samples', async (t) => {
    storeContract(t, () => makeStore({ smallResult: 0, windowCap: 3, windowSample: 2 }));
  });

  t.test('audit outbox: an entry a writer left in its document (it stopped before copying it) is copied by the sweep, or by the next write', async (t) => {
    const { store, dbName, cleanup } = await makeStore();
    t.teardown(cleanup);
    const coll = admin.db(dbName).collection<Record<string, unknown>>('users');
    const entry = (id: string, rid: string, version: number): AuditEntry => ({
      id,
      // Older than the sweep's 10 s (left to the writer's own copy before that), newer than its last mark.
      at: new Date(Date.now() - 20_000).toISOString(),
      actor: { subject: 'hr' },
      operation: 'patch',
      resourceType: 'User',
      resourceId: rid,
      versionAfter: version,
      changes: [{ attribute: 'title', after: `v${version}` }],
    });
    const ids = async () => (await store.audit.log({ order: 'ascending', count: 100 })).entries.map((e) => e.id).sort();
    // As a process that stopped right after its write would leave it: the entry in the document, not in the trail.
    const crashed = userRecord({ userName: 'crashed' });
    await store.resources.create(users, crashed);
    await coll.updateOne({ _id: crashed.id as never }, { $set: { aud: entry('left-1', crashed.id, 1) } });
    t.same(await ids(), [], 'not in the trail yet');
    // A restart (init) sweeps it in; a second sweep copies nothing twice; the record itself is untouched.
    await store.init([users]);
    t.same(await ids(), ['left-1']);
    await store.init([users]);
    t.same(await ids(), ['left-1']);
    t.same((await store.resources.get(users, crashed.id))?.resource, crashed.resource);
    // A write over a document whose entry this instance did not copy copies that entry before replacing it.
    const other = userRecord({ userName: 'other' });
    await store.resources.create(users, other);
    await coll.updateOne({ _id: other.id as never }, { $set: { aud: entry('left-2', other.id, 1) } });
    const read = (await store.resources.get(users, other.id))!;
    const next = nextVersion(read, { title: 'two' });
    t.equal(await store.resources.replace(users, { record: next, expectedVersion: 1, current: read, audit: { ...entry('own-3', other.id, 2), at: new Date().toISOString() } }), 'ok');
    t.same(await ids(), ['left-1', 'left-2', 'own-3']);
    // And so does a delete (its entry replaces the document's, then goes into the trail with it): here over version 3,
    // as another instance would have written it.
    await coll.updateOne({ _id: other.id as never }, { $set: { aud: entry('left-4', other.id, 3), v: 3 } });
    t.equal(await store.resources.delete(users, { id: other.id, audit: { ...entry('delete-5', other.id, 2), operation: 'delete', versionAfter: undefined } }), 'ok');
    t.same(await ids(), ['delete-5', 'left-1', 'left-2', 'left-4', 'own-3']);

    // A coalesced write leaves a list of entries, one per version: the sweep and the next write copy every one.
    const many = userRecord({ userName: 'many' });
    await store.resources.create(users, many);
    await coll.updateOne({ _id: many.id as never }, { $set: { aud: [entry('list-6', many.id, 1), entry('list-7', many.id, 2)], v: 2 } });
    await store.init([users]);
    t.same((await ids()).filter((id) => id.startsWith('list')), ['list-6', 'list-7'], 'the sweep copies every entry of a list');
    await coll.updateOne({ _id: many.id as never }, { $set: { aud: [entry('list-8', many.id, 3), entry('list-9', many.id, 4)], v: 4 } });
    const four = (await store.resources.get(users, many.id))!;
    const six = { ...nextVersion(four, { title: 'six' }), version: 6 };
    const own = [5, 6].map((v) => ({ ...entry(`own-${v + 5}`, many.id, v), at: new Date().toISOString() }));
    t.equal(await store.resources.replace(users, { record: six, expectedVersion: 4, current: four, audit: own }), 'ok', 'a write of two versions at once');
    t.same((await ids()).filter((id) => id.startsWith('list') || id.startsWith('own-1')), ['list-6', 'list-7', 'list-8', 'list-9', 'own-10', 'own-11'], 'the list it replaced was copied first, then its own');
  });

  t.test('group members without transactions: an intent left by a writer that stopped half way is finished by the next reader', async (t) => {
    const { store, dbName, cleanup } = await makeStore();
    t.teardown(cleanup);
    const groupSchema = registry.resourceSchema('Group');
    await store.init([users, groupSchema]);
    const u = userRecord({ userName: 'intent-u' });
    await store.resources.create(users, u);
    const gone = userRecord({ userName: 'intent-gone' });
    await store.resources.create(users, gone);
    const db = admin.db(dbName);
    const at = new Date().toISOString();
    const groupDoc = (id: string, pend: Record<string, unknown>) => ({
      _id: id,
      v: 2,
      res: { schemas: [SCHEMA_URNS.group], id, displayName: `G ${id}`, meta: { resourceType: 'Group', created: at, lastModified: at, version: 'W/"2"' } },
      q: { displayName: `g ${id}` },
      pend,
    });
    // A writer (another instance, gone for a minute) wrote the group and its intent, then stopped: no pair yet.
    const old = Date.now() - 60_000;
    await db.collection('groups').insertOne(groupDoc('g-stale', { members: { add: [{ value: u.id, type: 'User', display: 'U' }] }, at: old, by: 'someone-else' }) as never);
    t.same(await store.memberships.members('g-stale'), [], 'the pairs are not there yet');
    const read = await store.resources.get(groupSchema, 'g-stale');
    t.equal(read?.version, 2, 'the group reads at the version its writer wrote');
    t.same(await store.memberships.members('g-stale'), [{ value: u.id, type: 'User', display: 'U' }], 'the reader finished the intent');
    t.notOk((await db.collection('groups').findOne({ _id: 'g-stale' as never }))?.pend, 'and removed it');
    t.equal((await db.collection('users').findOne({ _id: u.id as never }))?.gm, true, 'the member is marked');

    // A fresh intent of another instance is its writer's work in progress: a write of the group waits (conflict).
    await db.collection('groups').insertOne(groupDoc('g-fresh', { members: { add: [{ value: u.id, type: 'User' }] }, at: Date.now(), by: 'someone-else' }) as never);
    const fresh = await store.resources.get(groupSchema, 'g-fresh');
    t.ok(fresh, 'readable meanwhile');
    t.equal(await store.resources.replace(groupSchema, { record: nextVersion(fresh!, { displayName: 'G fresh 2' }), expectedVersion: 2, current: fresh }), 'conflict');

    // A delete that stopped after marking: the reader completes it.
    await db.collection('groups').insertOne(groupDoc('g-deleting', { delete: true, at: old, by: 'someone-else' }) as never);
    await db.collection('memberships').insertOne({ _id: `g-deleting ${gone.id}`, g: 'g-deleting', m: gone.id, t: 'User' } as never);
    t.equal(await store.resources.get(groupSchema, 'g-deleting'), undefined, 'the delete was finished');
    t.same(await store.memberships.members('g-deleting'), [], 'with its pairs');
  });

  t.test('an estimated total (the collection count) is corrected by the page, so index paging neither stops early nor runs on', async (t) => {
    const dbName = `${prefix}_${++databases}`;
    // smallResult 0: every query goes to the database, and unfiltered totals are the estimate.
    const store = Object.assign(new MongoStore({ uri, dbName, smallResult: 0 }), { skew: 0 });
    // The collection's count off by `skew`, as MongoDB's can be after an unclean shutdown (and PostgreSQL's statistics are).
    const queries = store.resources.queries;
    const estimate = queries.estimatedCount;
    queries.estimatedCount = async (coll) => (await estimate(coll)) + store.skew;
    await store.init([users]);
    t.teardown(async () => {
      await store.close();
      await admin.db(dbName).dropDatabase();
    });
    for (let i = 0; i < 5; i++) await store.resources.create(users, userRecord({ userName: `skew${i}` }));
    /** What Okta-style clients do: page while startIndex <= totalResults. */
    const pageAll = async () => {
      const seen: string[] = [];
      const totals: number[] = [];
      for (let startIndex = 1, total = 1; startIndex <= total && totals.length < 10; startIndex += 2) {
        const r = await store.resources.query(users, { startIndex, count: 2 });
        total = r.totalResults;
        totals.push(total);
        seen.push(...r.records.map((x) => x.id));
      }
      return { seen: seen.length, totals };
    };
    store.skew = -3;
    t.same(await pageAll(), { seen: 5, totals: [3, 5, 5] }, 'too low: each full page shows one more, the last one the exact total');
    store.skew = 10;
    t.same(await pageAll(), { seen: 5, totals: [15, 15, 5] }, 'too high: the short last page gives the exact total');
    const beyond = await store.resources.query(users, { startIndex: 8, count: 2 });
    t.same([beyond.records.length, beyond.totalResults], [0, 7], 'past the end: at most the start of the page');
    store.skew = 0;
    t.equal((await store.resources.query(users, { startIndex: 1, count: 2 })).totalResults, 5);
  });

  t.test('a filtered query whose matches fit the probe is answered from one read, without a count; any other counts', async (t) => {
    // Probes of 3 matches; the reference (smallResult 0) counts every query and pages it in the database.
    const { store, dbName, cleanup } = await makeStore({ probe: 3, clientOptions: { monitorCommands: true } });
    t.teardown(cleanup);
    const reference = await connectMongoStore({ uri, dbName, schemas: [users], smallResult: 0, operationTimeoutMS: 30_000 });
    t.teardown(() => reference.close());
    const counts: string[] = [];
    store.client.on('commandStarted', (e) => {
      const pipeline = JSON.stringify((e.command as { pipeline?: unknown }).pipeline ?? []);
      if (e.commandName === 'count' || (e.commandName === 'aggregate' && pipeline.includes('$group'))) counts.push(e.commandName);
    });
    // Titles t0 … t4 held by 0, 1, 3, 4 and 7 users.
    const held = [0, 1, 3, 4, 7];
    for (const [title, n] of held.entries()) {
      for (let i = 0; i < n; i++) await store.resources.create(users, userRecord({ userName: `probe${title}-${i}`, title: `t${title}`, displayName: `d${(i * 5) % 7}` }));
    }
    const pages: [string, Omit<QueryOptions, 'filter'>][] = [
      ['first page', { startIndex: 1, count: 10 }],
      ['second page of 2', { startIndex: 3, count: 2 }],
      ['past the end', { startIndex: 9, count: 2 }],
      ['sorted descending', { startIndex: 1, count: 3, sort: { path: 'displayName', order: 'descending' } }],
      ['keyset from the start', { startIndex: 1, count: 2, keyset: {} }],
    ];
    for (const [title, n] of held.entries()) {
      const filter = parseFilter(users, `title eq "t${title}"`);
      for (const [what, options] of pages) {
        counts.length = 0;
        const got = await store.resources.query(users, { ...options, filter });
        const want = await reference.resources.query(users, { ...options, filter });
        t.same(
          { total: got.totalResults, ids: got.records.map((r) => r.id), more: got.more },
          { total: want.totalResults, ids: want.records.map((r) => r.id), more: want.more },
          `${n} matches, ${what}: as the database pages it`,
        );
        t.equal(counts.length > 0, n > 3, `${n} matches, ${what}: ${n > 3 ? 'counted' : 'no count'}`);
      }
    }
    counts.length = 0;
    const totalOnly = await store.resources.query(users, { filter: parseFilter(users, 'title eq "t1"'), startIndex: 1, count: 0 });
    t.same([totalOnly.totalResults, totalOnly.records.length, counts.length > 0], [1, 0, true], 'count=0 asks for the total alone: counted');
  });

  t.test('createStore with a MongoDB URI gives the MongoDB store', async (t) => {
    const dbName = `${prefix}_${++databases}`;
    const store = await createStore({ mongodbUri: uri, mongodbDb: dbName });
    t.teardown(async () => {
      await store.close();
      await admin.db(dbName).dropDatabase();
    });
    t.equal(store.kind, 'mongodb');
    await store.init([users]);
    await store.resources.create(users, userRecord({ userName: 'works' }));
    t.equal((await store.resources.query(users, { startIndex: 1, count: 0 })).totalResults, 1);
  });

  t.test('init creates the unique and lookup indexes on the normalised copy', async (t) => {
    const { dbName, cleanup } = await makeStore();
    t.teardown(cleanup);
    const indexes = await admin.db(dbName).collection('users').listIndexes().toArray();
    const byName = new Map(indexes.map((i) => [i.name as string, i]));
    const ent = encodeKey(SCHEMA_URNS.enterpriseUser);
    t.match(byName.get('unique:userName'), { key: { 'q.userName': 1 }, unique: true }, 'userName is unique');
    const lookups: [string, string][] = [
      ['by:externalId', 'q.externalId'],
      ['by:meta.lastModified', 'q.meta.lastModified'],
      ['by:meta.created', 'q.meta.created'],
      ['by:emails.value', 'q.emails.value'],
      ['by:displayName', 'q.displayName'],
      ['by:name.familyName', 'q.name.familyName'],
      [`by:${SCHEMA_URNS.enterpriseUser}:manager.value`, `q.${ent}.manager.value`],
      [`by:${SCHEMA_URNS.enterpriseUser}:department`, `q.${ent}.department`],
      [`by:${SCHEMA_URNS.enterpriseUser}:employeeNumber`, `q.${ent}.employeeNumber`],
    ];
    for (const [name, field] of lookups) {
      const index = byName.get(name);
      t.same(index && Object.keys(index.key as object), [field, '_id'], name);
      t.notOk(index?.unique, `${name} is not unique`);
    }
  });

  t.test("keys with '.' and '$' round-trip, encoded in the document", async (t) => {
    const { store, dbName, cleanup } = await makeStore();
    t.teardown(cleanup);
    const record = userRecord({
      userName: 'keys',
      groups: [{ value: 'g1', $ref: 'https://example.com/Groups/g1', display: 'Group 1' }],
      [SCHEMA_URNS.enterpriseUser]: { department: 'Ops', manager: { value: 'm1', $ref: 'https://example.com/Users/m1' } },
    });
    await store.resources.create(users, record);
    t.same(await store.resources.get(users, record.id), record, 'decoded as written');
    const raw = await admin.db(dbName).collection('users').findOne({ _id: record.id as never });
    const ent = encodeKey(SCHEMA_URNS.enterpriseUser);
    t.ok(raw?.res[ent], 'extension URN key encoded');
    t.equal(raw?.res[ent]?.manager?.['\uFF04ref'], 'https://example.com/Users/m1', '$ref encoded');
    t.equal(raw?.res.groups?.[0]?.['\uFF04ref'], 'https://example.com/Groups/g1', '$ref in an array encoded');
    t.equal(raw?.q.userName, 'keys', 'normalised copy stored');
    t.equal(raw?.q[ent]?.department, 'ops', 'normalised extension attribute');
    const found = await store.resources.query(users, {
      startIndex: 1,
      count: 10,
      sort: { path: `${SCHEMA_URNS.enterpriseUser}:manager.value`, order: 'ascending' },
    });
    t.same(found.records, [record], 'sort by an encoded extension path');
  });

  t.test('uniqueness holds across store instances (as across server instances)', async (t) => {
    const { dbName, cleanup } = await makeStore();
    t.teardown(cleanup);
    const second = await connectMongoStore({ uri, dbName, schemas: [users] });
    const first = await connectMongoStore({ uri, dbName, schemas: [users] });
    t.teardown(async () => {
      await first.close();
      await second.close();
    });
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? first : second).resources.create(users, userRecord({ userName: i % 3 ? 'Twin' : 'tWIN' }))),
    );
    t.equal(results.filter((r) => r.status === 'fulfilled').length, 1, 'one winner');
    t.ok(
      results.every((r) => r.status === 'fulfilled' || (isScimError(r.reason) && r.reason.status === 409)),
      'the others get 409',
    );
  });

  t.test('version-guarded replaces across store instances: exactly one succeeds', async (t) => {
    const { store, dbName, cleanup } = await makeStore();
    t.teardown(cleanup);
    const others = await Promise.all([1, 2, 3].map(() => connectMongoStore({ uri, dbName, schemas: [users] })));
    t.teardown(() => Promise.all(others.map((s) => s.close())));
    const v1 = userRecord({ userName: 'contended' });
    await store.resources.create(users, v1);
    const writers = [store, ...others];
    const outcomes = await Promise.all(
      Array.from({ length: 12 }, (_, i) => writers[i % writers.length]!.resources.replace(users, { record: nextVersion(v1, { title: `w${i}` }), expectedVersion: 1 })),
    );
    // replaceOne({_id, v}) is atomic (MongoDB, and FerretDB 2 on DocumentDB): one writer matches the version.
    t.equal(outcomes.filter((o) => o === 'ok').length, 1, 'one ok');
    t.equal(outcomes.filter((o) => o === 'conflict').length, 11, 'the others: conflict (the version moved on)');
  });

  t.test('an unreachable database gives 503, fast', async (t) => {
    const store = new MongoStore({ uri: 'mongodb://127.0.0.1:1/', dbName: 'nowhere', serverSelectionTimeoutMS: 200 });
    t.teardown(() => store.close());
    const started = Date.now();
    const record = userRecord({ userName: 'lost' });
    await rejectsScim(t, store.resources.get(users, record.id), 503);
    await rejectsScim(t, store.resources.create(users, record), 503);
    await rejectsScim(t, store.resources.query(users, { startIndex: 1, count: 10 }), 503);
    await rejectsScim(t, store.resources.replace(users, { record: nextVersion(record, {}), expectedVersion: 1 }), 503);
    await rejectsScim(t, store.resources.delete(users, { id: record.id }), 503);
    await rejectsScim(t, store.ping(), 503);
    t.ok(Date.now() - started < 10000, 'each attempt gives up after serverSelectionTimeoutMS');
    await rejectsScim(
      t,
      connectMongoStore({ uri: 'mongodb://127.0.0.1:1/', dbName: 'nowhere', serverSelectionTimeoutMS: 200 }),
      503,
    );
  });

  t.test('the store recovers when the database comes back', async (t) => {
    // A test database of its own, with a data directory that outlives a stop, so it can be restarted where it was.
    const dataDir = mkdtempSync(join(tmpdir(), 'scim-recovery-'));
    t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
    let server: FerretDB;
    try {
      server = await startFerretDB({ dataDir });
    } catch (e) {
      t.pass('restart test', { skip: `cannot start a test database of its own: ${String(e)}` });
      return;
    }
    const store = await connectMongoStore({ uri: server.uri, dbName: 'recovery', schemas: [users] });
    t.teardown(async () => {
      await store.close();
      await server.stop();
    });
    const record = userRecord({ userName: 'survivor' });
    await store.resources.create(users, record);
    await server.stop();
    await rejectsScim(t, store.resources.get(users, record.id), 503);
    await rejectsScim(t, store.resources.create(users, userRecord({ userName: 'during' })), 503);
    server = await startFerretDB({ port: server.port, dataDir });
    let got;
    const deadline = Date.now() + 15000;
    for (;;) {
      try {
        got = await store.resources.get(users, record.id);
        break;
      } catch (e) {
        if (!isScimError(e) || e.status !== 503 || Date.now() > deadline) throw e;
      }
    }
    t.equal(got?.resource.userName, 'survivor', 'reads work again');
    await store.resources.create(users, userRecord({ userName: 'after' }));
    t.pass('writes work again');
  });
}
