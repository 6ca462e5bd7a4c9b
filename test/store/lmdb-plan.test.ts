/**
 * The embedded store plans filters onto its indexes (src/store/lmdb/plan.ts); a plan must only ever narrow. Every
 * table case and 400 generated filters over 80 generated users go through the LMDB store's query and must select
 * exactly what the filter evaluator selects, and the plans that use an index are checked to be supersets.
 */
import { isDeepStrictEqual } from 'node:util';
import t from 'tap';
import fc from 'fast-check';
import { rmSync } from 'node:fs';
import { LmdbStore } from '../../src/store/lmdb';
import { planFilter } from '../../src/store/lmdb/plan';
import { parseFilter } from '../../src/scim/filter/parse';
import { evaluateFilter } from '../../src/scim/filter/evaluate';
import type { Filter } from '../../src/scim/filter/ast';
import type { ResourceSchema } from '../../src/scim/schema';
import type { ScimResource } from '../../src/scim/resource';
import type { JsonObject } from '../../src/scim/values';
import { cases, userSchema, users } from '../fixtures/filters/users';
import { filterText, parseGenerated, testSchema, userArbitrary } from '../fixtures/filters/generate';
import { tempDataDir } from '../helper';
import { foldCase } from '../../src/scim/query-copy';

async function load(schema: ResourceSchema, resources: JsonObject[]): Promise<{ store: LmdbStore; cleanup(): Promise<void> }> {
  const dir = tempDataDir();
  const store = new LmdbStore({ path: dir });
  await store.init([schema]);
  for (const r of resources) {
    await store.resources.create(schema, { resourceType: schema.type.id, id: String(r.id), version: 1, resource: r as ScimResource });
  }
  return {
    store,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function ids(store: LmdbStore, schema: ResourceSchema, f: Filter): Promise<string[]> {
  const res = await store.resources.query(schema, { filter: f, startIndex: 1, count: 10_000 });
  return res.records.map((r) => r.id).sort();
}

t.test('the table: the LMDB store selects the expected users, index or not', async (t) => {
  const { store, cleanup } = await load(userSchema, users);
  t.teardown(cleanup);
  let indexed = 0;
  for (const c of cases) {
    const f = parseFilter(userSchema, c.filter);
    if (planFilter(userSchema, f).kind !== 'scan') indexed++;
    t.same(await ids(store, userSchema, f), c.ids, c.filter);
  }
  t.ok(indexed > 10, `${indexed} table filters were served from an index`);
});

t.test('400 generated filters over 80 generated users agree with the evaluator', async (t) => {
  const generated = fc.sample(
    fc.tuple(...Array.from({ length: 80 }, (_, i) => userArbitrary(`g${String(i).padStart(2, '0')}`))),
    { seed: 20240607, numRuns: 1 },
  )[0]!;
  // The generator may give two users one userName; a store keeps it unique, so later ones get their id appended.
  const seen = new Set<string>();
  for (const u of generated) {
    const key = typeof u.userName === 'string' ? foldCase(u.userName) : undefined;
    if (key === undefined) continue;
    if (seen.has(key)) u.userName = `${String(u.userName)}#${String(u.id)}`;
    seen.add(typeof u.userName === 'string' ? foldCase(u.userName) : key);
  }
  const { store, cleanup } = await load(testSchema, generated);
  t.teardown(cleanup);
  const stats = { parsed: 0, indexed: 0 };
  await fc.assert(
    fc.asyncProperty(filterText, async (text) => {
      const f = parseGenerated(text);
      if (!f) return;
      stats.parsed++;
      if (planFilter(testSchema, f).kind !== 'scan') stats.indexed++;
      const expected = generated.filter((u) => evaluateFilter(f, u)).map((u) => String(u.id)).sort();
      const got = await ids(store, testSchema, f);
      if (!isDeepStrictEqual(got, expected)) {
        throw new Error(`${text}\n  evaluator: ${expected.join(',')}\n  lmdb:      ${got.join(',')}\n  plan: ${JSON.stringify(planFilter(testSchema, f))}`);
      }
    }),
    { seed: 4242, numRuns: 400 },
  );
  t.comment(JSON.stringify(stats));
  t.ok(stats.indexed > 20, `${stats.indexed} of ${stats.parsed} generated filters used an index`);
});

t.test('values longer than an LMDB key: indexed by prefix, unique by digest, found exactly', async (t) => {
  const long = (c: string) => `${c}${'é'.repeat(3000)}`;
  const { store, cleanup } = await load(userSchema, [
    { schemas: [userSchema.core.id], id: 'l1', userName: long('a'), displayName: long('x') },
    { schemas: [userSchema.core.id], id: 'l2', userName: long('b'), displayName: `${long('x')}y` },
  ]);
  t.teardown(cleanup);
  const q = async (text: string) => ids(store, userSchema, parseFilter(userSchema, text, { filterLength: 100_000, filterNodes: 10 }));
  t.same(await q(`userName eq "${long('A')}"`), ['l1']);
  t.same(await q(`displayName eq "${long('x')}"`), ['l1'], 'two values sharing a long prefix are told apart by the re-check');
  t.same(await q(`displayName sw "${long('x')}"`), ['l1', 'l2']);
  t.same(await q(`displayName gt "${long('x')}"`), ['l2']);
  t.same(await q(`displayName le "${long('x')}"`), ['l1']);
  await t.rejects(
    store.resources.create(userSchema, { resourceType: 'User', id: 'l3', version: 1, resource: { schemas: [userSchema.core.id], id: 'l3', userName: long('A') } as unknown as ScimResource }),
    { code: 'uniqueness' },
  );
});

t.test('sorted pages of the whole directory are walked from the index, in exactly the comparator order', async (t) => {
  const { comparator, sortKeyOf, sortPlan } = await import('../../src/store/sort');
  const { queryCopy } = await import('../../src/scim/query-copy');
  const people: JsonObject[] = Array.from({ length: 60 }, (_, i) => {
    const u: JsonObject = { schemas: [userSchema.core.id], id: `w${String((i * 37) % 60).padStart(2, '0')}`, userName: `walker${i}` };
    if (i % 4 !== 0) u.displayName = ['Émile', 'bob', 'Bob', 'alice', 'Zoë', 'carol'][i % 6]!;
    if (i % 3 !== 0) u.name = { familyName: `F${i % 5}` };
    return u;
  });
  const { store, cleanup } = await load(userSchema, people);
  t.teardown(cleanup);
  for (const path of ['displayName', 'name.familyName', 'userName']) {
    for (const order of ['ascending', 'descending'] as const) {
      const sort = { path, order };
      const plan = sortPlan(userSchema, sort);
      const expected = people.map((p) => ({ id: String(p.id), q: queryCopy(userSchema, p) })).sort(comparator(plan)).map((x) => x.id);
      const byIndex: string[] = [];
      for (let start = 1; start <= 60; start += 7) {
        const page = await store.resources.query(userSchema, { startIndex: start, count: 7, sort });
        t.equal(page.totalResults, 60);
        byIndex.push(...page.records.map((r) => r.id));
      }
      t.same(byIndex, expected, `${path} ${order}: index pages`);
      const forward: string[] = [];
      let after: ReturnType<typeof sortKeyOf> | undefined;
      for (;;) {
        const page = await store.resources.query(userSchema, { startIndex: 1, count: 8, sort, keyset: after ? { after } : {} });
        forward.push(...page.records.map((r) => r.id));
        const last = page.records[page.records.length - 1];
        if (!page.more || !last) break;
        after = sortKeyOf(plan, { id: last.id, q: queryCopy(userSchema, last.resource) });
      }
      t.same(forward, expected, `${path} ${order}: cursor forward`);
      const backward: string[] = [];
      let before = sortKeyOf(plan, { id: expected[expected.length - 1]!, q: queryCopy(userSchema, people.find((p) => p.id === expected[expected.length - 1])!) });
      backward.unshift(expected[expected.length - 1]!);
      for (;;) {
        const page = await store.resources.query(userSchema, { startIndex: 1, count: 8, sort, keyset: { before } });
        backward.unshift(...page.records.map((r) => r.id));
        const first = page.records[0];
        if (!page.more || !first) break;
        before = sortKeyOf(plan, { id: first.id, q: queryCopy(userSchema, first.resource) });
      }
      t.same(backward, expected, `${path} ${order}: cursor backward`);
    }
  }
});
