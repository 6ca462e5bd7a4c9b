/**
 * Queries on a set of ids (an `idIn` filter, which `groups.value eq "<g>"` becomes) in the embedded store
 * (src/store/lmdb/queries.ts): the total counts the ids that are records by key, without reading them, and a sorted
 * page of a set that is a good share of the type is walked from the sort index. Both must give exactly what the
 * general path gives (every record of the set read, re-checked and sorted): the same totals, pages, keyset pages
 * both ways, and order, with values missing, tied, differing in case only, or too long for an index key.
 */
import t from 'tap';
import { rmSync } from 'node:fs';
import { LmdbStore } from '../../src/store/lmdb';
import type { Filter } from '../../src/scim/filter/ast';
import type { ScimResource, StoredRecord } from '../../src/scim/resource';
import { queryCopy } from '../../src/scim/query-copy';
import { sortKeyOf, sortPlan, type SortSpec } from '../../src/store/sort';
import type { QueryOptions } from '../../src/store/store';
import { registry, userSchema } from '../fixtures/filters/users';
import { build, tempDataDir, user } from '../helper';

const groupSchema = registry.resourceSchema('Group');
const USERS = 200;

async function open(t: Tap): Promise<LmdbStore> {
  const dir = tempDataDir();
  const store = new LmdbStore({ path: dir });
  await store.init([userSchema, groupSchema]);
  t.teardown(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return store;
}
type Tap = tap.Test;

const idIn = (ids: Iterable<string>): Filter => ({ op: 'idIn', path: { text: 'groups', resolved: userSchema.resolve('id')! }, ids: new Set(ids) });
/** The same set as a filter the fast paths leave alone: the general path, as the reference. */
const general = (ids: Iterable<string>): Filter => ({ op: 'and', left: idIn(ids), right: idIn(ids) });

t.test('counts: ids counted by key agree with the records read', async (t) => {
  const store = await open(t);
  for (let i = 0; i < 30; i++) {
    const id = `u${String(i).padStart(2, '0')}`;
    await store.resources.create(userSchema, { resourceType: 'User', id, version: 1, resource: { schemas: [userSchema.type.schema], id, userName: id } as unknown as ScimResource });
  }
  await store.resources.create(groupSchema, { resourceType: 'Group', id: 'g1', version: 1, resource: { schemas: [groupSchema.type.schema], id: 'g1', displayName: 'G' } as unknown as ScimResource });
  await store.resources.delete(userSchema, { id: 'u05' });
  const ids = ['u01', 'u02', 'u05', 'u29', 'g1', 'nobody'];
  const counted = await store.resources.query(userSchema, { filter: idIn(ids), startIndex: 1, count: 0 });
  const read = await store.resources.query(userSchema, { filter: general(ids), startIndex: 1, count: 100 });
  t.same(counted, { totalResults: 3, records: [] }, 'u01, u02 and u29: not the deleted user, the group or an unknown id');
  t.equal(read.totalResults, counted.totalResults, 'as the general path counts');
  t.same(read.records.map((r) => r.id), ['u01', 'u02', 'u29']);
  t.same(await store.resources.query(userSchema, { filter: idIn([]), startIndex: 1, count: 0 }), { totalResults: 0, records: [] });
});

t.test('sorted pages of a set, walked from the index, agree with the general path', async (t) => {
  const store = await open(t);
  // Names with ties, case differences, no name at all, and a name longer than an index key holds.
  const nameOf = (i: number): string | undefined => {
    if (i % 17 === 0) return undefined;
    if (i % 23 === 0) return `Tied Name`;
    if (i === 101) return `L${'o'.repeat(250)}ng`;
    return `${i % 2 === 0 ? 'member' : 'Member'} ${String((i * 7919) % USERS).padStart(3, '0')}`;
  };
  for (let i = 0; i < USERS; i++) {
    const id = `id${String(i).padStart(3, '0')}`;
    const displayName = nameOf(i);
    await store.resources.create(userSchema, {
      resourceType: 'User',
      id,
      version: 1,
      resource: { schemas: [userSchema.type.schema], id, userName: `user${i}`, ...(displayName !== undefined ? { displayName } : {}) } as unknown as ScimResource,
    });
  }
  const all = Array.from({ length: USERS }, (_, i) => `id${String(i).padStart(3, '0')}`);
  const sets: [string, string[]][] = [
    ['dense (every third)', all.filter((_, i) => i % 3 === 0)],
    ['dense, with the long name', all.filter((_, i) => i % 2 === 1)],
    ['sparse (read whole)', all.filter((_, i) => i % 40 === 0)],
    ['with ids that are not records', [...all.filter((_, i) => i % 4 === 0), 'nobody', 'id999']],
  ];
  const ids = (records: StoredRecord[]) => records.map((r) => r.id);
  for (const [label, set] of sets) {
    for (const order of ['ascending', 'descending'] as const) {
      const sort: SortSpec = { path: 'displayName', order };
      const plan = sortPlan(userSchema, sort);
      const keyOf = (r: StoredRecord) => sortKeyOf(plan, { id: r.id, q: queryCopy(userSchema, r.resource) });
      const query = (filter: Filter, o: Partial<QueryOptions>) => store.resources.query(userSchema, { filter, startIndex: 1, count: 7, sort, ...o });
      const expected = await query(general(set), { count: 1000 });
      const name = `${label}, ${order}`;
      // Pages by index.
      for (const startIndex of [1, 8, expected.totalResults - 3]) {
        const fast = await query(idIn(set), { startIndex });
        const slow = await query(general(set), { startIndex });
        t.same([fast.totalResults, ids(fast.records)], [slow.totalResults, ids(slow.records)], `${name}: startIndex ${startIndex}`);
      }
      // Every page by keyset, forwards, then backwards from the end.
      const forwards: string[] = [];
      let page = await query(idIn(set), { keyset: {} });
      for (;;) {
        forwards.push(...ids(page.records));
        t.equal(page.totalResults, expected.totalResults);
        if (!page.more) break;
        page = await query(idIn(set), { keyset: { after: keyOf(page.records[page.records.length - 1]!) } });
      }
      t.same(forwards, ids(expected.records), `${name}: every result once, in order, by keyset`);
      const backwards: string[] = [];
      const last = expected.records[expected.records.length - 1]!;
      page = await query(idIn(set), { keyset: { before: keyOf(last) } });
      for (;;) {
        backwards.unshift(...ids(page.records));
        if (!page.more) break;
        page = await query(idIn(set), { keyset: { before: keyOf(page.records[0]!) } });
      }
      t.same(backwards, ids(expected.records).slice(0, -1), `${name}: and backwards`);
    }
  }
});

t.test("over HTTP: a group's members counted with count=0, and paged by name", async (t) => {
  const h = await build(t, 'lmdb');
  const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
  const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push(h.json(await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user(`count-${i}`, { displayName: `Person ${5 - i}` }) })).id as string);
  const inner = h.json(await h.req({ method: 'POST', url: '/scim/v2/Groups', payload: { schemas: [GROUP], displayName: 'Inner', members: [{ value: ids[3] }, { value: ids[4] }] } })).id as string;
  const outer = h.json(
    await h.req({ method: 'POST', url: '/scim/v2/Groups', payload: { schemas: [GROUP], displayName: 'Outer', members: [{ value: ids[0] }, { value: ids[1] }, { value: ids[2] }, { value: inner }] } }),
  ).id as string;
  const filter = (group: string) => encodeURIComponent(`groups.value eq "${group}"`);
  const total = async (group: string) => {
    const res = await h.req({ method: 'GET', url: `/scim/v2/Users?filter=${filter(group)}&count=0` });
    t.equal(res.statusCode, 200);
    const body = h.json(res);
    t.same(body.Resources, [], 'no resources');
    return body.totalResults;
  };
  t.equal(await total(outer), 5, 'direct and nested members');
  t.equal(await total(inner), 2);
  const first = h.json(await h.req({ method: 'GET', url: `/scim/v2/Users?filter=${filter(outer)}&sortBy=displayName&count=2&cursor=&attributes=displayName` }));
  t.same((first.Resources as { displayName: string }[]).map((r) => r.displayName), ['Person 1', 'Person 2']);
  const second = h.json(await h.req({ method: 'GET', url: `/scim/v2/Users?filter=${filter(outer)}&sortBy=displayName&count=2&cursor=${encodeURIComponent(first.nextCursor as string)}&attributes=displayName` }));
  t.same((second.Resources as { displayName: string }[]).map((r) => r.displayName), ['Person 3', 'Person 4']);
  t.equal(second.totalResults, 5);
  t.equal((await h.req({ method: 'DELETE', url: `/scim/v2/Users/${ids[1]}` })).statusCode, 204);
  t.equal(await total(outer), 4, 'a deleted user is not counted');
  await h.req({ method: 'PATCH', url: `/scim/v2/Groups/${outer}`, payload: { schemas: [PATCH_OP], Operations: [{ op: 'remove', path: `members[value eq "${inner}"]` }] } });
  t.equal(await total(outer), 2, 'nor the members of a nested group taken out');
});
