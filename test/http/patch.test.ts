/**
 * PATCH over HTTP on every store: job-info updates, what Entra ID and Okta send (../shared/CLIENTS.md), errors that
 * change nothing, version semantics, the manager reference, and concurrency.
 */
import t from 'tap';
import { build, eachStore, USER, ENTERPRISE, ERROR, Harness } from '../helper';

const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ops = (...Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });

async function create(h: Harness, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const res = await h.req({ method: 'POST', url: '/scim/v2/Users', payload: { schemas: [USER, ENTERPRISE], ...body } });
  if (res.statusCode !== 201) throw new Error(`create failed: ${res.statusCode} ${res.body}`);
  return res.json();
}

const patch = (h: Harness, id: unknown, body: unknown, headers: Record<string, string> = {}) =>
  h.req({ method: 'PATCH', url: `/scim/v2/Users/${id}`, payload: body as object, headers });

interface Case {
  name: string;
  source: Record<string, unknown>;
  operations: unknown[];
  expected: Record<string, unknown>;
  absent?: string[];
}

const cases: Case[] = [
  {
    name: 'HR feed: job title and department by plain and URN paths',
    source: { userName: 'hr1', title: 'Engineer' },
    operations: [
      { op: 'replace', path: 'title', value: 'Senior Engineer' },
      { op: 'add', path: `${ENTERPRISE}:department`, value: 'Platform' },
      { op: 'add', path: `${ENTERPRISE}:costCenter`, value: 'CC-17' },
      { op: 'replace', path: `${ENTERPRISE}:employeeNumber`, value: '00042' },
    ],
    expected: { title: 'Senior Engineer', [ENTERPRISE]: { department: 'Platform', costCenter: 'CC-17', employeeNumber: '00042' }, schemas: [USER, ENTERPRISE] },
  },
  {
    name: 'Entra: capitalised ops, URN paths, string boolean',
    source: { userName: 'entra1', active: true },
    operations: [
      { op: 'Replace', path: `${ENTERPRISE}:division`, value: 'EMEA' },
      { op: 'Replace', path: 'active', value: 'False' },
      { op: 'Add', path: `${ENTERPRISE}:organization`, value: 'Contoso' },
    ],
    expected: { active: false, [ENTERPRISE]: { division: 'EMEA', organization: 'Contoso' } },
  },
  {
    name: 'Entra: path-less replace with dotted and URN keys',
    source: { userName: 'entra2', name: { givenName: 'Old', familyName: 'Name' } },
    operations: [{ op: 'replace', value: { displayName: 'A', 'name.givenName': 'B', [`${ENTERPRISE}:department`]: 'C' } }],
    expected: { displayName: 'A', name: { givenName: 'B', familyName: 'Name' }, [ENTERPRISE]: { department: 'C' } },
  },
  {
    name: 'Entra: filtered replace creates the element, later ops on the same filter merge into it',
    source: { userName: 'entra3' },
    operations: [
      { op: 'Add', path: 'addresses[type eq "work"].locality', value: 'Redmond' },
      { op: 'Add', path: 'addresses[type eq "work"].postalCode', value: '98052' },
      { op: 'Replace', path: 'phoneNumbers[type eq "mobile"].value', value: '+1 555 0100' },
    ],
    expected: { addresses: [{ type: 'work', locality: 'Redmond', postalCode: '98052' }], phoneNumbers: [{ type: 'mobile', value: '+1 555 0100' }] },
  },
  {
    name: 'Entra: clear values with "" and null',
    source: { userName: 'entra4', title: 'T', nickName: 'N', [ENTERPRISE]: { department: 'D' } },
    operations: [
      { op: 'Replace', path: 'title', value: '' },
      { op: 'Replace', path: 'nickName', value: null },
      { op: 'Replace', path: `${ENTERPRISE}:department`, value: '' },
    ],
    expected: { schemas: [USER] },
    absent: ['title', 'nickName', ENTERPRISE],
  },
  {
    name: 'Okta: path-less deactivate',
    source: { userName: 'okta1', active: true },
    operations: [{ op: 'replace', value: { active: false } }],
    expected: { active: false },
  },
  {
    name: 'RFC 7644 §3.5.2.1: add appends to a multi-valued attribute, no duplicates',
    source: { userName: 'rfc1', emails: [{ value: 'a@example.com', type: 'work' }] },
    operations: [
      { op: 'add', path: 'emails', value: [{ value: 'b@example.com', type: 'home' }] },
      { op: 'add', path: 'emails', value: [{ value: 'a@example.com', type: 'work' }] },
    ],
    expected: { emails: [{ value: 'a@example.com', type: 'work' }, { value: 'b@example.com', type: 'home' }] },
  },
  {
    name: 'RFC 7644 §3.5.2.2: remove with a value filter removes only matching elements',
    source: { userName: 'rfc2', emails: [{ value: 'a@example.com', type: 'work' }, { value: 'b@example.com', type: 'home' }] },
    operations: [{ op: 'remove', path: 'emails[type eq "work"]' }],
    expected: { emails: [{ value: 'b@example.com', type: 'home' }] },
  },
  {
    name: 'RFC 7643 §2.4: primary true on one element clears the others',
    source: { userName: 'prim', emails: [{ value: 'a@example.com', type: 'work', primary: true }, { value: 'b@example.com', type: 'home' }] },
    operations: [{ op: 'replace', path: 'emails[type eq "home"].primary', value: true }],
    expected: { emails: [{ value: 'a@example.com', type: 'work' }, { value: 'b@example.com', type: 'home', primary: true }] },
  },
];

