/**
 * The one contract both stores must keep (src/store/store.ts); lmdb.test.ts and mongo.test.ts run it.
 */
import tap from 'tap';
import { join } from 'node:path';
import { SchemaRegistry, SCHEMA_URNS } from '../../src/scim/schema';
import { etagOf, newId, ScimResource, StoredRecord } from '../../src/scim/resource';
import { isScimError } from '../../src/scim/errors';
import { parseFilter } from '../../src/scim/filter/parse';
import type { JsonObject } from '../../src/scim/values';
import type { Filter } from '../../src/scim/filter/ast';
import type { MemberEntry, QueryOptions, Store, SortKey, SortSpec } from '../../src/store/store';
import { queryCopy } from '../../src/scim/query-copy';
import { sortKeyOf, sortPlan } from '../../src/store/sort';
import type { AuditEntry } from '../../src/scim/audit';

/** The type of `t` inside `t.test(name, async (t) => …)`. */
export type TapTest = Parameters<Parameters<typeof tap.test>[0]>[0];

export interface StoreUnderTest {
  store: Store;
  cleanup(): Promise<void>;
}

/**
 * The contract holds with an operator's schemas loaded (examples/schema: an HR extension with indexed, unique and
 * complex attributes, and Entra's custom extension): their attributes are stored, indexed and kept unique as the
 * built-in ones are.
 */
export const registry = SchemaRegistry.load({ operatorDir: join(__dirname, '..', '..', 'examples', 'schema') });
export const HR = 'urn:example:params:scim:schemas:extension:hr:2.0:User';
export const users = registry.resourceSchema('User');
export const groups = registry.resourceSchema('Group');

let clock = 0;

/** A stored User at `version` with the given attributes; meta.created increases with every call. */
export function userRecord(attributes: JsonObject, options: { id?: string; version?: number } = {}): StoredRecord {
  const id = options.id ?? newId();
  const version = options.version ?? 1;
  const at = new Date(Date.UTC(2026, 0, 1) + 1000 * clock++).toISOString();
  const schemas: string[] = [SCHEMA_URNS.user];
  if (attributes[SCHEMA_URNS.enterpriseUser]) schemas.push(SCHEMA_URNS.enterpriseUser);
  const resource = {
    schemas,
    id,
    ...attributes,
    meta: { resourceType: 'User', created: at, lastModified: at, version: etagOf(version) },
  } as ScimResource;
  return { resourceType: 'User', id, version, resource };
}

/** The next version of a record with some attributes changed (undefined removes one). */
export function nextVersion(record: StoredRecord, changes: Record<string, JsonObject[string] | undefined>): StoredRecord {
  const next = structuredClone(record);
  next.version += 1;
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete next.resource[k];
    else next.resource[k] = v;
  }
  next.resource.meta.version = etagOf(next.version);
  next.resource.meta.lastModified = new Date(Date.UTC(2026, 6, 1) + 1000 * clock++).toISOString();
  return next;
}

/** Asserts that `promise` rejects with a ScimError of the given status (and scimType). */
export async function rejectsScim(
  t: TapTest,
  promise: Promise<unknown>,
  status: number,
  scimType?: string,
  detail?: RegExp,
): Promise<void> {
  try {
    await promise;
    t.fail(`expected a ${status} ScimError, got success`);
  } catch (e) {
    if (!isScimError(e)) {
      t.fail(`expected a ScimError, got ${String(e)}`);
      return;
    }
    t.equal(e.status, status, `status ${status}: ${e.detail}`);
    if (scimType !== undefined) t.equal(e.scimType, scimType, `scimType ${scimType}`);
    if (detail) t.match(e.detail, detail);
  }
}

function page(options: Partial<QueryOptions> = {}): QueryOptions {
  return { startIndex: 1, count: 100, ...options };
}

const byUserName = (value: string) => parseFilter(users, `userName eq ${JSON.stringify(value)}`);

/** Users for the sorting tests: fixed ids, so the id tiebreak is predictable; some without a displayName. */
const SORT_ROWS: [string, JsonObject][] = [
  ['id-5', { userName: 'u5', displayName: 'bob' }],
  ['id-2', { userName: 'u2', displayName: 'Alice' }],
  ['id-7', { userName: 'u7' }],
  ['id-4', { userName: 'u4', displayName: 'dup' }],
  ['id-1', { userName: 'u1', displayName: 'DUP' }],
  ['id-3', { userName: 'u3' }],
  ['id-6', { userName: 'u6', displayName: 'Carol' }],
];

