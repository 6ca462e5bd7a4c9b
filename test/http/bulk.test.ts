/**
 * POST /Bulk (RFC 7644 §3.7) on both stores, as HR loaders and provisioning clients send it: references by bulkId
 * (§3.7.2) resolved in data and paths, in the order they are needed; circular references (§3.7.1) resolved;
 * failOnErrors and interruptions; version as If-Match; per-operation status, location and error; the limits of
 * §3.7.4; and every operation through the single write path (mutability, sections, uniqueness, audit).
 */
import t from 'tap';
import { build, eachStore, ENTERPRISE, ERROR, USER, user, type Harness } from '../helper';

const BULK_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
const BULK_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:BulkResponse';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
type Json = Record<string, unknown>;
type Result = { method: string; bulkId?: string; version?: string; location?: string; status: string; response?: Json };

function bulk(operations: unknown[], extra: Json = {}): Json {
  return { schemas: [BULK_REQUEST], ...extra, Operations: operations };
}

async function send(h: Harness, body: unknown, opts: { scope?: string; roles?: string[]; client?: string } = {}) {
  const res = await h.req({ method: 'POST', url: '/scim/v2/Bulk', payload: body as Json, ...opts });
  return res;
}

async function run(t: tap.Test, h: Harness, body: unknown, opts: { scope?: string; roles?: string[]; client?: string } = {}): Promise<Result[]> {
  const res = await send(h, body, opts);
  t.equal(res.statusCode, 200, `bulk answered 200: ${res.body.slice(0, 300)}`);
  const out = res.json() as { schemas: string[]; Operations: Result[] };
  t.same(out.schemas, [BULK_RESPONSE]);
  return out.Operations;
}

const idOf = (r: Result) => r.location!.split('/').pop()!;

async function get(h: Harness, path: string): Promise<Json> {
  const res = await h.req({ method: 'GET', url: `/scim/v2${path}` });
  return res.statusCode === 200 ? (res.json() as Json) : { status: res.statusCode };
}

async function userId(h: Harness, userName: string): Promise<string | undefined> {
  const res = await h.req({ method: 'GET', url: `/scim/v2/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}` });
  return ((res.json() as { Resources: Json[] }).Resources[0]?.id as string | undefined) ?? undefined;
}

