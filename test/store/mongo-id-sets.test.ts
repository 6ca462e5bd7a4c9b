/**
 * Cursor pages of a set of ids (an `idIn` filter, which `groups.value eq "<g>"` becomes) on the MongoDB store
 * (src/store/mongo/queries.ts keysetAmong): a set that is a good share of the collection is walked along the sort
 * order, keeping the set's ids, instead of the database reading and sorting the whole set. It must give exactly
 * what the general path gives: every result once, in order, forwards and backwards, with values missing, tied or
 * differing in case only; ids that are not records left out; an unindexed sort and a set bunched at the far end of
 * the order (the walk gives up) left to the database. Skips without MONGODB_URI (fails when CI=true).
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { connectMongoStore, type MongoStore } from '../../src/store/mongo';
import type { Filter } from '../../src/scim/filter/ast';
import type { StoredRecord } from '../../src/scim/resource';
import { queryCopy } from '../../src/scim/query-copy';
import { sortKeyOf, sortPlan } from '../../src/store/sort';
import type { QueryOptions, SortSpec } from '../../src/store/store';
import { userRecord, users } from './contract';

const uri = process.env.MONGODB_URI;
if (!uri) {
  const reason = 'MONGODB_URI is not set (npm test starts the test database and sets it)';
  if (process.env.CI === 'true') t.fail(`the MongoDB id-set tests cannot run in CI: ${reason}`);
  else t.plan(0, `MongoDB id-set tests skipped: ${reason}`);
} else {
  run(uri);
}

const USERS = 200;

function run(uri: string): void {
  const dbName = `scim_test_idsets_${randomBytes(6).toString('hex')}`;
  const admin = new MongoClient(uri, { serverSelectionTimeoutMS: 5000 });
  let store: MongoStore;
  t.before(async () => {
    // Every query through the database's paths (no small result read whole, no probe), as at 100,000 members.
    store = await connectMongoStore({ uri, dbName, schemas: [users], smallResult: 0, probe: 0, windowCap: 0 });
  });
  t.teardown(async () => {
    await store?.close();
    await admin.db(dbName).dropDatabase();
    await admin.close();
  });

  const idIn = (ids: Iterable<string>): Filter => ({ op: 'idIn', path: { text: 'groups', resolved: users.resolve('id')! }, ids: new Set(ids) });
  /** The same set as a filter the walk leaves alone: the general path, as the reference. */
  const general = (ids: Iterable<string>): Filter => ({ op: 'and', left: idIn(ids), right: idIn(ids) });
  const ids = (records: StoredRecord[]) => records.map((r) => r.id);

  t.test('cursor pages of a set, walked along the sort order, agree with the general path', async (t) => {
    const nameOf = (i: number): string | undefined => {
      if (i % 17 === 0) return undefined;
      if (i % 23 === 0) return 'Tied Name';
      return `${i % 2 === 0 ? 'member' : 'Member'} ${String((i * 7919) % USERS).padStart(3, '0')}`;
    };
    const all: string[] = [];
    for (let i = 0; i < USERS; i++) {
      const displayName = nameOf(i);
      const record = userRecord({ userName: `set-${i}`, ...(displayName !== undefined ? { displayName } : {}), title: `T${i % 5}` });
      await store.resources.create(users, record);
      all.push(record.id);
    }
    const byName = [...all].sort((a, b) => (nameOf(all.indexOf(a)) ?? '\uffff').toLowerCase().localeCompare((nameOf(all.indexOf(b)) ?? '\uffff').toLowerCase()));
    const sets: [string, string[], number][] = [
      ['every third', all.filter((_, i) => i % 3 === 0), 7],
      ['every other', all.filter((_, i) => i % 2 === 1), 7],
      ['with ids that are not records', [...all.filter((_, i) => i % 4 === 0), 'nobody', 'zzz-not-an-id'], 7],
      // 15 ids at the far end of the name order, a page of 1: the walk reads its cap (160 ids) and gives up.
      ['bunched at the end, pages of 1', byName.slice(-15), 1],
    ];
    const sorts: (SortSpec | undefined)[] = [undefined, { path: 'displayName', order: 'ascending' }, { path: 'displayName', order: 'descending' }, { path: 'title', order: 'ascending' }];
    for (const [label, set, count] of sets) {
      for (const sort of sorts) {
        const plan = sort ? sortPlan(users, sort) : undefined;
        const keyOf = (r: StoredRecord) => sortKeyOf(plan, { id: r.id, q: queryCopy(users, r.resource) });
        const query = (filter: Filter, o: Partial<QueryOptions>) => store.resources.query(users, { filter, startIndex: 1, count, ...(sort ? { sort } : {}), ...o });
        const expected = await query(general(set), { count: 1000 });
        const name = `${label}, ${sort ? `${sort.path} ${sort.order}` : 'by id'}`;
        const forwards: string[] = [];
        let page = await query(idIn(set), { keyset: {} });
        for (let guard = 0; guard < 500; guard++) {
          forwards.push(...ids(page.records));
          t.equal(page.totalResults, expected.totalResults);
          if (!page.more) break;
          page = await query(idIn(set), { keyset: { after: keyOf(page.records[page.records.length - 1]!) } });
        }
        t.same(forwards, ids(expected.records), `${name}: every result once, in order`);
        const backwards: string[] = [];
        page = await query(idIn(set), { keyset: { before: keyOf(expected.records[expected.records.length - 1]!) } });
        for (let guard = 0; guard < 500; guard++) {
          backwards.unshift(...ids(page.records));
          if (!page.more) break;
          page = await query(idIn(set), { keyset: { before: keyOf(page.records[0]!) } });
        }
        t.same(backwards, ids(expected.records).slice(0, -1), `${name}: and backwards`);
      }
    }
  });
}
