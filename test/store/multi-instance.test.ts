/**
 * Two server instances on one database, as behind a load balancer: each app is built from the configuration alone
 * (MONGODB_URI, MONGODB_DB), so each has its own MongoClient and MongoStore, and nothing in-process (such as the
 * store's per-document write queue) is shared. Concurrent writes through both must behave as through one: no
 * PATCH lost, one winner per userName, one winner per If-Match. Needs MONGODB_URI (test/run-tap.js starts the test
 * database and sets it); without it these tests skip, and fail when CI=true.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { MongoClient } from 'mongodb';
import { buildApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { mintToken } from '../../src/cli/mint';
import { ERROR, SECRET, user } from '../helper';

const uri = process.env.MONGODB_URI;
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

if (!uri) {
  const reason = 'MONGODB_URI is not set (npm test starts the test database and sets it)';
  if (process.env.CI === 'true') t.fail(`multi-instance tests cannot run in CI: ${reason}`);
  else t.plan(0, `multi-instance tests skipped: ${reason}`);
} else {
  run(uri);
}

function run(uri: string): void {
  const dbName = `scim_test_multi_${randomBytes(6).toString('hex')}`;
  // With the operator's example schemas: a unique operator attribute is unique across instances too.
  const config = loadConfig({ SCIM_JWT_SECRET: SECRET, MONGODB_URI: uri, MONGODB_DB: dbName, SCIM_SCHEMA_DIR: join(__dirname, '..', '..', 'examples', 'schema') });
  const apps: FastifyInstance[] = [];
  let token = '';

  t.before(async () => {
    // Built one after the other: like two servers started in turn, each runs the store's init (indexes) itself.
    apps.push(await buildApp({ config }), await buildApp({ config }));
    token = await mintToken(config.jwt, { scope: 'scim:read scim:write', ttlSeconds: 600 });
  });
  t.teardown(async () => {
    await Promise.all(apps.map((app) => app.close()));
    const admin = new MongoClient(uri, { serverSelectionTimeoutMS: 5000 });
    try {
      await admin.db(dbName).dropDatabase();
    } finally {
      await admin.close();
    }
  });

  /** inject into instance `i % 2`, with a bearer token and the SCIM media type */
  const req = (i: number, opts: InjectOptions): Promise<LightMyRequestResponse> =>
    apps[i % 2]!.inject({
      ...opts,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json', ...(opts.headers as object) },
    });

  t.test('a unique operator attribute (badgeNumber) under concurrent creates through both instances: one winner', async (t) => {
    const HR = 'urn:example:params:scim:schemas:extension:hr:2.0:User';
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => req(i, { method: 'POST', url: '/scim/v2/Users', payload: user(`badge-racer-${i}`, { [HR]: { badgeNumber: i % 2 ? 'BADGE-9' : 'badge-9' } }) })),
    );
    t.equal(results.filter((r) => r.statusCode === 201).length, 1, 'exactly one create wins');
    for (const r of results.filter((r) => r.statusCode !== 201)) {
      t.equal(r.statusCode, 409);
      t.match(r.json(), { schemas: [ERROR], scimType: 'uniqueness' });
    }
  });

  t.test('the instances have a store each', async (t) => {
    t.not(apps[0]!.store, apps[1]!.store);
    t.equal(apps[0]!.store.kind, 'mongodb');
    t.equal(apps[1]!.store.kind, 'mongodb');
  });

  t.test('concurrent PATCHes of one user through both instances lose nothing', async (t) => {
    const created = await req(0, { method: 'POST', url: '/scim/v2/Users', payload: user('patched-twice') });
    t.equal(created.statusCode, 201);
    const id = created.json().id as string;
    // Each instance runs one user's writes in turn, so at most two writers race at a time, and the loser's retry
    // is bounded: 100 PATCHes through two instances all succeed.
    const n = 100;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        req(i, {
          method: 'PATCH',
          url: `/scim/v2/Users/${id}`,
          payload: {
            schemas: [PATCH_OP],
            Operations: [
              { op: 'add', path: 'emails', value: [{ value: `u${i}@example.com` }] },
              // Each PATCH also sets an attribute of its own, so a lost update shows in two places.
              { op: 'add', path: 'phoneNumbers', value: [{ value: `+1-555-01${String(i).padStart(2, '0')}` }] },
            ],
          },
        }),
      ),
    );
    t.same(
      results.map((r) => r.statusCode),
      Array(n).fill(200),
      'every PATCH is 200',
    );
    for (const i of [0, 1]) {
      const final = (await req(i, { method: 'GET', url: `/scim/v2/Users/${id}` })).json();
      const emails = (final.emails as { value: string }[]).map((e) => e.value).sort();
      const phones = (final.phoneNumbers as { value: string }[]).map((p) => p.value).sort();
      t.same(emails, Array.from({ length: n }, (_, k) => `u${k}@example.com`).sort(), `instance ${i}: every email is there`);
      t.equal(phones.length, n, `instance ${i}: every phone number is there`);
      t.equal(final.meta.version, `W/"${n + 1}"`, `instance ${i}: one version per PATCH`);
    }
  });

  t.test('concurrent creates of one userName through both instances: exactly one 201, the rest 409', async (t) => {
    const n = 20;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        req(i, { method: 'POST', url: '/scim/v2/Users', payload: user(['Contested', 'contested', 'CONTESTED'][i % 3]!) }),
      ),
    );
    t.equal(results.filter((r) => r.statusCode === 201).length, 1, 'one 201');
    const losers = results.filter((r) => r.statusCode !== 201);
    t.same(
      losers.map((r) => r.statusCode),
      Array(n - 1).fill(409),
      'the rest 409',
    );
    for (const r of losers) t.match(r.json(), { schemas: [ERROR], status: '409', scimType: 'uniqueness' }, r.body);
    for (const i of [0, 1]) {
      const list = await req(i, { method: 'GET', url: `/scim/v2/Users?filter=${encodeURIComponent('userName eq "contested"')}` });
      t.equal(list.json().totalResults, 1, `instance ${i} lists one user`);
    }
  });

  t.test('concurrent renames of different users onto one userName through both instances: one 200, the rest 409', async (t) => {
    const n = 10;
    const ids: string[] = [];
    for (let i = 0; i < n; i++) ids.push((await req(i, { method: 'POST', url: '/scim/v2/Users', payload: user(`renamer-${i}`) })).json().id as string);
    const results = await Promise.all(
      ids.map((id, i) =>
        req(i, {
          method: 'PATCH',
          url: `/scim/v2/Users/${id}`,
          payload: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'userName', value: i % 2 ? 'Taken' : 'taken' }] },
        }),
      ),
    );
    t.equal(results.filter((r) => r.statusCode === 200).length, 1, 'one 200');
    for (const r of results.filter((x) => x.statusCode !== 200)) {
      t.match(r.json(), { schemas: [ERROR], status: '409', scimType: 'uniqueness' }, r.body);
    }
  });

  t.test('concurrent PUTs with one If-Match through both instances: one 200, the rest 412', async (t) => {
    const created = await req(1, { method: 'POST', url: '/scim/v2/Users', payload: user('put-race') });
    const id = created.json().id as string;
    const n = 10;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        req(i, {
          method: 'PUT',
          url: `/scim/v2/Users/${id}`,
          headers: { 'if-match': created.headers.etag as string },
          payload: user('put-race', { title: `writer ${i}` }),
        }),
      ),
    );
    const winners = results.filter((r) => r.statusCode === 200);
    t.equal(winners.length, 1, 'one 200');
    t.equal(results.filter((r) => r.statusCode === 412).length, n - 1, 'the rest 412');
    const final = (await req(0, { method: 'GET', url: `/scim/v2/Users/${id}` })).json();
    t.equal(final.title, winners[0]?.json().title, "the winner's write is the one stored");
    t.equal(final.meta.version, 'W/"2"');
  });

  t.test('100 concurrent member adds to one group through both instances: all succeed, none lost', async (t) => {
    const ids: string[] = [];
    for (let i = 0; i < 100; i++) ids.push((await req(i, { method: 'POST', url: '/scim/v2/Users', payload: user(`member-race-${i}`) })).json().id as string);
    const group = await req(0, { method: 'POST', url: '/scim/v2/Groups', payload: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Race' } });
    const gid = group.json().id as string;
    const results = await Promise.all(
      ids.map((id, i) =>
        req(i, { method: 'PATCH', url: `/scim/v2/Groups/${gid}`, payload: { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: id }] }] } }),
      ),
    );
    t.same([...new Set(results.map((r) => r.statusCode))], [204], results.find((r) => r.statusCode !== 204)?.body ?? 'every add succeeded');
    const final = (await req(1, { method: 'GET', url: `/scim/v2/Groups/${gid}` })).json();
    t.same((final.members as { value: string }[]).map((m) => m.value).sort(), [...ids].sort(), 'every member is there');
    t.equal(final.meta.version, 'W/"101"', 'one version per add');
  });
}