eachStore(t, async (t, kind) => {
  t.test('RFC 7644 §3.7.2: a user and a group with the user as member, by bulkId; the response says where each went', async (t) => {
    const h = await build(t, kind);
    const results = await run(
      t,
      h,
      bulk([
        { method: 'POST', path: '/Groups', bulkId: 'ytrewq', data: { schemas: [GROUP], displayName: 'Tour Guides', members: [{ type: 'User', value: 'bulkId:qwerty' }] } },
        { method: 'POST', path: '/Users', bulkId: 'qwerty', data: user('Alice', { [ENTERPRISE]: { department: 'Tours' } }) },
      ]),
    );
    t.equal(results.length, 2);
    t.match(results[0], { method: 'POST', bulkId: 'ytrewq', status: '201', version: 'W/"1"', location: /\/scim\/v2\/Groups\/[^/]+$/ });
    t.match(results[1], { method: 'POST', bulkId: 'qwerty', status: '201', version: 'W/"1"', location: /\/scim\/v2\/Users\/[^/]+$/ });
    const group = await get(h, `/Groups/${idOf(results[0]!)}`);
    t.same((group.members as Json[]).map((m) => m.value), [idOf(results[1]!)], 'the group holds the user created in the same request');
    const alice = await get(h, `/Users/${idOf(results[1]!)}`);
    t.same((alice.groups as Json[]).map((g) => g.value), [idOf(results[0]!)]);
  });

  t.test('POST, PUT, PATCH and DELETE, with version as If-Match; per-operation status and location', async (t) => {
    const h = await build(t, kind);
    const a = (await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user('a.person') })).json() as Json;
    const b = (await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user('b.person') })).json() as Json;
    const c = (await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user('c.person') })).json() as Json;
    const results = await run(
      t,
      h,
      bulk([
        { method: 'POST', path: '/Users', bulkId: 'n1', data: user('new.person', { title: 'Analyst' }) },
        { method: 'PUT', path: `/Users/${a.id}`, version: 'W/"1"', data: user('a.person', { displayName: 'A Person' }) },
        { method: 'PATCH', path: `/Users/${b.id}`, version: 'W/"1"', data: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'Lead' }] } },
        { method: 'DELETE', path: `/Users/${c.id}`, version: 'W/"1"' },
        { method: 'PATCH', path: `/Users/${b.id}`, version: 'W/"1"', data: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'Stale' }] } },
      ]),
    );
    t.match(results, [
      { method: 'POST', bulkId: 'n1', status: '201', version: 'W/"1"' },
      { method: 'PUT', status: '200', version: 'W/"2"', location: new RegExp(`/Users/${a.id}$`) },
      { method: 'PATCH', status: '200', version: 'W/"2"', location: new RegExp(`/Users/${b.id}$`) },
      { method: 'DELETE', status: '204', location: new RegExp(`/Users/${c.id}$`) },
      { method: 'PATCH', status: '412', location: new RegExp(`/Users/${b.id}$`), response: { schemas: [ERROR], status: '412', detail: /^operation 5: / } },
    ]);
    t.equal((await get(h, `/Users/${a.id}`)).displayName, 'A Person');
    t.equal((await get(h, `/Users/${b.id}`)).title, 'Lead', 'the stale PATCH changed nothing');
    t.equal((await get(h, `/Users/${c.id}`)).status, 404);
  });

  t.test('operations run in the order references need: a PATCH naming a later POST, a manager created after the report', async (t) => {
    const h = await build(t, kind);
    const results = await run(
      t,
      h,
      bulk([
        { method: 'PATCH', path: '/Users/bulkId:emp', data: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'Engineer' }] } },
        { method: 'POST', path: '/Users', bulkId: 'emp', data: user('employee', { [ENTERPRISE]: { manager: { value: 'bulkId:boss' } } }) },
        { method: 'POST', path: '/Users', bulkId: 'boss', data: user('boss') },
      ]),
    );
    t.match(results, [{ method: 'PATCH', status: '200', version: 'W/"2"' }, { bulkId: 'emp', status: '201' }, { bulkId: 'boss', status: '201' }]);
    const emp = await get(h, `/Users/${idOf(results[1]!)}`);
    t.equal(emp.title, 'Engineer');
    t.equal(((emp[ENTERPRISE] as Json).manager as Json).value, idOf(results[2]!));
  });

  t.test('RFC 7644 §3.7.1: two groups, each a member of the other, are a cycle this model forbids: 409, nothing of it created', async (t) => {
    const h = await build(t, kind);
    const results = await run(
      t,
      h,
      bulk([
        { method: 'POST', path: '/Groups', bulkId: 'qwerty', data: { schemas: [GROUP], displayName: 'Group A', members: [{ type: 'Group', value: 'bulkId:ytrewq' }] } },
        { method: 'POST', path: '/Groups', bulkId: 'ytrewq', data: { schemas: [GROUP], displayName: 'Group B', members: [{ type: 'Group', value: 'bulkId:qwerty' }] } },
        { method: 'POST', path: '/Users', bulkId: 'u', data: user('bystander') },
        { method: 'PATCH', path: '/Groups/bulkId:qwerty', data: { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: 'bulkId:u' }] }] } },
      ]),
    );
    t.match(results, [
      { bulkId: 'qwerty', status: '409', response: { detail: /^operation 1: bulkId 'qwerty' is part of a circular reference with 'ytrewq' \(RFC 7644 §3\.7\.1\)/ } },
      { bulkId: 'ytrewq', status: '409', response: { detail: /^operation 2: bulkId 'ytrewq' is part of a circular reference with 'qwerty'/ } },
      { bulkId: 'u', status: '201' },
      { method: 'PATCH', status: '409', response: { detail: "operation 4: 'bulkId:qwerty' was not created: operation 1 failed with status 409" } },
    ]);
    t.notOk(results[0]!.location);
    const groups = (await h.req({ method: 'GET', url: '/scim/v2/Groups?count=0' })).json() as Json;
    t.equal(groups.totalResults, 0, 'no group of the cycle was created');
  });

  t.test('a user who is their own manager by bulkId: a cycle of one, 409', async (t) => {
    const h = await build(t, kind);
    const results = await run(t, h, bulk([{ method: 'POST', path: '/Users', bulkId: 'me', data: user('selfmanaged', { [ENTERPRISE]: { manager: { value: 'bulkId:me' } } }) }]));
    t.match(results, [{ bulkId: 'me', status: '409', response: { detail: /circular reference to itself/ } }]);
    t.equal(await userId(h, 'selfmanaged'), undefined);
  });

  t.test('references that cannot be resolved: an unknown bulkId (400), a bulkId whose POST failed (409)', async (t) => {
    const h = await build(t, kind);
    await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user('taken') });
    const results = await run(
      t,
      h,
      bulk([
        { method: 'POST', path: '/Users', bulkId: 'dup', data: user('TAKEN') },
        { method: 'POST', path: '/Groups', bulkId: 'g', data: { schemas: [GROUP], displayName: 'G', members: [{ value: 'bulkId:dup' }] } },
        { method: 'PATCH', path: '/Users/bulkId:nowhere', data: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'x' }] } },
      ]),
    );
    t.match(results, [
      { bulkId: 'dup', status: '409', response: { scimType: 'uniqueness', detail: /^operation 1: / } },
      { bulkId: 'g', status: '409', response: { detail: "operation 2: 'bulkId:dup' was not created: operation 1 failed with status 409" } },
      { method: 'PATCH', status: '400', response: { scimType: 'invalidValue', detail: "operation 3: 'bulkId:nowhere' names no POST operation of this request" } },
    ]);
    t.notOk(results[0]!.location, 'a failed POST has no location');
    t.equal(await userId(h, 'G'), undefined);
  });

  t.test('failOnErrors: 1 stops at the first failure; what ran before it stays; nothing after it runs', async (t) => {
    const h = await build(t, kind);
    const results = await run(
      t,
      h,
      bulk(
        [
          { method: 'POST', path: '/Users', bulkId: 'u1', data: user('first') },
          { method: 'POST', path: '/Users', bulkId: 'u2', data: user('second') },
          { method: 'POST', path: '/Users', bulkId: 'u3', data: user('first') },
          { method: 'POST', path: '/Users', bulkId: 'u4', data: user('fourth') },
          { method: 'PATCH', path: '/Users/bulkId:u1', data: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'x' }] } },
        ],
        { failOnErrors: 1 },
      ),
    );
    t.match(results, [{ bulkId: 'u1', status: '201' }, { bulkId: 'u2', status: '201' }, { bulkId: 'u3', status: '409' }]);
    t.equal(results.length, 3, 'the operations after the error are neither run nor listed');
    t.ok(await userId(h, 'second'));
    t.equal(await userId(h, 'fourth'), undefined);
    t.equal((await get(h, `/Users/${idOf(results[0]!)}`)).title, undefined);
  });

  t.test('failOnErrors: 2 accepts one error and stops at the second; without failOnErrors every operation runs', async (t) => {
    const h = await build(t, kind);
    const ops = [
      { method: 'POST', path: '/Users', bulkId: 'a', data: user('one') },
      { method: 'POST', path: '/Users', bulkId: 'b', data: { schemas: [USER] } },
      { method: 'POST', path: '/Users', bulkId: 'c', data: user('three') },
      { method: 'GET', path: '/Users' },
      { method: 'POST', path: '/Users', bulkId: 'e', data: user('five') },
    ];
    const two = await run(t, h, bulk(ops, { failOnErrors: 2 }));
    t.match(two, [{ status: '201' }, { status: '400', response: { detail: /^operation 2: / } }, { status: '201' }, { method: 'GET', status: '400', response: { scimType: 'invalidValue' } }]);
    t.equal(two.length, 4);
    t.equal(await userId(h, 'five'), undefined);
    const all = await run(t, h, bulk(ops.map((o, i) => (o.data && 'userName' in o.data ? { ...o, data: user(`${o.data.userName as string}-${i}`) } : o))));
    t.same(all.map((r) => r.status), ['201', '400', '201', '400', '201']);
  });

  t.test('a run of POSTs stored together: a duplicate inside the run fails alone, the others are created and audited', async (t) => {
    const h = await build(t, kind);
    const ops = Array.from({ length: 60 }, (_, i) => ({ method: 'POST', path: '/Users', bulkId: `u${i}`, data: user(i === 40 ? 'loader-5' : `loader-${i}`, { title: `T${i}` }) }));
    const results = await run(t, h, bulk(ops), { roles: ['globalAdmin'], client: 'hr-loader' });
    t.equal(results.length, 60);
    t.same(results.map((r, i) => (i === 40 ? r.status : r.status === '201')), results.map((_, i) => (i === 40 ? '409' : true)));
    t.match(results[40]!.response, { scimType: 'uniqueness', detail: /^operation 41: .*userName/ });
    const list = (await h.req({ method: 'GET', url: `/scim/v2/Users?filter=${encodeURIComponent('userName sw "loader-"')}&count=0` })).json() as Json;
    t.equal(list.totalResults, 59);
    const audit = (await h.req({ method: 'GET', url: `/scim/v2/AuditEvents?resourceId=${idOf(results[7]!)}`, roles: ['globalAdmin'] })).json() as { Resources: Json[] };
    t.match(audit.Resources, [{ operation: 'create', versionAfter: 1, actor: { clientId: 'hr-loader', roles: ['globalAdmin'] } }]);
  });

  t.test('each operation is atomic: a PATCH whose second operation fails changes nothing', async (t) => {
    const h = await build(t, kind);
    const u = (await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user('atomic', { title: 'Before' }) })).json() as Json;
    const results = await run(
      t,
      h,
      bulk([
        {
          method: 'PATCH',
          path: `/Users/${u.id}`,
          data: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'After' }, { op: 'replace', path: 'id', value: 'other' }] },
        },
      ]),
    );
    t.match(results, [{ status: '400', response: { scimType: 'mutability', detail: /^operation 1: / } }]);
    const now = await get(h, `/Users/${u.id}`);
    t.equal(now.title, 'Before');
    t.equal((now.meta as Json).version, 'W/"1"');
  });

  t.test('sections and sources of authority apply per operation, as in single requests', async (t) => {
    const h = await build(t, kind, { SCIM_AUTHORITIES: '{"hr-feed":["jobInfo"]}' });
    const u = (await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user('worker') })).json() as Json;
    const hr = { scope: 'scim:read scim:write:jobInfo', client: 'hr-feed' };
    const results = await run(
      t,
      h,
      bulk([
        { method: 'PATCH', path: `/Users/${u.id}`, data: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: `${ENTERPRISE}:department`, value: 'Finance' }] } },
        { method: 'PATCH', path: `/Users/${u.id}`, data: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'displayName', value: 'Renamed' }] } },
      ]),
      hr,
    );
    t.match(results, [{ status: '200' }, { status: '403', response: { detail: /^operation 2: .*displayName.*identity/ } }]);
    const now = await get(h, `/Users/${u.id}`);
    t.equal((now[ENTERPRISE] as Json).department, 'Finance');
    t.equal(now.displayName, undefined);
    t.match((now['urn:scim-server:schemas:extension:profile:1.0:User'] as Json).sources, [{ section: 'jobInfo', source: 'hr-feed' }], 'the HR feed claimed job info through Bulk');
    const other = await run(t, h, bulk([{ method: 'PATCH', path: `/Users/${u.id}`, data: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'x' }] } }]));
    t.match(other, [{ status: '403', response: { detail: /owned by its source of authority 'hr-feed'/ } }]);
    // A token limited to profile sections writes Users only, as it would alone: a group is not its to create.
    const groups = await run(t, h, bulk([{ method: 'POST', path: '/Groups', bulkId: 'g', data: { schemas: [GROUP], displayName: 'HR made this' } }]), hr);
    t.match(groups, [{ bulkId: 'g', status: '403', response: { detail: "operation 1: writing /Groups needs the scope 'scim:write'; this token's write scopes are limited to sections of /Users" } }]);
    const alone = await h.req({ method: 'POST', url: '/scim/v2/Groups', payload: { schemas: [GROUP], displayName: 'HR made this' }, ...hr });
    t.equal(alone.statusCode, 403, 'the same as the single request');
  });

  t.test('malformed operations fail in their place; the others run', async (t) => {
    const h = await build(t, kind);
    const results = await run(
      t,
      h,
      bulk([
        'not an object',
        { method: 'FETCH', path: '/Users' },
        { method: 'POST', path: '/Widgets', bulkId: 'w', data: {} },
        { method: 'POST', path: '/Users/123', bulkId: 'x', data: user('x') },
        { method: 'PUT', path: '/Users', data: user('y') },
        { method: 'PATCH', path: '/Users/abc' },
        { method: 'DELETE', path: '/Users/does-not-exist' },
        { method: 'post', path: '/Users/', bulkId: 'ok', data: user('fine') },
        { method: 'PUT', path: '/Users/abc', version: 3, data: user('z') },
      ]),
    );
    t.match(results, [
      { method: '', status: '400', response: { scimType: 'invalidSyntax', detail: 'operation 1: an operation must be a JSON object' } },
      { method: 'FETCH', status: '400', response: { scimType: 'invalidValue', detail: /^operation 2: "method" must be one of POST, PUT, PATCH, DELETE/ } },
      { method: 'POST', bulkId: 'w', status: '404', response: { detail: /^operation 3: path '\/Widgets'/ } },
      { status: '400', response: { detail: /^operation 4: a POST's path must be a resource endpoint/ } },
      { status: '400', response: { detail: /^operation 5: a PUT's path must name a resource/ } },
      { status: '400', response: { scimType: 'invalidSyntax', detail: /^operation 6: a PATCH needs "data"/ } },
      { method: 'DELETE', status: '404', response: { detail: /^operation 7: User "does-not-exist" not found/ } },
      { method: 'POST', bulkId: 'ok', status: '201' },
      { status: '400', response: { detail: /^operation 9: "version" must be an ETag/ } },
    ]);
  });

  t.test('the request as a whole: not a BulkRequest (400), a bulkId twice (400), no token (401), read-only token (403), GET (405)', async (t) => {
    const h = await build(t, kind);
    const cases: [unknown, number, string | undefined, RegExp][] = [
      [[], 400, 'invalidSyntax', /a BulkRequest body must be a JSON object/],
      [{ Operations: [] }, 400, 'invalidSyntax', /"schemas" must contain "urn:ietf:params:scim:api:messages:2.0:BulkRequest"/],
      [{ schemas: [BULK_REQUEST], Operations: [] }, 400, 'invalidSyntax', /"Operations" must be a non-empty array/],
      [{ schemas: [BULK_REQUEST] }, 400, 'invalidSyntax', /"Operations" must be a non-empty array/],
      [bulk([{ method: 'DELETE', path: '/Users/x' }], { failOnErrors: 0 }), 400, 'invalidValue', /"failOnErrors" must be a whole number of at least 1/],
      [bulk([{ method: 'DELETE', path: '/Users/x' }], { failOnErrors: '1' }), 400, 'invalidValue', /"failOnErrors"/],
      [
        bulk([
          { method: 'POST', path: '/Users', bulkId: 'same', data: user('p') },
          { method: 'POST', path: '/Users', bulkId: 'same', data: user('q') },
        ]),
        400,
        'invalidValue',
        /operation 2: bulkId 'same' is already the bulkId of operation 1/,
      ],
    ];
    for (const [body, status, scimType, detail] of cases) {
      const res = await send(h, body);
      t.equal(res.statusCode, status, JSON.stringify(body).slice(0, 80));
      t.match(res.json(), { schemas: [ERROR], status: String(status), ...(scimType ? { scimType } : {}), detail });
    }
    t.equal(await userId(h, 'p'), undefined, 'a request refused whole writes nothing');
    const anonymous = await h.app.inject({ method: 'POST', url: '/scim/v2/Bulk', headers: { 'content-type': 'application/scim+json' }, payload: bulk([]) });
    t.equal(anonymous.statusCode, 401);
    const reader = await send(h, bulk([{ method: 'POST', path: '/Users', bulkId: 'r', data: user('r') }]), { scope: 'scim:read' });
    t.equal(reader.statusCode, 403);
    const get = await h.req({ method: 'GET', url: '/scim/v2/Bulk' });
    t.equal(get.statusCode, 405);
    t.equal(get.headers.allow, 'POST');
  });

  t.test('RFC 7644 §3.7.4: more than maxOperations, or a body over maxPayloadSize, is 413 naming the limit; ServiceProviderConfig advertises both', async (t) => {
    const h = await build(t, kind, { SCIM_BULK_MAX_OPERATIONS: '3', SCIM_BULK_MAX_PAYLOAD_SIZE: '2000' });
    const spc = (await h.req({ method: 'GET', url: '/scim/v2/ServiceProviderConfig' })).json() as Json;
    t.same(spc.bulk, { supported: true, maxOperations: 3, maxPayloadSize: 2000 });
    const four = await send(h, bulk(Array.from({ length: 4 }, (_, i) => ({ method: 'POST', path: '/Users', bulkId: `b${i}`, data: user(`u${i}`) }))));
    t.equal(four.statusCode, 413);
    t.match(four.json(), { schemas: [ERROR], status: '413', detail: /4 operations, more than maxOperations \(3\)/ });
    const big = await send(h, bulk([{ method: 'POST', path: '/Users', bulkId: 'big', data: user('big', { displayName: 'x'.repeat(3000) }) }]));
    t.equal(big.statusCode, 413);
    t.match(big.json(), { schemas: [ERROR], status: '413', detail: /maxPayloadSize \(2000 bytes\)/ });
    t.equal(await userId(h, 'u0'), undefined);
    t.equal(await userId(h, 'big'), undefined);
    const defaults = await build(t, kind);
    t.same(((await defaults.req({ method: 'GET', url: '/scim/v2/ServiceProviderConfig' })).json() as Json).bulk, { supported: true, maxOperations: 1000, maxPayloadSize: 4194304 });
  });

  t.test('a bulk of 1,000 creates: every user created, in one request', async (t) => {
    const h = await build(t, kind);
    const ops = Array.from({ length: 1000 }, (_, i) => ({
      method: 'POST',
      path: '/Users',
      bulkId: `e${i}`,
      data: user(`employee${i}`, { name: { givenName: 'E', familyName: String(i) }, emails: [{ value: `e${i}@example.com`, type: 'work', primary: true }], [ENTERPRISE]: { employeeNumber: String(i), department: 'Ops' } }),
    }));
    const results = await run(t, h, bulk(ops));
    t.equal(results.filter((r) => r.status === '201').length, 1000);
    t.equal(new Set(results.map((r) => r.location)).size, 1000);
    const list = (await h.req({ method: 'GET', url: `/scim/v2/Users?filter=${encodeURIComponent('urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "Ops"')}&count=0` })).json() as Json;
    t.equal(list.totalResults, 1000);
  });
});
