/** Okta's provisioning flow, as ../shared/CLIENTS.md describes it, over HTTP on every store. */
import t from 'tap';
import { build, eachStore, USER, ERROR } from '../helper';

eachStore(t, async (t, kind) => {
  const h = await build(t, kind);
  const q = (filter: string, extra = '') => `/scim/v2/Users?filter=${encodeURIComponent(filter)}&startIndex=1&count=100${extra}`;

  t.test('existence check, create, duplicate, fetch, full PUT, deactivate, reactivate', async (t) => {
    const exists = await h.req({ method: 'GET', url: q('userName eq "isaac.brock@example.com"') });
    t.equal(exists.statusCode, 200);
    t.match(exists.json(), { totalResults: 0, itemsPerPage: 0, startIndex: 1, Resources: [] });

    const body = {
      schemas: [USER],
      userName: 'isaac.brock@example.com',
      name: { givenName: 'Isaac', familyName: 'Brock' },
      emails: [{ primary: true, value: 'isaac.brock@example.com', type: 'work' }],
      displayName: 'Isaac Brock',
      locale: 'en-US',
      externalId: '00ujl29u0le5T6Aj10h7',
      groups: [],
      password: '1mz050nq',
      active: true,
    };
    const created = await h.req({ method: 'POST', url: '/scim/v2/Users', payload: body });
    t.equal(created.statusCode, 201);
    const user = created.json();
    t.match(user, { userName: 'isaac.brock@example.com', active: true, externalId: '00ujl29u0le5T6Aj10h7', name: { givenName: 'Isaac' } });
    t.notOk('password' in user);

    const dup = await h.req({ method: 'POST', url: '/scim/v2/Users', payload: { ...body, userName: 'Isaac.Brock@Example.com' } });
    t.equal(dup.statusCode, 409);
    t.match(dup.json(), { schemas: [ERROR], scimType: 'uniqueness' });

    const found = await h.req({ method: 'GET', url: q('userName eq "ISAAC.BROCK@example.com"') });
    t.equal(found.json().totalResults, 1, 'found by userName in another letter case');
    const fetched = await h.req({ method: 'GET', url: `/scim/v2/Users/${user.id}` });
    t.same(fetched.json(), user);

    // Custom apps: GET, then a full PUT of what they got back with changes.
    const put = await h.req({ method: 'PUT', url: `/scim/v2/Users/${user.id}`, payload: { ...(fetched.json() as Record<string, unknown>), name: { givenName: 'Isaac', familyName: 'Brock-Smith' } } });
    t.equal(put.statusCode, 200);
    t.equal(put.json().name.familyName, 'Brock-Smith');
    t.equal(put.json().id, user.id, 'id never changes');
    const stored = await h.store.resources.get(h.app.users.schema, user.id);
    t.match(stored?.secrets?.password, /^scrypt\$/, 'the PUT without password kept it');

    const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
    const off = await h.req({ method: 'PATCH', url: `/scim/v2/Users/${user.id}`, payload: { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { active: false } }] } });
    t.equal(off.statusCode, 200);
    t.equal(off.json().active, false);
    const on = await h.req({ method: 'PATCH', url: `/scim/v2/Users/${user.id}`, payload: { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { active: true } }] } });
    t.equal(on.json().active, true);
  });

  t.test('paged import with count=100: integers, stable order, every user once', async (t) => {
    for (let i = 0; i < 230; i++) await h.req({ method: 'POST', url: '/scim/v2/Users', payload: { schemas: [USER], userName: `import-${String(i).padStart(3, '0')}` } });
    const seen: string[] = [];
    let start = 1;
    let total = Infinity;
    while (start <= total) {
      const page = (await h.req({ method: 'GET', url: `/scim/v2/Users?startIndex=${start}&count=100` })).json();
      for (const k of ['totalResults', 'itemsPerPage', 'startIndex']) t.ok(Number.isInteger(page[k]), `${k} is an integer`);
      total = page.totalResults;
      seen.push(...page.Resources.map((r: { id: string }) => r.id));
      start += 100;
    }
    t.equal(seen.length, total);
    t.equal(new Set(seen).size, total);
  });

  t.test('a bad token gets 401 with a SCIM error body', async (t) => {
    const res = await h.app.inject({ method: 'GET', url: '/scim/v2/Users', headers: { authorization: 'Bearer not-a-valid-token' } });
    t.equal(res.statusCode, 401);
    t.match(res.json(), { schemas: [ERROR], status: '401' });
  });
});