const errorCases: { name: string; operations: unknown[]; status: number; scimType: string; detail: RegExp }[] = [
  { name: 'readOnly id', operations: [{ op: 'replace', path: 'id', value: 'x' }], status: 400, scimType: 'mutability', detail: /id/ },
  { name: 'readOnly meta.created', operations: [{ op: 'replace', path: 'meta.created', value: '2020-01-01T00:00:00Z' }], status: 400, scimType: 'mutability', detail: /meta/ },
  { name: 'readOnly groups', operations: [{ op: 'add', path: 'groups', value: [{ value: 'g' }] }], status: 400, scimType: 'mutability', detail: /groups/ },
  { name: 'readOnly manager.displayName', operations: [{ op: 'replace', path: `${ENTERPRISE}:manager.displayName`, value: 'Boss' }], status: 400, scimType: 'mutability', detail: /displayName/ },
  { name: 'remove required userName', operations: [{ op: 'remove', path: 'userName' }], status: 400, scimType: 'mutability', detail: /userName/ },
  { name: 'unknown attribute', operations: [{ op: 'replace', path: 'shoeSize', value: 9 }], status: 400, scimType: 'invalidPath', detail: /shoeSize/ },
  { name: 'filter on a singular attribute', operations: [{ op: 'replace', path: 'title[value eq "x"]', value: 'y' }], status: 400, scimType: 'invalidFilter', detail: /title/ },
  { name: 'wrong type', operations: [{ op: 'replace', path: 'active', value: 'maybe' }], status: 400, scimType: 'invalidValue', detail: /active/ },
  { name: 'remove without path', operations: [{ op: 'remove' }], status: 400, scimType: 'noTarget', detail: /path/ },
  { name: 'unknown op', operations: [{ op: 'merge', path: 'title', value: 'x' }], status: 400, scimType: 'invalidSyntax', detail: /op/ },
  { name: 'manager that does not exist', operations: [{ op: 'replace', path: `${ENTERPRISE}:manager`, value: { value: '00000000-0000-4000-8000-000000000000' } }], status: 400, scimType: 'invalidValue', detail: /no User/ },
  {
    name: 'a later failing operation undoes the earlier ones',
    operations: [{ op: 'replace', path: 'title', value: 'Changed' }, { op: 'replace', path: 'active', value: 'nope' }],
    status: 400, scimType: 'invalidValue', detail: /^operation 2/,
  },
];

