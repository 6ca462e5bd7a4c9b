/**
 * RFC 7644 §3.11 /Me on both stores: the token's subject mapped to a User by the operator's claim and attribute;
 * GET, PUT and PATCH of one's own profile under the self-service rules (photo, preferences and contact by default;
 * never job info or authentication contact info unless configured; a source of authority's ownership binds
 * /Me too); 501 without a mapping, 404 for a subject without a user, 409 for one matching two.
 */
import t from 'tap';
import type { LightMyRequestResponse } from 'fastify';
import { build, eachStore, ENTERPRISE, ERROR, user, type Harness } from '../helper';
import { mintToken } from '../../src/cli/mint';

const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const PROFILE = 'urn:scim-server:schemas:extension:profile:1.0:User';
type Json = Record<string, unknown>;

const ME = { SCIM_ME_CLAIM: 'sub', SCIM_ME_ATTRIBUTE: 'userName' };

async function as(h: Harness, subject: string, scope = 'scim:me', claims: Json = {}): Promise<string> {
  return mintToken(h.config.jwt, { scope, ttlSeconds: 600, subject, claims });
}

async function me(h: Harness, token: string, method: 'GET' | 'PUT' | 'PATCH' | 'POST' | 'DELETE', payload?: Json, headers: Record<string, string> = {}, query = ''): Promise<LightMyRequestResponse> {
  return h.app.inject({
    method,
    url: `/scim/v2/Me${query}`,
    headers: { authorization: `Bearer ${token}`, ...(payload ? { 'content-type': 'application/scim+json' } : {}), ...headers },
    ...(payload ? { payload } : {}),
  });
}

function patch(...operations: Json[]): Json {
  return { schemas: [PATCH_OP], Operations: operations };
}

