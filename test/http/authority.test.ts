/**
 * Who may change which part of a profile, on both stores, as the clients of a directory send requests:
 * an HR feed (`scim:write:jobInfo`, client hr-feed, the source of authority for job info), an identity provider
 * (identity, preferences, contact, settings, account), an on-premises directory (client ad-connect, authoritative for identity
 * and contact), a provisioning client with `scim:write`, a user administrator and a global administrator.
 * - the matrix: caller × section × POST/PUT/PATCH; every refused write is 403 with nothing written and no audit
 *   entry, every accepted one is audited;
 * - sources of authority: claimed by the authoritative client's writes, read-only to everyone else, kept by other
 *   clients' PUTs, released by an administrator;
 * - authentication contact info: read and filtered only by administrators;
 * - the audit trail: GET /AuditEvents for administrators, by resource and time, paged.
 */
import t from 'tap';
import { build, eachStore, ENTERPRISE, ERROR, user, type Caller } from '../helper';

const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const PROFILE = 'urn:scim-server:schemas:extension:profile:1.0:User';
type Json = Record<string, unknown>;

interface Who extends Caller {
  name: string;
  scope: string;
  /** The sections it may write. */
  writes: string[];
}

const ALL = ['photo', 'identity', 'jobInfo', 'settings', 'preferences', 'contact', 'authContact', 'account'];
const WHO: Who[] = [
  { name: 'globalAdmin', scope: 'scim:read', roles: ['globalAdmin'], writes: ALL },
  { name: 'userAdmin', scope: 'scim:read', roles: ['userAdmin'], writes: ALL.filter((s) => s !== 'authContact') },
  { name: 'provisioning client (scim:write)', scope: 'scim:read scim:write', writes: ALL.filter((s) => s !== 'authContact') },
  { name: 'HR feed', scope: 'scim:read scim:write:jobInfo', client: 'hr-app', writes: ['jobInfo'] },
  {
    name: 'identity provider',
    scope: 'scim:read scim:write:identity scim:write:preferences scim:write:contact scim:write:settings scim:write:account',
    client: 'idp',
    writes: ['identity', 'preferences', 'contact', 'settings', 'account'],
  },
  // A section scope does not reach authentication contact info without the role.
  { name: 'client with scim:write:authContact', scope: 'scim:read scim:write:authContact scim:write:identity', writes: ['identity'] },
];

/** For each section: an attribute of it, as a PATCH path, its value, and how to read it back. */
const SECTION_VALUES: Record<string, { path: string; value: unknown; read: (u: Json) => unknown }> = {
  photo: { path: 'photos', value: [{ value: 'https://photos.example.com/a.jpg', type: 'photo' }], read: (u) => u.photos },
  identity: { path: 'displayName', value: 'New Name', read: (u) => u.displayName },
  jobInfo: { path: 'title', value: 'Staff Engineer', read: (u) => u.title },
  settings: { path: `${PROFILE}:usageLocation`, value: 'DE', read: (u) => (u[PROFILE] as Json | undefined)?.usageLocation },
  preferences: { path: 'preferredLanguage', value: 'de-CH', read: (u) => u.preferredLanguage },
  contact: { path: 'phoneNumbers', value: [{ value: '+1 555 0100', type: 'work' }], read: (u) => u.phoneNumbers },
  authContact: {
    path: `${PROFILE}:authentication`,
    value: { phoneNumber: '+1 555 0199' },
    read: (u) => (u[PROFILE] as Json | undefined)?.authentication,
  },
  account: { path: 'externalId', value: 'ext-42', read: (u) => u.externalId },
};

/** A PUT/POST body carrying `value` at `path` (a top-level or extension attribute). */
function withValue(body: Json, path: string, value: unknown): Json {
  const out = structuredClone(body);
  if (path.startsWith(`${PROFILE}:`)) out[PROFILE] = { ...((out[PROFILE] as Json) ?? {}), [path.slice(PROFILE.length + 1)]: value };
  else out[path] = value;
  return out;
}