eachStore(t, async (t, kind) => {
  const h = await build(t, kind);

  for (const c of cases) {
    t.test(c.name, async (t) => {
      const u = await create(h, c.source);
      const res = await patch(h, u.id, ops(...c.operations));
      t.equal(res.statusCode, 200, res.body);
      const body = res.json();
      t.match(body, c.expected);
      for (const a of c.absent ?? []) t.notOk(a in body, `${a} is gone`);
      for (const v of Object.values(body)) {
        if (Array.isArray(v)) t.ok(v.filter((x) => x?.primary === true).length <= 1, 'primary true appears at most once');
      }
      t.equal(res.headers.etag, 'W/"2"');
      t.same((await h.req({ method: 'GET', url: `/scim/v2/Users/${u.id}` })).json(), body, 'the stored user is what PATCH answered');
    });
  }

  for (const c of errorCases) {
    t.test(`error: ${c.name} -> ${c.status} ${c.scimType}, nothing written`, async (t) => {
      const u = await create(h, { userName: `err-${c.name.replace(/\W+/g, '-')}`, title: 'Original' });
      const res = await patch(h, u.id, ops(...c.operations));
      t.equal(res.statusCode, c.status, res.body);
      t.match(res.json(), { schemas: [ERROR], status: String(c.status), scimType: c.scimType, detail: c.detail });
      t.same((await h.req({ method: 'GET', url: `/scim/v2/Users/${u.id}` })).json(), u, 'unchanged');
    });
  }

  t.test('a PATCH that changes nothing keeps version and lastModified', async (t) => {
    const u = await create(h, { userName: 'nochange', title: 'Same' });
    const res = await patch(h, u.id, ops({ op: 'replace', path: 'title', value: 'Same' }));
    t.equal(res.statusCode, 200);
    t.equal(res.headers.etag, 'W/"1"');
    t.same(res.json().meta, u.meta);
  });

  t.test('If-Match: mismatch -> 412 and nothing written; match -> 200', async (t) => {
    const u = await create(h, { userName: 'ifmatch' });
    const stale = await patch(h, u.id, ops({ op: 'add', path: 'title', value: 'X' }), { 'if-match': 'W/"5"' });
    t.equal(stale.statusCode, 412);
    const ok = await patch(h, u.id, ops({ op: 'add', path: 'title', value: 'X' }), { 'if-match': 'W/"1"' });
    t.equal(ok.statusCode, 200);
    t.equal(ok.headers.etag, 'W/"2"');
  });

  t.test('PATCH honours attributes/excludedAttributes on the response', async (t) => {
    const u = await create(h, { userName: 'projpatch', title: 'T' });
    const res = await h.req({ method: 'PATCH', url: `/scim/v2/Users/${u.id}?attributes=title`, payload: ops({ op: 'replace', path: 'title', value: 'U' }) });
    t.same(res.json(), { schemas: [USER], id: u.id, title: 'U' });
  });

  t.test('PATCH to a taken userName -> 409, nothing written', async (t) => {
    await create(h, { userName: 'taken.name' });
    const u = await create(h, { userName: 'free.name' });
    const res = await patch(h, u.id, ops({ op: 'replace', path: 'userName', value: 'TAKEN.name' }));
    t.equal(res.statusCode, 409);
    t.equal(res.json().scimType, 'uniqueness');
  });

  t.test('password via PATCH is hashed, never returned', async (t) => {
    const u = await create(h, { userName: 'pwpatch' });
    const res = await patch(h, u.id, ops({ op: 'replace', path: 'password', value: 'N3w-passw0rd' }));
    t.equal(res.statusCode, 200);
    t.notOk('password' in res.json());
    t.equal(res.headers.etag, 'W/"2"');
    const stored = await h.store.resources.get(h.app.users.schema, u.id as string);
    t.match(stored?.secrets?.password, /^scrypt\$/);
    const again = await patch(h, u.id, ops({ op: 'replace', path: 'password', value: 'N3w-passw0rd' }));
    t.equal(again.headers.etag, 'W/"2"', 'the same password again changes nothing');
  });

  t.test('manager: every Entra shape sets it; $ref and displayName are the server’s; every removal shape clears it', async (t) => {
    const boss = await create(h, { userName: 'boss', displayName: 'The Boss' });
    const report = await create(h, { userName: 'report' });
    const path = `${ENTERPRISE}:manager`;
    const shapes: unknown[] = [{ value: boss.id }, boss.id, [{ $ref: null, value: boss.id }]];
    for (const value of shapes) {
      const res = await patch(h, report.id, ops({ op: 'Replace', path, value }));
      t.equal(res.statusCode, 200, JSON.stringify(value));
      t.same(res.json()[ENTERPRISE].manager, {
        value: boss.id,
        displayName: 'The Boss',
        $ref: `http://localhost:80/scim/v2/Users/${boss.id}`,
      });
      // Entra verifies with `id eq … and manager eq …`.
    }
    const clears: unknown[] = [{ op: 'Remove', path }, { op: 'Replace', path, value: '' }, { op: 'Replace', path, value: null }];
    for (const op of clears) {
      t.equal((await patch(h, report.id, ops({ op: 'Replace', path, value: boss.id }))).statusCode, 200);
      const res = await patch(h, report.id, ops(op));
      t.equal(res.statusCode, 200, JSON.stringify(op));
      t.notOk(ENTERPRISE in res.json(), `${JSON.stringify(op)} clears the manager and drops the empty extension`);
      t.same(res.json().schemas, [USER]);
    }
    const self = await patch(h, report.id, ops({ op: 'Replace', path, value: report.id }));
    t.equal(self.statusCode, 400);
    t.match(self.json(), { scimType: 'invalidValue', detail: /own manager/ });
  });

  t.test('manager.$ref (readWrite, RFC 7643 §8.7.2) names the manager; it is never stored, and a no-op echo keeps the version', async (t) => {
    const boss = await create(h, { userName: 'ref-boss', displayName: 'Ref Boss' });
    const report = await create(h, { userName: 'ref-report' });
    const path = `${ENTERPRISE}:manager`;
    const ref = `http://localhost:80/scim/v2/Users/${boss.id}`;
    const set = await patch(h, report.id, ops({ op: 'replace', path, value: { $ref: ref } }));
    t.equal(set.statusCode, 200, set.body);
    t.same(set.json()[ENTERPRISE].manager, { value: boss.id, displayName: 'Ref Boss', $ref: ref });
    const stored = await h.store.resources.get(h.app.users.schema, report.id as string);
    t.notOk('$ref' in (stored!.resource[ENTERPRISE] as { manager: object }).manager, '$ref is rendered, not stored');
    const echo = await patch(h, report.id, ops({ op: 'replace', path, value: set.json()[ENTERPRISE].manager }));
    t.equal(echo.headers.etag, set.headers.etag, 'echoing the rendered manager changes nothing');
    const clash = await patch(h, report.id, ops({ op: 'replace', path, value: { value: boss.id, $ref: `http://x/Users/${report.id}` } }));
    t.equal(clash.statusCode, 400);
    t.match(clash.json(), { scimType: 'invalidValue', detail: /different users/ });
    const posted = await h.req({ method: 'POST', url: '/scim/v2/Users', payload: { schemas: [USER, ENTERPRISE], userName: 'ref-post', [ENTERPRISE]: { manager: { $ref: ref } } } });
    t.equal(posted.statusCode, 201, posted.body);
    t.equal(posted.json()[ENTERPRISE].manager.value, boss.id);
  });

  t.test('manager: a chain that would make a cycle is rejected', async (t) => {
    const a = await create(h, { userName: 'cycle-a' });
    const b = await create(h, { userName: 'cycle-b', [ENTERPRISE]: { manager: { value: a.id } } });
    const c = await create(h, { userName: 'cycle-c', [ENTERPRISE]: { manager: { value: b.id } } });
    const res = await patch(h, a.id, ops({ op: 'replace', path: `${ENTERPRISE}:manager.value`, value: c.id }));
    t.equal(res.statusCode, 400);
    t.match(res.json(), { scimType: 'invalidValue', detail: /cycle/ });
  });

  t.test('manager: deleting a user removes it from its reports and bumps their versions', async (t) => {
    const boss = await create(h, { userName: 'del-boss' });
    const r1 = await create(h, { userName: 'del-r1', [ENTERPRISE]: { manager: { value: boss.id }, department: 'D' } });
    const r2 = await create(h, { userName: 'del-r2', [ENTERPRISE]: { manager: boss.id } });
    t.equal((await h.req({ method: 'DELETE', url: `/scim/v2/Users/${boss.id}` })).statusCode, 204);
    const g1 = await h.req({ method: 'GET', url: `/scim/v2/Users/${r1.id}` });
    t.same(g1.json()[ENTERPRISE], { department: 'D' });
    t.equal(g1.headers.etag, 'W/"2"');
    const g2 = await h.req({ method: 'GET', url: `/scim/v2/Users/${r2.id}` });
    t.notOk(ENTERPRISE in g2.json());
    t.same(g2.json().schemas, [USER]);
  });

  t.test('manager: renaming a manager refreshes manager.displayName on every report and bumps their versions', async (t) => {
    const boss = await create(h, { userName: 'rename-boss', displayName: 'Old Name' });
    const reports = [];
    for (let i = 0; i < 3; i++) reports.push(await create(h, { userName: `rename-r${i}`, [ENTERPRISE]: { manager: { value: boss.id } } }));
    for (const r of reports) t.equal(r[ENTERPRISE] && (r[ENTERPRISE] as { manager: { displayName: string } }).manager.displayName, 'Old Name');
    t.equal((await patch(h, boss.id, ops({ op: 'replace', path: 'displayName', value: 'New Name' }))).statusCode, 200);
    for (const r of reports) {
      const g = await h.req({ method: 'GET', url: `/scim/v2/Users/${r.id}` });
      t.equal(g.json()[ENTERPRISE].manager.displayName, 'New Name');
      t.equal(g.headers.etag, 'W/"2"');
    }
    await patch(h, boss.id, ops({ op: 'remove', path: 'displayName' }));
    const g = await h.req({ method: 'GET', url: `/scim/v2/Users/${reports[0]!.id}` });
    t.same(g.json()[ENTERPRISE].manager, { value: boss.id, $ref: `http://localhost:80/scim/v2/Users/${boss.id}` });
  });

  t.test('POST with a manager that does not exist -> 400, nothing created', async (t) => {
    const res = await h.req({
      method: 'POST',
      url: '/scim/v2/Users',
      payload: { schemas: [USER, ENTERPRISE], userName: 'orphan', [ENTERPRISE]: { manager: { value: 'nobody' } } },
    });
    t.equal(res.statusCode, 400);
    const list = (await h.req({ method: 'GET', url: `/scim/v2/Users?filter=${encodeURIComponent('userName eq "orphan"')}` })).json();
    t.equal(list.totalResults, 0);
  });

  t.test('100 concurrent PATCHes without If-Match on one user: none is refused, none is lost', async (t) => {
    const u = await create(h, { userName: 'concurrent' });
    // One instance runs each user's read-modify-write in its turn: no client that sent no If-Match sees 409.
    const n = 100;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) => patch(h, u.id, ops({ op: 'add', path: 'emails', value: [{ value: `user${i}@example.com` }] }))),
    );
    t.same(results.map((r) => r.statusCode), Array(n).fill(200));
    const final = (await h.req({ method: 'GET', url: `/scim/v2/Users/${u.id}` })).json();
    t.equal(final.emails.length, n, 'every email is there');
    t.equal(final.meta.version, `W/"${n + 1}"`);
  });

  t.test('PATCH on a missing user -> 404', async (t) => {
    const res = await patch(h, '00000000-0000-4000-8000-000000000000', ops({ op: 'replace', path: 'title', value: 'x' }));
    t.equal(res.statusCode, 404);
    t.match(res.json(), { schemas: [ERROR], status: '404' });
  });
});

t.test('a malformed PatchOp is 400 whatever its If-Match: the message is read before the version is compared', async (t) => {
  const h = await build(t);
  const u = h.json(await h.req({ method: 'POST', url: '/scim/v2/Users', payload: { schemas: [USER], userName: 'versioned' } }));
  const bad = await h.req({
    method: 'PATCH',
    url: `/scim/v2/Users/${u.id as string}`,
    headers: { 'if-match': 'W/""' },
    payload: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: true, path: 'title' }] },
  });
  t.equal(bad.statusCode, 400);
  t.match(bad.json(), { schemas: [ERROR], status: '400' });
  const stale = await h.req({
    method: 'PATCH',
    url: `/scim/v2/Users/${u.id as string}`,
    headers: { 'if-match': 'W/"7"' },
    payload: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'title', value: 'x' }] },
  });
  t.equal(stale.statusCode, 412, 'a well-formed one with a stale version is still 412');
});