export function storeContract(t: TapTest, makeStore: () => Promise<StoreUnderTest>): void {
  /** Runs `fn` with a fresh, empty store that is cleaned up when the subtest ends. */
  const withStore = (name: string, fn: (t: TapTest, store: Store) => Promise<void>) =>
    t.test(name, async (t) => {
      const { store, cleanup } = await makeStore();
      t.teardown(cleanup);
      await fn(t, store);
    });

  withStore('create then get returns an equal, independent copy', async (t, store) => {
    const record = userRecord({
      userName: 'Alice',
      name: { givenName: 'Alice', familyName: 'Liddell' },
      emails: [{ value: 'alice@example.com', type: 'work', primary: true }],
      [SCHEMA_URNS.enterpriseUser]: { department: 'R&D', manager: { value: 'boss-id', displayName: 'Boss' } },
    });
    record.secrets = { password: 'hash' };
    const expected = structuredClone(record);
    await store.resources.create(users, record);
    record.resource.userName = 'changed after create';
    const got = await store.resources.get(users, record.id);
    t.same(got, expected, 'round trip');
    t.not(got?.resource, record.resource);
    if (got) got.resource.userName = 'changed after get';
    t.equal((await store.resources.get(users, record.id))?.resource.userName, 'Alice', 'stored state untouched');
    const listed = await store.resources.query(users, page());
    t.same(listed.records, [expected], 'query returns the same record');
    listed.records[0]!.resource.userName = 'changed after query';
    t.equal((await store.resources.get(users, record.id))?.resource.userName, 'Alice', 'query results are copies');
  });

  withStore('get of an unknown id is undefined', async (t, store) => {
    t.equal(await store.resources.get(users, newId()), undefined);
  });

  withStore('replace needs the current version and stores the next', async (t, store) => {
    const v1 = userRecord({ userName: 'bob', title: 'one' });
    await store.resources.create(users, v1);
    const v2 = nextVersion(v1, { title: 'two' });
    t.equal(await store.resources.replace(users, { record: v2, expectedVersion: 1 }), 'ok');
    t.same(await store.resources.get(users, v1.id), v2);
    const v3 = nextVersion(v2, { title: undefined, displayName: 'Bob' });
    t.equal(await store.resources.replace(users, { record: v3, expectedVersion: 2 }), 'ok');
    const got = await store.resources.get(users, v1.id);
    t.equal(got?.version, 3);
    t.equal(got?.resource.title, undefined, 'a removed attribute is gone');
    t.same(got, v3);

    const stale = nextVersion(v1, { title: 'stale' });
    t.equal(await store.resources.replace(users, { record: stale, expectedVersion: 1 }), 'conflict', 'stale version');
    t.same(await store.resources.get(users, v1.id), v3, 'a conflict writes nothing');
    t.equal(await store.resources.replace(users, { record: userRecord({ userName: 'ghost' }, { version: 2 }), expectedVersion: 1 }), 'missing');
  });

  withStore('delete, with and without an expected version', async (t, store) => {
    const a = userRecord({ userName: 'a' });
    const b = userRecord({ userName: 'b' });
    await store.resources.create(users, a);
    await store.resources.create(users, b);
    t.equal(await store.resources.delete(users, { id: a.id, expectedVersion: 2 }), 'conflict', 'wrong version');
    t.ok(await store.resources.get(users, a.id), 'still there after a conflict');
    t.equal(await store.resources.delete(users, { id: a.id, expectedVersion: 1 }), 'ok');
    t.equal(await store.resources.get(users, a.id), undefined);
    t.equal(await store.resources.delete(users, { id: a.id, expectedVersion: 1 }), 'missing');
    t.equal(await store.resources.delete(users, { id: b.id }), 'ok', 'unconditional');
    t.equal(await store.resources.delete(users, { id: b.id }), 'missing');
    t.equal((await store.resources.query(users, page())).totalResults, 0);
  });

  withStore('userName is unique regardless of case, on create', async (t, store) => {
    const alice = userRecord({ userName: 'Alice' });
    await store.resources.create(users, alice);
    const twin = userRecord({ userName: 'aLICE' });
    await rejectsScim(t, store.resources.create(users, twin), 409, 'uniqueness', /userName 'aLICE'/);
    t.equal(await store.resources.get(users, twin.id), undefined, 'nothing written');
    t.equal((await store.resources.query(users, page())).totalResults, 1);
    await rejectsScim(t, store.resources.create(users, userRecord({ userName: 'other' }, { id: alice.id })), 409, 'uniqueness');
    t.equal((await store.resources.get(users, alice.id))?.resource.userName, 'Alice', 'a duplicate id overwrites nothing');
  });

  withStore('userName is unique regardless of case, on replace', async (t, store) => {
    const alice = userRecord({ userName: 'alice' });
    const bob = userRecord({ userName: 'bob' });
    await store.resources.create(users, alice);
    await store.resources.create(users, bob);
    await rejectsScim(t, store.resources.replace(users, { record: nextVersion(bob, { userName: 'ALICE' }), expectedVersion: 1 }), 409, 'uniqueness', /userName/);
    t.same(await store.resources.get(users, bob.id), bob, 'nothing written');
    t.equal(await store.resources.replace(users, { record: nextVersion(alice, { userName: 'ALICE' }), expectedVersion: 1 }), 'ok', 'own value in another case');
    t.equal(await store.resources.replace(users, { record: nextVersion(bob, { userName: 'robert' }), expectedVersion: 1 }), 'ok');
    await store.resources.create(users, userRecord({ userName: 'Bob' }));
    t.pass('a userName given up by a replace is free again');
    t.equal(await store.resources.delete(users, { id: alice.id }), 'ok');
    await store.resources.create(users, userRecord({ userName: 'alice' }));
    t.pass('a userName given up by a delete is free again');
  });

  withStore('concurrent creates of one userName: exactly one succeeds', async (t, store) => {
    const names = ['race', 'RACE', 'Race', 'rAcE'];
    const attempts = Array.from({ length: 24 }, (_, i) => store.resources.create(users, userRecord({ userName: names[i % 4]! })));
    const results = await Promise.allSettled(attempts);
    t.equal(results.filter((r) => r.status === 'fulfilled').length, 1, 'one winner');
    const losers = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    t.ok(
      losers.every((r) => isScimError(r.reason) && r.reason.scimType === 'uniqueness'),
      'every other attempt is a uniqueness error',
    );
    t.equal((await store.resources.query(users, page({ filter: byUserName('race') }))).totalResults, 1);
  });

  withStore('concurrent replaces of one version: exactly one succeeds', async (t, store) => {
    const v1 = userRecord({ userName: 'carol' });
    await store.resources.create(users, v1);
    const outcomes = await Promise.all(
      Array.from({ length: 12 }, (_, i) => store.resources.replace(users, { record: nextVersion(v1, { title: `writer ${i}` }), expectedVersion: 1 })),
    );
    t.equal(outcomes.filter((o) => o === 'ok').length, 1, 'one ok');
    t.equal(outcomes.filter((o) => o === 'conflict').length, outcomes.length - 1, 'the rest conflict');
    const got = await store.resources.get(users, v1.id);
    t.equal(got?.version, 2);
    t.equal(got?.resource.title, `writer ${outcomes.indexOf('ok')}`, 'the winner was written');
  });

  withStore('filters: userName ignores case, externalId does not', async (t, store) => {
    const dana = userRecord({ userName: 'Dana', externalId: 'Ext-1' });
    await store.resources.create(users, dana);
    await store.resources.create(users, userRecord({ userName: 'erin', externalId: 'ext-1' }));
    const cases: { filter: string; ids: number }[] = [
      { filter: 'userName eq "dANA"', ids: 1 },
      { filter: 'userName eq "nobody"', ids: 0 },
      { filter: 'externalId eq "Ext-1"', ids: 1 },
      { filter: 'externalId eq "EXT-1"', ids: 0 },
    ];
    for (const c of cases) {
      const result = await store.resources.query(users, page({ filter: parseFilter(users, c.filter) }));
      t.equal(result.totalResults, c.ids, c.filter);
      t.equal(result.records.length, c.ids, c.filter);
    }
    const found = await store.resources.query(users, page({ filter: byUserName('DANA') }));
    t.equal(found.records[0]?.id, dana.id);
  });

  withStore('paging: totals, 1-based startIndex, stable pages, count 0', async (t, store) => {
    const created: StoredRecord[] = [];
    for (let i = 0; i < 7; i++) {
      const r = userRecord({ userName: `user${i}`, title: i % 2 === 0 ? 'even' : 'odd' });
      created.push(r);
      await store.resources.create(users, r);
    }
    const all = await store.resources.query(users, page());
    t.equal(all.totalResults, 7);
    t.same(
      all.records.map((r) => r.id),
      created.map((r) => r.id).sort(),
      'unsorted queries come in id order',
    );
    const seen: string[] = [];
    for (const startIndex of [1, 4, 7]) {
      const p = await store.resources.query(users, page({ startIndex, count: 3 }));
      t.equal(p.totalResults, 7, `total at startIndex ${startIndex}`);
      seen.push(...p.records.map((r) => r.id));
    }
    t.same(seen, all.records.map((r) => r.id), 'pages add up to the whole, no duplicates or gaps');
    const beyond = await store.resources.query(users, page({ startIndex: 8, count: 3 }));
    t.same([beyond.totalResults, beyond.records.length], [7, 0], 'past the end');
    const zero = await store.resources.query(users, page({ count: 0 }));
    t.same([zero.totalResults, zero.records.length], [7, 0], 'count 0 gives only the total');
    const odd = await store.resources.query(users, page({ filter: parseFilter(users, 'title eq "odd"'), startIndex: 2, count: 2 }));
    t.equal(odd.totalResults, 3, 'total of a filtered query');
    t.same(
      odd.records.map((r) => r.resource.userName),
      created.filter((r) => r.resource.title === 'odd').sort((a, b) => (a.id < b.id ? -1 : 1)).slice(1, 3).map((r) => r.resource.userName),
      'filtered page',
    );
  });

  withStore('filters the database can only narrow down still give exact totals and pages', async (t, store) => {
    // emails[type eq "work" and value eq "a@x.org"]: both conditions on one element. A MongoDB query over dotted
    // paths cannot tie them to one element, so the compiled query is a superset and the store post-filters.
    const emails = users.resolve('emails')!;
    const sub = (name: string) => ({ text: name, resolved: { ...emails, sub: users.resolve(`emails.${name}`)!.sub } });
    const filter: Filter = {
      op: 'valuePath',
      path: { text: 'emails', resolved: emails },
      filter: {
        op: 'and',
        left: { op: 'eq', path: sub('type'), value: 'work' },
        right: { op: 'eq', path: sub('value'), value: 'A@x.org' },
      },
    };
    const rows: [string, JsonObject[]][] = [
      ['id-1', [{ type: 'work', value: 'a@x.org' }]],
      ['id-2', [{ type: 'work', value: 'b@x.org' }, { type: 'home', value: 'a@x.org' }]], // decoy: two elements
      ['id-3', [{ type: 'home', value: 'c@x.org' }, { type: 'work', value: 'A@X.org' }]],
      ['id-4', [{ type: 'home', value: 'a@x.org' }]],
      ['id-5', [{ type: 'work', value: 'a@x.org', primary: true }]],
      ['id-6', [{ type: 'home', value: 'd@x.org' }, { type: 'work', value: 'b@x.org' }, { type: 'other', value: 'a@x.org' }]],
    ];
    for (const [id, list] of rows) await store.resources.create(users, userRecord({ userName: `u${id}`, emails: list }, { id }));
    const ids = async (options: Partial<QueryOptions>) => {
      const r = await store.resources.query(users, page({ filter, ...options }));
      return { total: r.totalResults, ids: r.records.map((x) => x.id) };
    };
    t.same(await ids({}), { total: 3, ids: ['id-1', 'id-3', 'id-5'] });
    t.same(await ids({ startIndex: 2, count: 1 }), { total: 3, ids: ['id-3'] }, 'second page of one');
    t.same(await ids({ count: 0 }), { total: 3, ids: [] }, 'count 0');
    t.same(
      await ids({ sort: { path: 'userName', order: 'descending' }, startIndex: 1, count: 2 }),
      { total: 3, ids: ['id-5', 'id-3'] },
      'sorted page',
    );
  });

  withStore('sorting: type-aware, missing values last ascending and first descending, id tiebreak', async (t, store) => {
    // Fixed ids so that the id tiebreak is predictable.
    const rows = SORT_ROWS;
    for (const [id, attrs] of rows) await store.resources.create(users, userRecord(attrs, { id }));
    const order = async (sort: SortSpec, options: Partial<QueryOptions> = {}) =>
      (await store.resources.query(users, page({ sort, ...options }))).records.map((r) => r.id);
    const ascending = ['id-2', 'id-5', 'id-6', 'id-1', 'id-4', 'id-3', 'id-7'];
    t.same(await order({ path: 'displayName', order: 'ascending' }), ascending, 'ascending: case-insensitive, missing last');
    t.same(await order({ path: 'displayName', order: 'descending' }), [...ascending].reverse(), 'descending is the reverse');
    t.same(await order({ path: 'DISPLAYNAME', order: 'ascending' }), ascending, 'attribute names ignore case');

    // Pages that straddle the boundary between records with and without a value.
    for (const dir of ['ascending', 'descending'] as const) {
      const whole = dir === 'ascending' ? ascending : [...ascending].reverse();
      const pieces: string[] = [];
      for (let startIndex = 1; startIndex <= 7; startIndex += 2) {
        pieces.push(...(await order({ path: 'displayName', order: dir }, { startIndex, count: 2 })));
      }
      t.same(pieces, whole, `${dir} in pages of 2`);
    }
    const filtered = await store.resources.query(users, {
      filter: parseFilter(users, 'displayName eq "dup"'),
      sort: { path: 'displayName', order: 'descending' },
      startIndex: 1,
      count: 10,
    });
    t.same(filtered.records.map((r) => r.id), ['id-4', 'id-1'], 'filter and sort together');
    await rejectsScim(t, store.resources.query(users, page({ sort: { path: 'nope', order: 'ascending' } })), 400, 'invalidValue');
    await rejectsScim(t, store.resources.query(users, page({ sort: { path: 'name', order: 'ascending' } })), 400, 'invalidValue');
  });

  withStore('sorting by sub-attributes, extension attributes, dateTimes and multi-valued attributes', async (t, store) => {
    const ent = SCHEMA_URNS.enterpriseUser;
    const rows: [string, JsonObject][] = [
      ['id-1', { userName: 'u1', name: { familyName: 'Young' }, [ent]: { department: 'sales' }, emails: [{ value: 'c@x.org', primary: true }, { value: 'a@x.org' }] }],
      ['id-2', { userName: 'u2', name: { givenName: 'No family' }, [ent]: { department: 'Engineering' }, emails: [{ value: 'b@x.org' }] }],
      ['id-3', { userName: 'u3', name: { familyName: 'adams' } }],
    ];
    for (const [id, attrs] of rows) await store.resources.create(users, userRecord(attrs, { id }));
    const order = async (path: string, dir: 'ascending' | 'descending' = 'ascending') =>
      (await store.resources.query(users, page({ sort: { path, order: dir } }))).records.map((r) => r.id);
    t.same(await order('name.familyName'), ['id-3', 'id-1', 'id-2'], 'sub-attribute, missing last');
    t.same(await order(`${ent}:department`), ['id-2', 'id-1', 'id-3'], 'extension attribute');
    t.same(await order('meta.created', 'descending'), ['id-3', 'id-2', 'id-1'], 'dateTime');
    // The primary value, else the first: id-1 sorts by c@x.org although it also has a@x.org.
    t.same(await order('emails.value'), ['id-2', 'id-1', 'id-3'], 'multi-valued: primary, else first');
    t.same(await order('emails'), ['id-2', 'id-1', 'id-3'], 'multi-valued complex without a sub-attribute: value');
    t.same(await order('emails.value', 'descending'), ['id-3', 'id-1', 'id-2'], 'multi-valued descending');
  });

  /** The key a cursor records for `record` in the order of `sort` (what the service puts in a cursor). */
  const keyOf = (record: StoredRecord, sort?: SortSpec): SortKey =>
    sortKeyOf(sort ? sortPlan(users, sort) : undefined, { id: record.id, q: queryCopy(users, record.resource) });

  /** Pages through a query by keyset, forwards from the start or backwards from `from`, in pages of `count`. */
  const walk = async (store: Store, options: Partial<QueryOptions>, count: number, backwards?: SortKey): Promise<{ ids: string[]; mores: boolean[] }> => {
    const ids: string[] = [];
    const mores: boolean[] = [];
    let key = backwards;
    for (let i = 0; i < 20; i++) {
      const keyset = backwards ? { before: key } : key ? { after: key } : {};
      const r = await store.resources.query(users, page({ ...options, count, keyset }));
      const got = r.records.map((x) => x.id);
      if (backwards) ids.unshift(...got);
      else ids.push(...got);
      mores.push(r.more === true);
      const edge = backwards ? r.records[0] : r.records[r.records.length - 1];
      if (!r.more || !edge) break;
      key = keyOf(edge, options.sort);
    }
    return { ids, mores };
  };

  withStore('keyset pages by id: forwards, backwards, with a filter, from a deleted record', async (t, store) => {
    const created: StoredRecord[] = [];
    for (let i = 0; i < 7; i++) {
      const r = userRecord({ userName: `k${i}`, title: i % 2 === 0 ? 'even' : 'odd' });
      created.push(r);
      await store.resources.create(users, r);
    }
    const byId = [...created].sort((a, b) => (a.id < b.id ? -1 : 1));
    const all = byId.map((r) => r.id);
    const forwards = await walk(store, {}, 3);
    t.same(forwards.ids, all, 'pages of 3 add up to the whole, in id order');
    t.same(forwards.mores, [true, true, false], 'more until the last page');
    const first = await store.resources.query(users, page({ count: 3, keyset: {} }));
    t.equal(first.totalResults, 7, 'the total of the whole query');
    const backwards = await walk(store, {}, 3, keyOf(byId[6]!));
    t.same(backwards.ids, all.slice(0, 6), 'backwards from the last record: everything before it');
    t.same(backwards.mores, [true, false]);
    const odd = await walk(store, { filter: parseFilter(users, 'title eq "odd"') }, 2);
    t.same(odd.ids, byId.filter((r) => r.resource.title === 'odd').map((r) => r.id), 'filtered');
    await store.resources.delete(users, { id: byId[2]!.id });
    const after = await store.resources.query(users, page({ count: 2, keyset: { after: keyOf(byId[2]!) } }));
    t.same(after.records.map((r) => r.id), [byId[3]!.id, byId[4]!.id], 'a deleted record is still a position');
    const none = await store.resources.query(users, page({ count: 2, keyset: { before: keyOf(byId[0]!) } }));
    t.same([none.records.length, none.more], [0, false], 'nothing before the first');
  });

  withStore('keyset pages in sort order: missing values last ascending and first descending, ties by id', async (t, store) => {
    const rows = SORT_ROWS;
    const records = new Map<string, StoredRecord>();
    for (const [id, attrs] of rows) {
      const r = userRecord(attrs, { id });
      records.set(id, r);
      await store.resources.create(users, r);
    }
    const ascending = ['id-2', 'id-5', 'id-6', 'id-1', 'id-4', 'id-3', 'id-7'];
    for (const order of ['ascending', 'descending'] as const) {
      const sort: SortSpec = { path: 'displayName', order };
      const whole = order === 'ascending' ? ascending : [...ascending].reverse();
      for (const count of [1, 2, 3, 7]) {
        t.same((await walk(store, { sort }, count)).ids, whole, `${order}, forwards in pages of ${count}`);
        const last = records.get(whole[whole.length - 1]!)!;
        t.same((await walk(store, { sort }, count, keyOf(last, sort))).ids, whole.slice(0, -1), `${order}, backwards in pages of ${count}`);
      }
      // A position between values (its record changed since): the page starts at the next key in order.
      const between: SortKey = { id: 'id-0', value: 'c' };
      const next = await store.resources.query(users, page({ sort, count: 10, keyset: { after: between } }));
      const expected = order === 'ascending' ? ['id-6', 'id-1', 'id-4', 'id-3', 'id-7'] : ['id-5', 'id-2'];
      t.same(next.records.map((r) => r.id), expected, `${order}: after a key no record has`);
      const missing: SortKey = { id: 'id-3' };
      const around = await store.resources.query(users, page({ sort, count: 10, keyset: { before: missing } }));
      t.same(around.records.map((r) => r.id), whole.slice(0, whole.indexOf('id-3')), `${order}: before a record without a value`);
    }
    const filtered = await walk(store, { sort: { path: 'displayName', order: 'descending' }, filter: parseFilter(users, 'displayName eq "dup"') }, 1);
    t.same(filtered.ids, ['id-4', 'id-1'], 'filter and sort together');
    const multi = await walk(store, { sort: { path: 'emails.value', order: 'ascending' } }, 3);
    t.same(multi.ids, [...rows.map(([id]) => id)].sort(), 'a sort by a multi-valued attribute no record has: by id');
  });

  withStore('ping answers', async (t, store) => {
    await store.ping();
    t.pass('ping resolved');
  });

  /** A stored Group (no members in the record: they are pairs). */
  const groupRecord = (displayName: string, version = 1): StoredRecord => {
    const id = newId();
    const at = new Date(Date.UTC(2026, 0, 1) + 1000 * clock++).toISOString();
    const resource = { schemas: [SCHEMA_URNS.group], id, displayName, meta: { resourceType: 'Group', created: at, lastModified: at, version: etagOf(version) } } as unknown as ScimResource;
    return { resourceType: 'Group', id, version, resource };
  };
  const member = (record: StoredRecord, display?: string): MemberEntry =>
    display === undefined ? { value: record.id, type: record.resourceType as 'User' | 'Group' } : { value: record.id, type: record.resourceType as 'User' | 'Group', display };
  const ids = (entries: MemberEntry[]) => entries.map((m) => m.value);

  withStore('members: written with the group, changed by add/remove/replace in the version-guarded write, one pair each', async (t, store) => {
    await store.init([users, groups]);
    const [a, b, c] = [userRecord({ userName: 'm-a' }), userRecord({ userName: 'm-b' }), userRecord({ userName: 'm-c' })];
    for (const u of [a, b, c]) await store.resources.create(users, u);
    const g = groupRecord('G');
    await store.resources.create(groups, g, { members: { replace: [member(a, 'A'), member(b)] } });
    t.same(await store.memberships.members(g.id), [member(a, 'A'), member(b)].sort((x, y) => (x.value < y.value ? -1 : 1)), 'in member-id order, display kept');
    t.same([...(await store.memberships.membersAmong(g.id, [a.id, c.id, 'nobody']))], [a.id]);
    const v2 = nextVersion(g, { displayName: 'G2' });
    t.equal(await store.resources.replace(groups, { record: v2, expectedVersion: 1, current: g, members: { add: [member(c)], remove: [a.id] } }), 'ok');
    t.same(ids(await store.memberships.members(g.id)), [b.id, c.id].sort());
    const selected = (await store.memberships.memberIds(g.id)).map((m) => `${m.value}:${m.type}`).sort();
    t.same(selected, [`${b.id}:User`, `${c.id}:User`].sort(), 'memberIds: the same members, ids and types');
    const stale = nextVersion(g, { displayName: 'stale' });
    t.equal(await store.resources.replace(groups, { record: stale, expectedVersion: 1, current: g, members: { add: [member(a)] } }), 'conflict', 'a stale version changes nothing...');
    t.same(ids(await store.memberships.members(g.id)), [b.id, c.id].sort(), '... not even the members');
    const v3 = nextVersion(v2, {});
    t.equal(await store.resources.replace(groups, { record: v3, expectedVersion: 2, current: v2, members: { replace: [member(a)] } }), 'ok');
    t.same(ids(await store.memberships.members(g.id)), [a.id]);
    t.same((await store.memberships.groupsOf([a.id, b.id])).map((m) => `${m.group}>${m.member}:${m.type}`), [`${g.id}>${a.id}:User`]);
    const got = await store.resources.get(users, a.id);
    t.equal(got?.member, true, 'a member is flagged when read');
    // A user that left every group may still be flagged ("is or may be", store.ts); one never in a group is not.
    const d = userRecord({ userName: 'm-d' });
    await store.resources.create(users, d);
    t.notOk((await store.resources.get(users, d.id))?.member, 'a user never in a group is not');
    t.equal((await store.resources.get(groups, g.id))?.member, undefined, 'nor is a group in no group');
    t.same((await store.resources.getMany(users, [a.id, 'nobody', c.id])).map((r) => r.id).sort(), [a.id, c.id].sort(), 'getMany skips missing ids');
  });

  withStore('members: rename follows; deleting a member or a group drops its pairs both ways', async (t, store) => {
    await store.init([users, groups]);
    const u = userRecord({ userName: 'r-u' });
    await store.resources.create(users, u);
    const inner = groupRecord('Inner');
    await store.resources.create(groups, inner, { members: { replace: [member(u, 'U')] } });
    const outer = groupRecord('Outer');
    await store.resources.create(groups, outer, { members: { replace: [member(inner, 'Inner'), member(u, 'U')] } });
    await store.memberships.renameMember(u.id, 'U renamed');
    t.same((await store.memberships.members(outer.id)).find((m) => m.value === u.id), { value: u.id, type: 'User', display: 'U renamed' });
    await store.memberships.renameMember(inner.id, undefined);
    t.same((await store.memberships.members(outer.id)).find((m) => m.value === inner.id), { value: inner.id, type: 'Group' }, 'a display can go');
    t.equal(await store.resources.delete(groups, { id: inner.id }), 'ok');
    t.same(ids(await store.memberships.members(outer.id)), [u.id], 'a deleted group leaves the groups that held it');
    t.same(await store.memberships.members(inner.id), [], 'and its own pairs are gone');
    t.same((await store.memberships.groupsOf([u.id])).map((m) => m.group), [outer.id]);
    t.equal(await store.resources.delete(users, { id: u.id }), 'ok');
    t.same(await store.memberships.members(outer.id), [], 'a deleted user leaves every group');
    t.same(await store.memberships.groupsOf([u.id]), []);
  });

  withStore('members: a group of 2,000 changes by one pair; members that do not exist are not added', async (t, store) => {
    await store.init([users, groups]);
    const people = Array.from({ length: 2001 }, (_, i) => userRecord({ userName: `big-${i}` }, { id: `u-${String(i).padStart(5, '0')}` }));
    await Promise.all(people.map((u) => store.resources.create(users, u)));
    const g = groupRecord('Big');
    await store.resources.create(groups, g, { members: { replace: [...people.slice(0, 2000).map((u) => member(u)), { value: 'u-ghost', type: 'User' }] } });
    t.equal((await store.memberships.members(g.id)).length, 2000, 'the ghost was not added');
    const v2 = nextVersion(g, {});
    t.equal(await store.resources.replace(groups, { record: v2, expectedVersion: 1, current: g, members: { add: [member(people[2000]!)], remove: ['u-00000'] } }), 'ok');
    const after = await store.memberships.members(g.id);
    t.equal(after.length, 2000);
    t.equal(after[0]!.value, 'u-00001');
    t.equal(after[after.length - 1]!.value, 'u-02000');
  });
  /** An audit entry of a write of `record` at second `second` of 2026-03-01. */
  const entry = (record: StoredRecord, second: number, operation: AuditEntry['operation'] = 'patch'): AuditEntry => ({
    id: newId(),
    at: new Date(Date.UTC(2026, 2, 1, 0, 0, second)).toISOString(),
    actor: { subject: 'tester', clientId: 'c1' },
    operation,
    resourceType: record.resourceType,
    resourceId: record.id,
    ...(operation === 'create' ? {} : { versionBefore: record.version - 1 }),
    versionAfter: record.version,
    changes: [{ attribute: 'title', before: 'a', after: { $ref: 'x', 'dotted.key': 1 } }],
  });

  withStore('audit: an entry is stored with its write and only with it; read by resource and time, paged both ways', async (t, store) => {
    await store.init([users]);
    const a = userRecord({ userName: 'audit-a' });
    const b = userRecord({ userName: 'audit-b' });
    const ea = entry(a, 1, 'create');
    await store.resources.create(users, a, { audit: ea });
    await store.resources.create(users, b, { audit: entry(b, 2, 'create') });
    // A create that fails (userName taken) stores no entry.
    await rejectsScim(t, store.resources.create(users, userRecord({ userName: 'AUDIT-A' }), { audit: entry(a, 3, 'create') }), 409);
    const a2 = nextVersion(a, { title: 'two' });
    const e2 = entry(a2, 4);
    t.equal(await store.resources.replace(users, { record: a2, expectedVersion: 1, current: a, audit: e2 }), 'ok');
    // A stale replace and a replace of a missing record store none.
    t.equal(await store.resources.replace(users, { record: nextVersion(a, { title: 'stale' }), expectedVersion: 1, audit: entry(a2, 5) }), 'conflict');
    t.equal(await store.resources.replace(users, { record: userRecord({ userName: 'ghost' }, { version: 2 }), expectedVersion: 1, audit: entry(a2, 6) }), 'missing');
    const ed = { ...entry(b, 7, 'delete'), versionAfter: undefined };
    delete ed.versionAfter;
    t.equal(await store.resources.delete(users, { id: b.id, expectedVersion: 2, audit: ed }), 'conflict', 'a delete that fails stores none');
    t.equal(await store.resources.delete(users, { id: b.id, audit: ed }), 'ok');
    t.equal(await store.resources.delete(users, { id: b.id, audit: entry(b, 8, 'delete') }), 'missing');

    const all = await store.audit.log({ order: 'ascending', count: 10 });
    t.same(all.entries.map((e) => e.operation), ['create', 'create', 'patch', 'delete']);
    t.equal(all.more, false);
    t.same(all.entries[0], ea, 'stored as given (keys with dots and dollars included)');
    t.equal(all.entries[3]!.versionBefore, 1, "a delete's entry names the version deleted");
    const ofA = await store.audit.log({ order: 'ascending', count: 10, resourceId: a.id });
    t.same(ofA.entries.map((e) => e.id), [ea.id, e2.id]);
    const newest = await store.audit.log({ order: 'descending', count: 1, resourceId: a.id });
    t.same(newest.entries.map((e) => e.id), [e2.id]);
    t.equal(newest.more, true);
    const older = await store.audit.log({ order: 'descending', count: 1, resourceId: a.id, after: newest.entries[0]! });
    t.same(older.entries.map((e) => e.id), [ea.id]);
    t.equal(older.more, false);
    const window = await store.audit.log({ order: 'ascending', count: 10, since: ea.at, until: e2.at });
    t.same(window.entries.map((e) => e.at), [ea.at, entry(b, 2).at], 'since is inclusive, until exclusive');
    const page1 = await store.audit.log({ order: 'ascending', count: 2 });
    const page2 = await store.audit.log({ order: 'ascending', count: 2, after: page1.entries[1]! });
    t.same([...page1.entries, ...page2.entries].map((e) => e.id), all.entries.map((e) => e.id));
    t.equal(page1.more, true);
    t.equal(page2.more, false);

    t.equal(await store.audit.prune(e2.at), 2, 'retention removes what is older');
    t.same((await store.audit.log({ order: 'ascending', count: 10 })).entries.map((e) => e.operation), ['patch', 'delete']);
    t.same((await store.audit.log({ order: 'ascending', count: 10, resourceId: b.id })).entries.map((e) => e.operation), ['delete'], 'by resource too');
  });

  withStore("audit: a create's entry reads back as given after the record changes, is deleted, and in Bulk", async (t, store) => {
    await store.init([users]);
    const EXT = SCHEMA_URNS.enterpriseUser;
    // A create's entry as the service makes it: each attribute set, with its value (the embedded store keeps these
    // by reference to the record, writing them out when the record first changes).
    const createEntry = (record: StoredRecord, second: number): AuditEntry => ({
      ...entry(record, second, 'create'),
      changes: [
        { attribute: 'userName', after: record.resource.userName as string },
        { attribute: 'name', after: structuredClone(record.resource.name) as JsonObject },
        { attribute: `${EXT}:manager`, after: structuredClone((record.resource[EXT] as JsonObject).manager) as JsonObject },
        { attribute: 'title', after: 'not what the record holds' },
        { attribute: 'password', masked: true },
        { attribute: 'emails', after: [] },
      ],
    });
    const body = (n: string) => ({ userName: n, name: { givenName: n, familyName: 'F' }, [EXT]: { manager: { value: 'm1' }, department: 'D' } });
    const a = userRecord(body('ref-a'));
    const b = userRecord(body('ref-b'));
    const c = userRecord(body('ref-c'));
    const [ea, eb, ec] = [createEntry(a, 10), createEntry(b, 11), createEntry(c, 12)];
    await store.resources.create(users, a, { audit: ea });
    t.same(await store.resources.createMany(users, [{ record: b, audit: eb }, { record: c, audit: ec }]), ['created', 'created']);
    const read = async (id: string) => (await store.audit.log({ order: 'ascending', count: 10, resourceId: id })).entries;
    t.same(await read(a.id), [ea], 'unchanged record: the entry as given');
    const a2 = nextVersion(a, { userName: 'ref-a2', name: { givenName: 'changed' } });
    const e2 = entry(a2, 20);
    t.equal(await store.resources.replace(users, { record: a2, expectedVersion: 1, current: a, audit: e2 }), 'ok');
    const a3 = nextVersion(a2, { title: 'three' });
    t.equal(await store.resources.replace(users, { record: a3, expectedVersion: 2, audit: entry(a3, 21) }), 'ok');
    t.same((await read(a.id))[0], ea, 'after two replaces: the values of the version created');
    t.equal(await store.resources.delete(users, { id: b.id, audit: { ...entry(b, 22, 'delete'), versionAfter: undefined } }), 'ok');
    t.same((await read(b.id))[0], eb, 'after a delete: the values of the version deleted');
    t.same((await read(c.id))[0], ec, 'a Bulk create');
    const all = await store.audit.log({ order: 'ascending', count: 10, since: ea.at, until: entry(a, 13).at });
    t.same(all.entries, [ea, eb, ec], 'the same through the time order');
    const d = userRecord(body('ref-d'));
    const ed = createEntry(d, 13);
    await store.resources.create(users, d, { audit: ed });
    t.equal(await store.resources.delete(users, { id: d.id }), 'ok');
    t.same(await read(d.id), [ed], 'a delete with no entry of its own writes out the create');
    t.equal(await store.audit.prune(entry(a, 14).at), 4, 'pruned, c while referred to');
    const c2 = nextVersion(c, { title: 'two' });
    t.equal(await store.resources.replace(users, { record: c2, expectedVersion: 1, audit: entry(c2, 24) }), 'ok', 'a change after the prune');
    t.same((await read(c.id)).map((e) => e.operation), ['patch']);
  });

  withStore('createMany: in order, each item all or nothing; a taken value (earlier item or stored) fails alone; null items and maxErrors stop it', async (t, store) => {
    await store.init([users, groups]);
    await store.resources.create(users, userRecord({ userName: 'stored' }));
    const rows = Array.from({ length: 450 }, (_, i) => userRecord({ userName: `bulk-${i}` }));
    rows[10] = userRecord({ userName: 'STORED' }); // taken by a stored record
    rows[300] = userRecord({ userName: 'bulk-5' }); // taken by an earlier item of the batch
    const items = rows.map((record, i) => ({ record, audit: entry(record, i % 60, 'create') }));
    const out = await store.resources.createMany(users, items);
    t.equal(out.length, 450);
    t.match(out[10], { status: 409, scimType: 'uniqueness' });
    t.match(out[300], { status: 409, scimType: 'uniqueness' });
    t.equal(out.filter((o) => o === 'created').length, 448, 'the rest are created, past the slices a store may send');
    t.equal((await store.resources.query(users, page({ count: 0 }))).totalResults, 449);
    t.equal(await store.resources.get(users, rows[10]!.id), undefined, 'a refused item stored nothing');
    t.equal((await store.audit.log({ order: 'ascending', count: 1000, resourceId: rows[10]!.id })).entries.length, 0, 'nor its audit entry');
    t.equal((await store.audit.log({ order: 'ascending', count: 1000, resourceId: rows[449]!.id })).entries.length, 1, 'a created item has its entry');
    t.same((await store.resources.get(users, rows[449]!.id))?.resource, rows[449]!.resource);

    // Budget: null items count as errors already made; after maxErrors errors nothing more is attempted.
    const more = Array.from({ length: 6 }, (_, i) => userRecord({ userName: `more-${i}` }));
    more[2] = userRecord({ userName: 'bulk-1' });
    const stopped = await store.resources.createMany(users, [{ record: more[0]! }, null, { record: more[2]! }, { record: more[3]! }, { record: more[4]! }], 2);
    t.same(stopped.map((o) => (typeof o === 'string' ? o : o.status)), ['created', 'skipped', 409, 'skipped', 'skipped']);
    t.equal(await store.resources.get(users, more[3]!.id), undefined);
    const unlimited = await store.resources.createMany(users, [null, { record: more[4]! }, { record: more[5]! }]);
    t.same(unlimited, ['skipped', 'created', 'created']);

    // A group with its members, in a batch.
    const g = { resourceType: 'Group', id: newId(), version: 1, resource: { schemas: [SCHEMA_URNS.group], id: '', displayName: 'batch group', meta: { resourceType: 'Group', created: '2026-01-01T00:00:00Z', lastModified: '2026-01-01T00:00:00Z', version: 'W/"1"' } } } as unknown as StoredRecord;
    g.resource.id = g.id;
    const made = await store.resources.createMany(groups, [{ record: g, members: { replace: [{ value: rows[0]!.id, type: 'User' }, { value: rows[1]!.id, type: 'User' }] } }]);
    t.same(made, ['created']);
    t.same((await store.memberships.members(g.id)).map((m) => m.value).sort(), [rows[0]!.id, rows[1]!.id].sort());
  });

  withStore('operator attributes: stored, filtered (indexed or not), sorted and kept unique like built-in ones', async (t, store) => {
    await store.init([users]);
    const rows = [
      userRecord({ userName: 'h1', [HR]: { hireDate: '2020-01-01T00:00:00Z', jobCode: 'ENG-1', badgeNumber: 'B-1', workLocation: { site: 'Berlin', floor: 2 } } }, { id: 'op-1' }),
      userRecord({ userName: 'h2', [HR]: { hireDate: '2018-06-01T00:00:00Z', jobCode: 'eng-2', terminationDate: '2025-01-01T00:00:00Z', workLocation: { site: 'Lisbon' } } }, { id: 'op-2' }),
      // Fixed ids: records without a value sort by id.
      userRecord({ userName: 'h3', [HR]: { jobCode: 'OPS-1', badgeNumber: 'B-3' } }, { id: 'op-3' }),
      userRecord({ userName: 'h4' }, { id: 'op-4' }),
    ];
    for (const r of rows) await store.resources.create(users, r);
    const ids = (f: string, sort?: SortSpec) =>
      store.resources.query(users, page({ filter: parseFilter(users, f), sort })).then((r) => r.records.map((x) => x.resource.userName as string));
    const cases: { filter: string; expected: string[] }[] = [
      { filter: `${HR}:jobCode eq "ENG-2"`, expected: ['h2'] },
      { filter: 'jobCode sw "eng"', expected: ['h1', 'h2'] },
      { filter: `${HR}:hireDate gt "2019-01-01T00:00:00Z"`, expected: ['h1'] },
      { filter: `${HR}:hireDate pr`, expected: ['h1', 'h2'] },
      { filter: `${HR}:workLocation.site eq "berlin"`, expected: ['h1'] },
      { filter: `${HR}:workLocation.floor ge 2`, expected: ['h1'] },
      { filter: `${HR}:terminationDate lt "2026-01-01T00:00:00Z"`, expected: ['h2'] },
      { filter: `${HR}:badgeNumber eq "b-3" or ${HR}:jobCode eq "eng-1"`, expected: ['h1', 'h3'] },
      { filter: `not (${HR}:jobCode pr)`, expected: ['h4'] },
    ];
    for (const c of cases) t.same((await ids(c.filter)).sort(), c.expected, c.filter);
    t.same(await ids('userName sw "h"', { path: `${HR}:hireDate`, order: 'ascending' }), ['h2', 'h1', 'h3', 'h4'], 'sortBy an operator dateTime, unset last');
    t.same(await ids('userName sw "h"', { path: `${HR}:hireDate`, order: 'descending' }), ['h4', 'h3', 'h1', 'h2'], 'descending: exactly reversed');
    const sorted = await store.resources.query(users, page({ sort: { path: `${HR}:jobCode`, order: 'ascending' } }));
    t.same(sorted.records.map((r) => r.resource.userName), ['h1', 'h2', 'h3', 'h4'], 'an unfiltered sort on an indexed operator attribute');

    await rejectsScim(t, store.resources.create(users, userRecord({ userName: 'h5', [HR]: { badgeNumber: 'b-1' } })), 409, 'uniqueness', new RegExp(`${HR}:badgeNumber`));
    await rejectsScim(t, store.resources.replace(users, { record: nextVersion(rows[3]!, { [HR]: { badgeNumber: 'B-3' } }), expectedVersion: 1 }), 409, 'uniqueness');
    // Freed by a replace, the value is anyone's.
    await store.resources.replace(users, { record: nextVersion(rows[0]!, { [HR]: { jobCode: 'ENG-1' } }), expectedVersion: 1 });
    await store.resources.create(users, userRecord({ userName: 'h6', [HR]: { badgeNumber: 'B-1' } }));
    // Concurrent writers of one value: exactly one wins, the rest are told why.
    const racers = Array.from({ length: 12 }, (_, i) => store.resources.create(users, userRecord({ userName: `race-${i}`, [HR]: { badgeNumber: 'RACE' } })));
    const settled = await Promise.allSettled(racers);
    t.equal(settled.filter((s) => s.status === 'fulfilled').length, 1, 'one of twelve concurrent creates wins');
    t.ok(settled.every((s) => s.status === 'fulfilled' || (isScimError(s.reason) && s.reason.scimType === 'uniqueness')), 'the others get uniqueness');
  });
}