eachStore(t, async (t, kind) => {
  const h = await build(t, kind, { SCIM_AUTHORITIES: JSON.stringify({ 'hr-feed': ['jobInfo'], 'ad-connect': ['identity', 'contact'] }) });
  const admin: Caller = { roles: ['globalAdmin'] };
  /** Reads a user as a global administrator: its default representation and its authentication contact info. */
  const read = async (id: string) => {
    const whole = h.json(await h.req({ method: 'GET', url: `/scim/v2/Users/${id}`, scope: 'scim:read', ...admin }));
    const auth = h.json(await h.req({ method: 'GET', url: `/scim/v2/Users/${id}?attributes=${encodeURIComponent(`${PROFILE}:authentication`)}`, scope: 'scim:read', ...admin }));
    const extra = (auth[PROFILE] as Json | undefined)?.authentication;
    if (extra !== undefined) whole[PROFILE] = { ...((whole[PROFILE] as Json) ?? {}), authentication: extra };
    return whole;
  };
  const readDefault = async (id: string) => h.json(await h.req({ method: 'GET', url: `/scim/v2/Users/${id}` }));
  const audit = async (query: string, as: Caller = admin) => h.req({ method: 'GET', url: `/scim/v2/AuditEvents?${query}`, scope: 'scim:read', ...as });
  const entriesOf = async (id: string) => (h.json(await audit(`resourceId=${id}&count=1000`)).Resources as Json[]);
  const create = async (userName: string, extra: Json = {}) => {
    const res = await h.req({ method: 'POST', url: '/scim/v2/Users', scope: 'scim:read', ...admin, payload: user(userName, extra) });
    t.equal(res.statusCode, 201, res.body);
    return h.json(res).id as string;
  };
  const patch = (id: string, who: Who | (Caller & { scope: string }), Operations: unknown[]) =>
    h.req({ method: 'PATCH', url: `/scim/v2/Users/${id}`, scope: who.scope, roles: who.roles, client: who.client, payload: { schemas: [PATCH_OP], Operations } });

  t.test('matrix: every caller x every section x PATCH, PUT and POST; refusals write nothing and are not audited', async (t) => {
    let n = 0;
    for (const who of WHO) {
      for (const section of ALL) {
        const { path, value, read: readBack } = SECTION_VALUES[section]!;
        const may = who.writes.includes(section);
        const label = `${who.name} / ${section}`;

        // PATCH
        const id = await create(`m-${n++}`);
        const before = await read(id);
        const audited = (await entriesOf(id)).length;
        const res = await patch(id, who, [{ op: 'replace', path, value }]);
        const after = await read(id);
        if (may) {
          t.equal(res.statusCode, 200, `${label}: PATCH allowed ${res.body}`);
          t.same(readBack(after), value, `${label}: PATCH changed it`);
          const entries = await entriesOf(id);
          t.equal(entries.length, audited + 1, `${label}: PATCH audited`);
          t.match(entries[entries.length - 1], { operation: 'patch', versionBefore: 1, versionAfter: 2 });
        } else {
          t.equal(res.statusCode, 403, `${label}: PATCH refused ${res.body}`);
          t.match(h.json(res), { schemas: [ERROR], status: '403', detail: new RegExp(`is in section ${section}, .*nothing was changed`) });
          t.same(after, before, `${label}: PATCH wrote nothing`);
          t.equal((await entriesOf(id)).length, audited, `${label}: a refused PATCH is not audited`);
        }

        // PUT: the body asserts the value; a section the caller may not write is left as it is (no 403).
        const putId = await create(`m-${n++}`);
        const put = await h.req({
          method: 'PUT',
          url: `/scim/v2/Users/${putId}`,
          scope: who.scope,
          roles: who.roles,
          client: who.client,
          payload: withValue(user(`m-${n - 1}`), path, value),
        });
        const afterPut = await read(putId);
        if (who.writes.length === 0) t.equal(put.statusCode, 403);
        else {
          t.equal(put.statusCode, 200, `${label}: PUT ${put.body}`);
          if (may) t.same(readBack(afterPut), value, `${label}: PUT changed it`);
          else t.equal(readBack(afterPut), undefined, `${label}: PUT left the section as it was`);
          t.equal((await entriesOf(putId)).length, may ? 2 : 1, `${label}: PUT audited only when it changed something`);
        }

        // POST: needs identity (userName) and the section.
        const userName = `p-${n++}`;
        const post = await h.req({ method: 'POST', url: '/scim/v2/Users', scope: who.scope, roles: who.roles, client: who.client, payload: withValue(user(userName), path, value) });
        const postMay = may && who.writes.includes('identity');
        t.equal(post.statusCode, postMay ? 201 : 403, `${label}: POST ${post.body}`);
        const found = h.json(await h.req({ method: 'GET', url: `/scim/v2/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}` }));
        t.equal(found.totalResults, postMay ? 1 : 0, `${label}: POST created only when allowed`);
        if (postMay) t.match((await entriesOf(h.json(post).id as string))[0], { operation: 'create', versionAfter: 1 });
      }
    }
  });

  t.test('sources of authority: claimed by its writes, read-only to others, kept by a PUT, released by an administrator', async (t) => {
    const hr: Who = { name: 'hr-feed', scope: 'scim:read scim:write:jobInfo', client: 'hr-feed', writes: ['jobInfo'] };
    const idp: Who = { name: 'idp', scope: 'scim:read scim:write', client: 'okta', writes: [] };
    const userAdmin: Who = { name: 'userAdmin', scope: 'scim:read', roles: ['userAdmin'], writes: [] };
    const created = await h.req({ method: 'POST', url: '/scim/v2/Users', scope: idp.scope, client: 'okta', payload: user('owned', { displayName: 'Owned' }) });
    t.equal(created.statusCode, 201);
    const id = h.json(created).id as string;
    t.notOk(h.json(created)[PROFILE], 'a client that is no source of authority claims nothing');

    const hrPatch = await patch(id, hr, [{ op: 'replace', value: { title: 'Engineer', [`${ENTERPRISE}:department`]: 'R&D' } }]);
    t.equal(hrPatch.statusCode, 200, hrPatch.body);
    const sources = (h.json(hrPatch)[PROFILE] as Json).sources as Json[];
    t.match(sources, [{ section: 'jobInfo', source: 'hr-feed', since: /^\d{4}-/ }]);

    // Everyone else, administrators included, is refused, naming the owner; nothing is written.
    for (const who of [idp, userAdmin, { ...userAdmin, roles: ['globalAdmin'] }]) {
      const res = await patch(id, who, [{ op: 'replace', path: `${ENTERPRISE}:department`, value: 'Sales' }]);
      t.equal(res.statusCode, 403, res.body);
      t.match(h.json(res).detail, /'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department' is in section jobInfo, which is owned by its source of authority 'hr-feed' \(since .*\): only that source may change it until an administrator releases it; nothing was changed/);
    }
    t.same((await readDefault(id))[ENTERPRISE], { department: 'R&D' });
    t.equal(((await readDefault(id)).meta as Json).version, 'W/"2"');

    // The IdP's full PUT (it knows no job info) leaves the owned section as HR set it, and replaces the rest.
    const put = await h.req({ method: 'PUT', url: `/scim/v2/Users/${id}`, scope: idp.scope, client: 'okta', payload: user('owned', { displayName: 'From IdP', title: 'Made up' }) });
    t.equal(put.statusCode, 200, put.body);
    let now = await readDefault(id);
    t.equal(now.displayName, 'From IdP');
    t.equal(now.title, 'Engineer');
    t.same(now[ENTERPRISE], { department: 'R&D' });
    t.match((now[PROFILE] as Json).sources, [{ section: 'jobInfo', source: 'hr-feed' }], 'ownership survives the PUT');

    // sources is readOnly: no client writes it.
    const forge = await patch(id, idp, [{ op: 'replace', path: `${PROFILE}:sources`, value: [] }]);
    t.equal(forge.statusCode, 400);
    t.match(h.json(forge), { scimType: 'mutability' });

    // Releasing: not by a client, not a section nobody owns, not an unknown section; then by a user administrator.
    const release = (section: string, who: Caller & { scope: string }) =>
      h.req({ method: 'DELETE', url: `/scim/v2/Users/${id}/sources/${section}`, scope: who.scope, roles: who.roles, client: who.client });
    t.equal((await release('jobInfo', idp)).statusCode, 403);
    t.equal((await release('contact', userAdmin)).statusCode, 404);
    t.equal((await release('nosuch', userAdmin)).statusCode, 404);
    const freed = await release('jobInfo', userAdmin);
    t.equal(freed.statusCode, 200, freed.body);
    t.notOk(h.json(freed)[PROFILE], 'no sources left');
    t.match((await entriesOf(id)).at(-1), { operation: 'release', actor: { roles: ['userAdmin'] }, changes: [{ attribute: `${PROFILE}:sources` }] });
    t.equal((await patch(id, userAdmin, [{ op: 'replace', path: 'title', value: 'Fixed by admin' }])).statusCode, 200, 'released: an administrator may change it');
    // The source's next write claims it again.
    const again = await patch(id, hr, [{ op: 'replace', path: 'title', value: 'Principal' }]);
    t.match((h.json(again)[PROFILE] as Json).sources, [{ section: 'jobInfo', source: 'hr-feed' }]);
    now = await readDefault(id);
    t.equal(now.title, 'Principal');

    // An on-premises directory that creates a user owns its sections from the start.
    const ad = await h.req({ method: 'POST', url: '/scim/v2/Users', scope: 'scim:read scim:write', client: 'ad-connect', payload: user('from-ad', { emails: [{ value: 'ad@x.test' }] }) });
    t.equal(ad.statusCode, 201);
    t.match((h.json(ad)[PROFILE] as Json).sources, [
      { section: 'contact', source: 'ad-connect' },
      { section: 'identity', source: 'ad-connect' },
    ]);
    const rename = await patch(h.json(ad).id as string, idp, [{ op: 'replace', path: 'userName', value: 'renamed' }]);
    t.equal(rename.statusCode, 403);
    t.match(h.json(rename).detail, /'userName' is in section identity, which is owned by its source of authority 'ad-connect'/);
  });

  t.test('authentication contact info: only a global administrator changes it, only administrators read or filter by it', async (t) => {
    const auth = { phoneNumber: '+1 555 0123', email: 'recovery@home.example' };
    const created = await h.req({ method: 'POST', url: '/scim/v2/Users', scope: 'scim:read', roles: ['globalAdmin'], payload: user('auth-contact', { [PROFILE]: { authentication: auth, usageLocation: 'US' } }) });
    t.same((h.json(created)[PROFILE] as Json).authentication, auth, 'the POST answer carries it');
    const id = h.json(created).id as string;
    const url = `/scim/v2/Users/${id}?attributes=${encodeURIComponent(`${PROFILE}:authentication`)}`;
    const asAdmin = h.json(await h.req({ method: 'GET', url, scope: 'scim:read', roles: ['userAdmin'] }));
    t.same((asAdmin[PROFILE] as Json).authentication, auth, 'a user administrator reads it when asking for it');
    t.notOk(((await readDefault(id))[PROFILE] as Json).authentication, 'returned only when asked for (returned: request)');
    t.same((await readDefault(id))[PROFILE], { usageLocation: 'US' });
    const asClient = h.json(await h.req({ method: 'GET', url, scope: 'scim:read scim:write' }));
    t.notOk(asClient[PROFILE], 'a client that asks gets nothing');
    const listed = h.json(await h.req({ method: 'GET', url: `/scim/v2/Users?filter=${encodeURIComponent('userName eq "auth-contact"')}&attributes=${encodeURIComponent(PROFILE)}` }));
    t.same((listed.Resources as Json[])[0]![PROFILE], { usageLocation: 'US' }, 'nor through a list');
    const probe = `/scim/v2/Users?filter=${encodeURIComponent(`${PROFILE}:authentication.phoneNumber eq "+1 555 0123"`)}`;
    const refused = await h.req({ method: 'GET', url: probe });
    t.equal(refused.statusCode, 403, 'filtering by it would tell its values');
    t.match(h.json(refused).detail, /may not read, so it may not filter by it either/);
    t.equal((await h.req({ method: 'GET', url: `/scim/v2/Users?sortBy=${encodeURIComponent(`${PROFILE}:authentication.email`)}` })).statusCode, 403);
    const found = h.json(await h.req({ method: 'GET', url: probe, scope: 'scim:read', roles: ['globalAdmin'] }));
    t.equal(found.totalResults, 1, 'an administrator may');
    // PATCH by a user administrator: refused; by a global administrator: changed, and the audit masks the values.
    const ua = await patch(id, { scope: 'scim:read', roles: ['userAdmin'] }, [{ op: 'replace', path: `${PROFILE}:authentication.phoneNumber`, value: '+1 555 0000' }]);
    t.equal(ua.statusCode, 403);
    t.match(h.json(ua).detail, /is in section authContact, which only a caller with the role globalAdmin may change/);
    const ga = await patch(id, { scope: 'scim:read', roles: ['globalAdmin'] }, [{ op: 'replace', path: `${PROFILE}:authentication.phoneNumber`, value: '+1 555 0000' }]);
    t.equal(ga.statusCode, 200, ga.body);
    // RFC 7643 §2.4: a returned "request" attribute is in the answer to the write that specified it.
    t.same((h.json(ga)[PROFILE] as Json).authentication, { ...auth, phoneNumber: '+1 555 0000' }, 'the PATCH answer carries what it wrote');
    const other = await patch(id, { scope: 'scim:read', roles: ['globalAdmin'] }, [{ op: 'replace', path: 'nickName', value: 'Nick' }]);
    t.notOk((h.json(other)[PROFILE] as Json).authentication, 'an answer to a write that did not specify it does not');
    const whole = await patch(id, { scope: 'scim:read', roles: ['globalAdmin'] }, [{ op: 'replace', path: PROFILE, value: { usageLocation: 'US', authentication: auth } }]);
    t.same((h.json(whole)[PROFILE] as Json).authentication, auth, 'nor when the path names the whole extension');
    t.equal((await patch(id, { scope: 'scim:read', roles: ['globalAdmin'] }, [{ op: 'replace', path: `${PROFILE}:authentication.phoneNumber`, value: '+1 555 0000' }])).statusCode, 200);
    const entries = await entriesOf(id);
    t.same(entries[0]!.changes, [
      { attribute: 'userName', after: 'auth-contact' },
      { attribute: `${PROFILE}:usageLocation`, after: 'US' },
      { attribute: `${PROFILE}:authentication`, masked: true },
    ]);
    t.same(entries[1]!.changes, [{ attribute: `${PROFILE}:authentication`, masked: true }]);
    t.notMatch(JSON.stringify(entries), /555 0123|recovery@home/, 'no value of it anywhere in the trail');
    // A PUT from a client leaves it as it is.
    t.equal((await h.req({ method: 'PUT', url: `/scim/v2/Users/${id}`, payload: user('auth-contact') })).statusCode, 200);
    t.same(((await read(id))[PROFILE] as Json).authentication, { ...auth, phoneNumber: '+1 555 0000' });
  });

  t.test('audit trail: who, when, versions and values; for administrators; by resource and time; paged', async (t) => {
    const hr: Who = { name: 'hr', scope: 'scim:read scim:write:jobInfo', client: 'hr-feed', writes: [] };
    const start = new Date().toISOString();
    const id = await create('audited', { password: 'Secret-1234', [ENTERPRISE]: { department: 'R&D' } });
    t.equal((await patch(id, hr, [{ op: 'replace', path: `${ENTERPRISE}:department`, value: 'Sales' }])).statusCode, 200);
    t.equal((await patch(id, hr, [{ op: 'replace', path: `${ENTERPRISE}:department`, value: 'Sales' }])).statusCode, 200, 'a no-op');
    t.equal((await h.req({ method: 'PATCH', url: `/scim/v2/Users/${id}`, scope: 'scim:read', roles: ['globalAdmin'], payload: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'password', value: 'Other-5678' }] } })).statusCode, 200);
    const group = h.json(await h.req({ method: 'POST', url: '/scim/v2/Groups', payload: { displayName: 'Audited', members: [{ value: id }] } })).id as string;
    t.equal((await h.req({ method: 'DELETE', url: `/scim/v2/Users/${id}`, scope: 'scim:read', roles: ['userAdmin'] })).statusCode, 204);

    const entries = await entriesOf(id);
    t.same(entries.map((e) => e.operation), ['create', 'patch', 'patch', 'delete'], 'a no-op PATCH makes no version and no entry');
    t.match(entries[0], {
      schemas: ['urn:scim-server:api:messages:1.0:AuditEvent'],
      actor: { subject: 'scim-client', roles: ['globalAdmin'] },
      resourceType: 'User',
      resourceId: id,
      versionAfter: 1,
    });
    t.ok(entries[0]!.changes instanceof Array && (entries[0]!.changes as Json[]).some((c) => c.attribute === 'password' && c.masked === true));
    t.same(entries[1], {
      ...entries[1],
      actor: { subject: 'scim-client', clientId: 'hr-feed' },
      versionBefore: 1,
      versionAfter: 2,
      changes: [
        { attribute: `${ENTERPRISE}:department`, before: 'R&D', after: 'Sales' },
        { attribute: `${PROFILE}:sources`, after: [{ section: 'jobInfo', source: 'hr-feed', since: entries[1]!.at }] },
      ],
    });
    t.same(entries[2]!.changes, [{ attribute: 'password', masked: true }], 'a password change, never its value');
    t.match(entries[3], { operation: 'delete', versionBefore: 3, actor: { roles: ['userAdmin'] } });
    t.notOk('versionAfter' in entries[3]!);
    t.notMatch(JSON.stringify(entries), /Secret-1234|Other-5678/);
    const groupEntries = await entriesOf(group);
    t.match(groupEntries, [{ operation: 'create', changes: [{ attribute: 'displayName', after: 'Audited' }, { attribute: 'members', replaced: 1 }] }]);
    t.match((await entriesOf(group)).length, 1, "a member's deletion is not a write of the group (its version stays)");

    // Time and paging.
    const since = h.json(await audit(`since=${encodeURIComponent(start)}&count=2`));
    t.equal(since.itemsPerPage, 2);
    t.ok(typeof since.nextCursor === 'string');
    const rest = h.json(await audit(`since=${encodeURIComponent(start)}&count=1000&cursor=${since.nextCursor as string}`));
    const ids = [...(since.Resources as Json[]), ...(rest.Resources as Json[])].map((e) => e.id);
    t.equal(new Set(ids).size, ids.length, 'no entry twice across pages');
    t.ok(ids.length >= 5);
    t.notOk(rest.nextCursor);
    const newest = h.json(await audit(`resourceId=${id}&sortOrder=descending&count=1`));
    t.match(newest.Resources, [{ operation: 'delete' }]);
    const none = h.json(await audit(`resourceId=${id}&until=${encodeURIComponent(start)}`));
    t.same(none.Resources, [], 'until excludes what came after');

    // Who may read it, and bad parameters.
    const client = await audit('', {});
    t.equal(client.statusCode, 403, 'a client without an administrator role may not read it');
    t.equal((await h.req({ method: 'GET', url: '/scim/v2/AuditEvents', scope: 'scim:read scim:write' })).statusCode, 403);
    for (const bad of ['since=yesterday', 'count=0', 'sortOrder=up', 'cursor=nope', 'resource=x']) {
      const res = await audit(bad);
      t.equal(res.statusCode, 400, bad);
      t.match(h.json(res), { schemas: [ERROR], status: '400' });
    }
    t.equal((await h.req({ method: 'POST', url: '/scim/v2/AuditEvents', scope: 'scim:read', roles: ['globalAdmin'], payload: {} })).statusCode, 405);
  });
});
