/**
 * Sorted pages read as windows of values (src/store/mongo/window.ts) against the same pages sorted by the
 * database, on one database: first pages, index pages and cursor walks in both directions, with ties, missing
 * values and numbers, for windows from roomy to tiny, and again after writes have moved documents in and out of the
 * windows the stores remembered. Skips without MONGODB_URI (fails when CI=true), as mongo.test.ts does.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { connectMongoStore, MongoStore, MongoStoreOptions } from '../../src/store/mongo';
import type { QueryOptions, SortSpec } from '../../src/store/store';
import type { StoredRecord } from '../../src/scim/resource';
import { queryCopy } from '../../src/scim/query-copy';
import { SCHEMA_URNS } from '../../src/scim/schema';
import { sortKeyOf, sortPlan, SortKey } from '../../src/store/sort';
import { parseFilter } from '../../src/scim/filter/parse';
import { nextVersion, userRecord, users } from './contract';

const uri = process.env.MONGODB_URI;
const EXT = SCHEMA_URNS.enterpriseUser;

if (!uri) {
  const reason = 'MONGODB_URI is not set (npm test starts the test database and sets it)';
  if (process.env.CI === 'true') t.fail(`MongoDB window tests cannot run in CI: ${reason}`);
  else t.plan(0, `MongoDB window tests skipped: ${reason}`);
} else {
  run(uri);
}

/** Sorts and filters: dateTimes, ties and missing values both ways (23 distinct displayNames over 300 users, one in
 * 7 without one: ties the smallest windows cannot split), numbers-as-strings, and a filtered sort. */
const CASES: { sort: SortSpec; filter?: string }[] = [
  { sort: { path: 'meta.lastModified', order: 'ascending' } },
  { sort: { path: 'displayName', order: 'ascending' } },
  { sort: { path: 'displayName', order: 'descending' }, filter: 'userName sw "w0"' },
  { sort: { path: `${EXT}:employeeNumber`, order: 'descending' } },
];

/** Window settings under test: the default, mid-sized, and tiny (most pages narrow, widen or fall back). */
const TUNINGS: Pick<MongoStoreOptions, 'windowCap' | 'windowSample'>[] = [{}, { windowCap: 60, windowSample: 20 }, { windowCap: 12, windowSample: 3 }];

