/**
 * Who may change which section of a profile (service/sections-rule.ts), on both stores: an HR feed whose
 * token grants `scim:write:jobInfo`, an identity provider granted identity, preferences, contact, settings and account, and an
 * administrator with `scim:write`. Every forbidden change is 403 with nothing written; a full PUT from a client
 * leaves the sections it may not write as they are.
 */
import t from 'tap';
import { build, eachStore, ENTERPRISE, ERROR, user } from '../helper';

const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const HR = 'scim:read scim:write:jobInfo';
const IDP = 'scim:read scim:write:identity scim:write:preferences scim:write:contact scim:write:settings scim:write:account';
type Json = Record<string, unknown>;

eachStore(t, async (t, kind) => {
  const h = await build(t, kind);
  const get = async (id: string) => h.json(await h.req({ method: 'GET', url: `/scim/v2/Users/${id}` }));
  const patch = (id: string, scope: string, Operations: unknown[]) => h.req({ method: 'PATCH', url: `/scim/v2/Users/${id}`, scope, payload: { schemas: [PATCH_OP], Operations } });
  const count = async (userName: string) => h.json(await h.req({ method: 'GET', url: `/scim/v2/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}` })).totalResults;

  t.test('POST: an identity provider creates accounts; job info or a client without identity is refused, nothing created', async (t) => {
    const ok = await h.req({ method: 'POST', url: '/scim/v2/Users', scope: IDP, payload: user('s-idp', { externalId: 'x1', password: 'Secret-1234', emails: [{ value: 's@x.test', type: 'work' }], active: true }) });
    t.equal(ok.statusCode, 201, ok.body);
    const withTitle = await h.req({ method: 'POST', url: '/scim/v2/Users', scope: IDP, payload: user('s-idp-title', { title: 'CEO' }) });
    t.equal(withTitle.statusCode, 403);
    t.match(h.json(withTitle), { schemas: [ERROR], status: '403', detail: /'title' is in section jobInfo, which this client may not change \(its token grants: identity, settings, preferences, contact, account\)/ });
    t.equal(await count('s-idp-title'), 0, 'nothing was created');
    const hr = await h.req({ method: 'POST', url: '/scim/v2/Users', scope: HR, payload: user('s-hr') });
    t.equal(hr.statusCode, 403);
    t.match(h.json(hr), { detail: /'userName' is in section identity/ });
    t.equal(await count('s-hr'), 0);
  });

  t.test('PATCH: each client changes its own sections; one forbidden operation refuses the whole request', async (t) => {
    const id = h.json(await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user('s-patch', { displayName: 'Pat' }) })).id as string;
    const job = await patch(id, HR, [{ op: 'replace', value: { title: 'Lead', [`${ENTERPRISE}:department`]: 'Sales' } }]);
    t.equal(job.statusCode, 200, job.body);
    const mixed = await patch(id, HR, [
      { op: 'replace', path: 'title', value: 'Director' },
      { op: 'replace', path: 'displayName', value: 'Renamed by HR' },
    ]);
    t.equal(mixed.statusCode, 403);
    t.match(h.json(mixed), { detail: /'displayName' is in section identity/ });
    const after = await get(id);
    t.equal(after.title, 'Lead', 'the allowed operation of a refused request was not applied');
    t.equal(after.displayName, 'Pat');
    t.equal((after.meta as Json).version, 'W/"2"');
    t.equal((await patch(id, IDP, [{ op: 'replace', path: 'title', value: 'x' }])).statusCode, 403, 'an IdP may not change job info');
    t.equal((await patch(id, IDP, [{ op: 'add', path: 'emails', value: [{ value: 'p@x.test', type: 'work' }] }])).statusCode, 200, 'but contact info');
    t.equal((await patch(id, HR, [{ op: 'replace', path: 'password', value: 'Secret-5678' }])).statusCode, 403, 'a password is in account');
    t.equal((await patch(id, IDP, [{ op: 'replace', path: 'password', value: 'Secret-5678' }])).statusCode, 200);
    // A PATCH that changes nothing in a forbidden section passes (the value is the one there).
    t.equal((await patch(id, HR, [{ op: 'replace', path: 'displayName', value: 'Pat' }])).statusCode, 200);
  });

  t.test("PUT: a full replace from the identity provider leaves HR's job info as it is, and the reverse", async (t) => {
    const id = h.json(await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user('s-put', { displayName: 'Before' }) })).id as string;
    t.equal((await patch(id, HR, [{ op: 'replace', value: { title: 'Engineer', [`${ENTERPRISE}:department`]: 'R&D' } }])).statusCode, 200);
    // An IdP's PUT, built from its own data: no job info at all, and a title it made up.
    const put = await h.req({ method: 'PUT', url: `/scim/v2/Users/${id}`, scope: IDP, payload: user('s-put', { displayName: 'From IdP', title: 'Made up' }) });
    t.equal(put.statusCode, 200, put.body);
    let now = await get(id);
    t.equal(now.displayName, 'From IdP', 'identity replaced');
    t.equal(now.title, 'Engineer', 'job info kept');
    t.same(now[ENTERPRISE], { department: 'R&D' });
    // HR's PUT carries only job info: identity and contact stay.
    const hrPut = await h.req({ method: 'PUT', url: `/scim/v2/Users/${id}`, scope: HR, payload: { userName: 'ignored', title: 'Principal' } });
    t.equal(hrPut.statusCode, 200, hrPut.body);
    now = await get(id);
    t.equal(now.userName, 's-put');
    t.equal(now.displayName, 'From IdP');
    t.equal(now.title, 'Principal');
    t.notOk(now[ENTERPRISE], 'its own section is replaced as a whole');
    const pw = await h.req({ method: 'PUT', url: `/scim/v2/Users/${id}`, scope: HR, payload: { userName: 's-put', password: 'Secret-9999' } });
    t.equal(pw.statusCode, 403, 'a password from a client without account is refused, not ignored');
    // An administrator's PUT replaces everything, as before sections.
    const admin = await h.req({ method: 'PUT', url: `/scim/v2/Users/${id}`, payload: user('s-put') });
    t.equal(admin.statusCode, 200);
    t.notOk((await get(id)).title);
  });

  t.test('section-limited tokens write Users only; a token with no write scope is still 403', async (t) => {
    const group = await h.req({ method: 'POST', url: '/scim/v2/Groups', scope: IDP, payload: { displayName: 'No' } });
    t.equal(group.statusCode, 403);
    t.match(h.json(group), { detail: /lacks the scope 'scim:write'/ });
    const none = await h.req({ method: 'POST', url: '/scim/v2/Users', scope: 'scim:read', payload: user('s-none') });
    t.equal(none.statusCode, 403);
    const empty = await h.req({ method: 'POST', url: '/scim/v2/Users', scope: 'scim:read scim:write:', payload: user('s-empty') });
    t.equal(empty.statusCode, 403, '`scim:write:` names no section');
  });

  t.test('GET /Sections says what the calling token may write', async (t) => {
    const hr = h.json(await h.req({ method: 'GET', url: '/scim/v2/Sections', scope: HR }));
    t.match(hr, { schemas: ['urn:scim-server:api:messages:1.0:Sections'], resourceType: 'User', grants: ['jobInfo'] });
    const rows = hr.Resources as { name: string; writable: boolean; attributes: string[] }[];
    t.same(rows.map((r) => `${r.name}:${r.writable}`), ['photo:false', 'identity:false', 'jobInfo:true', 'settings:false', 'preferences:false', 'contact:false', 'authContact:false', 'account:false']);
    t.ok(rows.find((r) => r.name === 'jobInfo')!.attributes.includes('title'));
    // scim:write: every section but authentication contact info, which only a global administrator changes.
    const client = h.json(await h.req({ method: 'GET', url: '/scim/v2/Sections' }));
    t.same(client.grants, ['photo', 'identity', 'jobInfo', 'settings', 'preferences', 'contact', 'account']);
    t.match(client.Resources, [{}, {}, {}, {}, {}, {}, { name: 'authContact', writable: false, readable: false, writers: ['globalAdmin'] }, {}]);
    const admin = h.json(await h.req({ method: 'GET', url: '/scim/v2/Sections', roles: ['globalAdmin'] }));
    t.equal(admin.grants, 'all');
    t.ok((admin.Resources as { writable: boolean; readable: boolean }[]).every((r) => r.writable && r.readable));
    const userAdmin = h.json(await h.req({ method: 'GET', url: '/scim/v2/Sections', scope: 'scim:read', roles: ['userAdmin'] }));
    t.match(userAdmin, { administrator: true, roles: ['userAdmin'] });
    t.match((userAdmin.Resources as unknown[])[6], { name: 'authContact', writable: false, readable: true });
    const reader = h.json(await h.req({ method: 'GET', url: '/scim/v2/Sections', scope: 'scim:read' }));
    t.same(reader.grants, []);
    t.equal((await h.req({ method: 'GET', url: '/scim/v2/Sections', headers: { authorization: '' } })).statusCode, 401);
    t.equal((await h.req({ method: 'POST', url: '/scim/v2/Sections', payload: {} })).statusCode, 405);
  });
});