eachStore(t, async (t, kind) => {
  t.test('without a mapping /Me is 501, and says which settings would offer it; POST and DELETE are 405 either way', async (t) => {
    const h = await build(t, kind);
    for (const method of ['GET', 'PUT', 'PATCH'] as const) {
      const res = await me(h, await as(h, 'alice'), method, method === 'GET' ? undefined : {});
      t.equal(res.statusCode, 501, method);
      t.match(res.json(), { schemas: [ERROR], status: '501', detail: /SCIM_ME_CLAIM and SCIM_ME_ATTRIBUTE/ });
    }
    for (const method of ['POST', 'DELETE'] as const) {
      const res = await me(h, await as(h, 'alice'), method);
      t.equal(res.statusCode, 405, method);
      t.equal(res.headers.allow, 'GET, PUT, PATCH, HEAD');
    }
  });

  t.test('GET /Me: the mapped user, with its ETag and its permanent Location; 304 on a matching If-None-Match', async (t) => {
    const h = await build(t, kind, ME);
    const alice = (await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user('Alice@Example.com', { displayName: 'Alice' }) })).json() as Json;
    await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user('bob@example.com') });
    const token = await as(h, 'alice@example.com');
    const res = await me(h, token, 'GET');
    t.equal(res.statusCode, 200);
    t.match(res.json(), { id: alice.id, userName: 'Alice@Example.com', displayName: 'Alice' }, 'userName is caseExact false: the subject matches in any case');
    t.equal(res.headers.etag, 'W/"1"');
    t.match(res.headers.location, new RegExp(`/scim/v2/Users/${alice.id}$`));
    t.equal((await me(h, token, 'GET', undefined, { 'if-none-match': 'W/"1"' })).statusCode, 304);
    const only = await me(h, token, 'GET', undefined, {}, '?attributes=displayName');
    t.same(Object.keys(only.json()).sort(), ['displayName', 'id', 'schemas']);
    const reader = await me(h, await as(h, 'alice@example.com', 'scim:read'), 'GET');
    t.equal(reader.statusCode, 200, 'scim:read also reads /Me');
    const none = await me(h, await as(h, 'alice@example.com', 'other'), 'GET');
    t.equal(none.statusCode, 403);
  });

  t.test('a subject without a user is 404, a token without the claim is 404, one matching two users is 409', async (t) => {
    const h = await build(t, kind, { SCIM_ME_CLAIM: 'employee_id', SCIM_ME_ATTRIBUTE: `${ENTERPRISE}:employeeNumber` });
    await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user('one', { [ENTERPRISE]: { employeeNumber: '701' } }) });
    await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user('two', { [ENTERPRISE]: { employeeNumber: '702' } }) });
    await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user('three', { [ENTERPRISE]: { employeeNumber: '702' } }) });
    const found = await me(h, await as(h, 'x', 'scim:me', { employee_id: '701' }), 'GET');
    t.equal(found.statusCode, 200);
    t.equal(found.json().userName, 'one');
    const missing = await me(h, await as(h, 'x', 'scim:me', { employee_id: '999' }), 'GET');
    t.equal(missing.statusCode, 404);
    t.match(missing.json(), { schemas: [ERROR], status: '404', detail: `/Me: no User has ${ENTERPRISE}:employeeNumber "999" (the token's 'employee_id')` });
    const noClaim = await me(h, await as(h, 'x'), 'PATCH', patch({ op: 'replace', path: 'preferredLanguage', value: 'de' }));
    t.equal(noClaim.statusCode, 404);
    t.match(noClaim.json(), { detail: "/Me: the token has no 'employee_id' claim to find its user by (SCIM_ME_CLAIM)" });
    const two = await me(h, await as(h, 'x', 'scim:me', { employee_id: '702' }), 'GET');
    t.equal(two.statusCode, 409);
    t.match(two.json(), { detail: /2 Users have .*employeeNumber "702"/ });
  });

  t.test('self-service: photo, preferences and contact, audited as the person; job info, settings, identity and authContact are 403', async (t) => {
    const h = await build(t, kind, ME);
    const created = (await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user('carol', { title: 'Engineer', active: true }) })).json() as Json;
    const token = await as(h, 'carol');
    const accepted: [string, Json][] = [
      ['photo', { op: 'add', path: 'photos', value: [{ value: 'https://photos.example.com/carol.jpg', type: 'photo' }] }],
      ['preferences', { op: 'replace', path: 'preferredLanguage', value: 'de-DE' }],
      ['preferences', { op: 'replace', path: 'timezone', value: 'Europe/Berlin' }],
      ['contact', { op: 'add', path: 'phoneNumbers', value: [{ value: '+49 30 1234', type: 'mobile' }] }],
    ];
    let version = 1;
    for (const [section, op] of accepted) {
      const res = await me(h, token, 'PATCH', patch(op));
      t.equal(res.statusCode, 200, `${section}: ${res.body.slice(0, 200)}`);
      t.equal(res.headers.etag, `W/"${++version}"`);
    }
    const refused: [string, Json][] = [
      ['jobInfo', { op: 'replace', path: 'title', value: 'CTO' }],
      ['jobInfo', { op: 'replace', path: `${ENTERPRISE}:department`, value: 'Board' }],
      ['settings', { op: 'replace', path: 'active', value: false }],
      ['identity', { op: 'replace', path: 'userName', value: 'carol2' }],
      ['authContact', { op: 'add', path: `${PROFILE}:authentication`, value: { phoneNumber: '+1 555 0100' } }],
      ['account', { op: 'add', path: 'externalId', value: 'mine' }],
    ];
    for (const [section, op] of refused) {
      const res = await me(h, token, 'PATCH', patch(op));
      t.equal(res.statusCode, 403, section);
      t.match(res.json(), { schemas: [ERROR], status: '403', detail: new RegExp(`is in section ${section}`) });
    }
    const now = (await h.req({ method: 'GET', url: `/scim/v2/Users/${created.id}` })).json() as Json;
    t.equal(now.title, 'Engineer');
    t.equal(now.active, true);
    t.equal(now.preferredLanguage, 'de-DE');
    t.equal((now.meta as Json).version, `W/"${version}"`, 'refused writes made no version');
    const audit = (await h.req({ method: 'GET', url: `/scim/v2/AuditEvents?resourceId=${created.id}`, roles: ['globalAdmin'] })).json() as { Resources: Json[] };
    t.equal(audit.Resources.length, 5);
    t.match(audit.Resources[4], { operation: 'patch', actor: { subject: 'carol' } });
  });

  t.test('PUT /Me replaces what the person may change and keeps the rest; If-Match is honoured', async (t) => {
    const h = await build(t, kind, ME);
    await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user('dave', { title: 'Analyst', displayName: 'Dave', emails: [{ value: 'dave@old.example.com', type: 'work' }] }) });
    const token = await as(h, 'dave');
    const body = user('dave', { title: 'Chief', displayName: 'David', preferredLanguage: 'fr', emails: [{ value: 'dave@new.example.com', type: 'work' }] });
    const stale = await me(h, token, 'PUT', body, { 'if-match': 'W/"7"' });
    t.equal(stale.statusCode, 412);
    const res = await me(h, token, 'PUT', body, { 'if-match': 'W/"1"' });
    t.equal(res.statusCode, 200);
    const out = res.json() as Json;
    t.equal(out.preferredLanguage, 'fr');
    t.same((out.emails as Json[]).map((e) => e.value), ['dave@new.example.com']);
    t.equal(out.title, 'Analyst', 'job info is kept: not the person’s to change');
    t.equal(out.displayName, 'Dave', 'identity is kept');
  });

  t.test('a source of authority binds /Me; SCIM_ME_SECTIONS can give job info; POST and DELETE are 405', async (t) => {
    const h = await build(t, kind, { ...ME, SCIM_AUTHORITIES: '{"ad-connect":["contact"]}', SCIM_ME_SECTIONS: 'photo,preferences,contact,jobInfo' });
    await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user('erin', { emails: [{ value: 'erin@example.com', type: 'work' }] }), scope: 'scim:read scim:write', client: 'ad-connect' });
    const token = await as(h, 'erin');
    const owned = await me(h, token, 'PATCH', patch({ op: 'add', path: 'phoneNumbers', value: [{ value: '+1 555 0142' }] }));
    t.equal(owned.statusCode, 403);
    t.match(owned.json(), { detail: /owned by its source of authority 'ad-connect'/ });
    const job = await me(h, token, 'PATCH', patch({ op: 'replace', path: 'title', value: 'Designer' }));
    t.equal(job.statusCode, 200, 'job info, as configured');
    for (const method of ['POST', 'DELETE'] as const) {
      const res = await me(h, token, method, method === 'POST' ? user('x') : undefined);
      t.equal(res.statusCode, 405, method);
      t.equal(res.headers.allow, 'GET, PUT, PATCH, HEAD');
    }
  });
});

t.test('configuration: half a mapping, an attribute that is not a string, an unknown self-service section stop the server', async (t) => {
  const { loadConfig } = await import('../../src/config');
  t.throws(() => loadConfig({ SCIM_ME_CLAIM: 'sub' }), /SCIM_ME_CLAIM and SCIM_ME_ATTRIBUTE go together/);
  await t.rejects(build(t, 'lmdb', { SCIM_ME_CLAIM: 'sub', SCIM_ME_ATTRIBUTE: 'active' }), /SCIM_ME_ATTRIBUTE: 'active' is not a string attribute/);
  await t.rejects(build(t, 'lmdb', { ...ME, SCIM_ME_SECTIONS: 'photo,wallpaper' }), /SCIM_ME_SECTIONS: no section is named "wallpaper"/);
});