function run(uri: string): void {
  const dbName = `scim_test_window_${randomBytes(6).toString('hex')}`;
  const admin = new MongoClient(uri, { serverSelectionTimeoutMS: 5000 });
  const stores: MongoStore[] = [];
  t.teardown(async () => {
    for (const s of stores) await s.close();
    await admin.db(dbName).dropDatabase();
    await admin.close();
  });
  const open = async (options: Partial<MongoStoreOptions>) => {
    const store = await connectMongoStore({ uri, dbName, schemas: [users], smallResult: 0, ...options });
    stores.push(store);
    return store;
  };

  let n = 0;
  const userAt = (i: number): StoredRecord =>
    userRecord({
      userName: `w${String((i * 7919) % 1000).padStart(4, '0')}-${i}`,
      ...(i % 7 === 0 ? {} : { displayName: `Name ${(i * 13) % 23}` }),
      [EXT]: { employeeNumber: String(1000 + ((i * 37) % 300)) },
    });

  t.test('window pages equal the database-sorted pages, before and after writes', async (t) => {
    const reference = await open({ windowCap: 0 });
    const windowed = await Promise.all(TUNINGS.map((tuning) => open(tuning)));
    let records: StoredRecord[] = [];
    for (let i = 0; i < 300; i++) records.push(userAt(n++));
    for (const r of records) await reference.resources.create(users, r);

    const ids = (r: { records: StoredRecord[] }) => r.records.map((x) => x.id);
    const keyOf = (record: StoredRecord, sort: SortSpec): SortKey => sortKeyOf(sortPlan(users, sort), { id: record.id, q: queryCopy(users, record.resource) });
    /** Every page shape of one sort, from one store: index pages, and cursor walks both ways. */
    const pages = async (store: MongoStore, sort: SortSpec, filter?: string) => {
      const base: QueryOptions = { startIndex: 1, count: 10, sort, ...(filter ? { filter: parseFilter(users, filter) } : {}) };
      const out: unknown[] = [];
      for (const [startIndex, count] of [[1, 10], [1, 1], [11, 10], [41, 25], [290, 20]] as const) {
        out.push(ids(await store.resources.query(users, { ...base, startIndex, count })));
      }
      // Forwards in pages of 37 to the end, then backwards from the last record.
      let after: SortKey | undefined;
      const forwards: string[] = [];
      for (let guard = 0; guard < 40; guard++) {
        const page = await store.resources.query(users, { ...base, count: 37, keyset: after ? { after } : {} });
        forwards.push(...ids(page));
        if (!page.more || page.records.length === 0) break;
        after = keyOf(page.records[page.records.length - 1]!, sort);
      }
      out.push(forwards);
      if (forwards.length > 0) {
        const last = (await reference.resources.get(users, forwards[forwards.length - 1]!))!;
        let before: SortKey | undefined = keyOf(last, sort);
        const backwards: string[] = [];
        for (let guard = 0; guard < 40 && before; guard++) {
          const page = await store.resources.query(users, { ...base, count: 53, keyset: { before } });
          backwards.unshift(...ids(page));
          before = page.more && page.records.length > 0 ? keyOf(page.records[0]!, sort) : undefined;
        }
        out.push(backwards);
      }
      return out;
    };
    const compare = async (what: string) => {
      for (const { sort, filter } of CASES) {
        const want = await pages(reference, sort, filter);
        for (const [i, store] of windowed.entries()) {
          t.same(await pages(store, sort, filter), want, `${what}: sortBy=${sort.path} ${sort.order}${filter ? ` filter=${filter}` : ''}, tuning ${JSON.stringify(TUNINGS[i])}`);
        }
      }
    };
    await compare('as created');

    // Writes that move documents into and out of the windows the stores now remember: renames to the smallest and
    // largest values, new lastModified values for a quarter, deletions, and new users.
    const changed: StoredRecord[] = [];
    for (const [i, r] of records.entries()) {
      if (i % 4 === 0) {
        const next = nextVersion(r, { displayName: i % 8 === 0 ? `A${i}` : `zz${i}` });
        await reference.resources.replace(users, { record: next, expectedVersion: r.version });
        changed.push(next);
      } else if (i % 9 === 0) {
        await reference.resources.delete(users, { id: r.id });
      } else changed.push(r);
    }
    for (let i = 0; i < 40; i++) {
      const r = userAt(n++);
      await reference.resources.create(users, r);
      changed.push(r);
    }
    records = changed;
    await compare('after writes');
  });

  t.test('a sorted first page is a window: placed by a sample the first time, by the hint after; never a database sort', async (t) => {
    const store = await open({ clientOptions: { monitorCommands: true } });
    const seen: { name: string; sorted: boolean; sample: boolean }[] = [];
    store.client.on('commandStarted', (e) => {
      const c = e.command as Record<string, unknown>;
      // A sort by _id alone (the segment of users without the value, first when descending) is the primary key's order.
      // A find names its sort in `sort`, an aggregation in a `$sort` stage.
      const stages = (c.pipeline as Record<string, unknown>[] | undefined) ?? [];
      const sorts = [c.sort, ...stages.map((s) => s.$sort)].filter((s): s is object => s !== undefined);
      seen.push({ name: e.commandName, sorted: sorts.some((s) => Object.keys(s).some((k) => k !== '_id')), sample: JSON.stringify(stages).includes('$sample') });
    });
    const sort: SortSpec = { path: 'meta.lastModified', order: 'descending' };
    const first = await store.resources.query(users, { startIndex: 1, count: 10, sort });
    t.equal(first.records.length, 10);
    t.ok(seen.some((c) => c.sample), 'the first time, a $sample places the window');
    t.notOk(seen.some((c) => c.sorted), 'no command asks the database to sort by the value');
    seen.length = 0;
    const again = await store.resources.query(users, { startIndex: 1, count: 10, sort });
    t.same(again.records.map((r) => r.id), first.records.map((r) => r.id));
    t.notOk(seen.some((c) => c.sample || c.sorted), 'the second time, the remembered bound: no sample, no sort');
    // The users without a value (first when descending) are read and counted by aggregations, by _id.
    t.same(seen.filter((c) => c.name === 'find').length, 2, 'one window, one fetch by id');
  });
}
