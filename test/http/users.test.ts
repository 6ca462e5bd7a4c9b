import t from 'tap';
import { build, eachStore, user, USER, ENTERPRISE, ERROR } from '../helper';

eachStore(t, async (t, kind) => {
  const h = await build(t, kind);

  t.test('POST creates: 201, Location, ETag, server id and meta; client id/meta ignored', async (t) => {
    const res = await h.req({
      method: 'POST',
      url: '/scim/v2/Users',
      payload: user('bjensen', { id: 'client-id', meta: { created: '2000-01-01T00:00:00Z' }, externalId: 'ext-1', name: { givenName: 'Barbara' } }),
    });
    t.equal(res.statusCode, 201);
    t.match(res.headers['content-type'], /^application\/scim\+json/);
    const body = h.json(res);
    t.match(body.id, /^[0-9a-f-]{36}$/);
    t.not(body.id, 'client-id');
    t.equal(res.headers.location, `http://localhost:80/scim/v2/Users/${body.id}`);
    t.equal(res.headers.etag, 'W/"1"');
    t.match(body.meta, { resourceType: 'User', version: 'W/"1"', location: res.headers.location });
    t.not((body.meta as { created: string }).created, '2000-01-01T00:00:00Z');
    t.same(body.schemas, [USER]);
    t.equal(body.externalId, 'ext-1');
  });

  t.test('GET by id, If-None-Match -> 304, unknown id -> 404 SCIM error', async (t) => {
    const created = h.json(await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user('get-me') }));
    const res = await h.req({ method: 'GET', url: `/scim/v2/Users/${created.id}` });
    t.equal(res.statusCode, 200);
    t.equal(res.headers.etag, 'W/"1"');
    t.equal(h.json(res).userName, 'get-me');
    const nm = await h.req({ method: 'GET', url: `/scim/v2/Users/${created.id}`, headers: { 'if-none-match': 'W/"1"' } });
    t.equal(nm.statusCode, 304);
    t.equal(nm.body, '');
    const changed = await h.req({ method: 'GET', url: `/scim/v2/Users/${created.id}`, headers: { 'if-none-match': 'W/"7"' } });
    t.equal(changed.statusCode, 200);
    const missing = await h.req({ method: 'GET', url: '/scim/v2/Users/00000000-0000-0000-0000-000000000000' });
    t.equal(missing.statusCode, 404);
    t.match(h.json(missing), { schemas: [ERROR], status: '404', detail: /not found/ });
  });

  t.test('userName is unique without regard to case: 409 uniqueness', async (t) => {
    t.equal((await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user('Unique.Person') })).statusCode, 201);
    const dup = await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user('unique.PERSON') });
    t.equal(dup.statusCode, 409);
    t.match(h.json(dup), { schemas: [ERROR], status: '409', scimType: 'uniqueness', detail: /userName/ });
  });

  t.test('concurrent creates of one userName: exactly one wins', async (t) => {
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => h.req({ method: 'POST', url: '/scim/v2/Users', payload: user(i % 2 ? 'RACE' : 'race') })),
    );
    t.equal(results.filter((r) => r.statusCode === 201).length, 1);
    t.equal(results.filter((r) => r.statusCode === 409).length, 9);
  });

  t.test('PUT replaces (RFC 7644 §3.5.1), keeps id/meta.created, bumps version; If-Match mismatch -> 412', async (t) => {
    const created = h.json(
      await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user('put-me', { title: 'Engineer', nickName: 'P', password: 'S3cret!' }) }),
    );
    const url = `/scim/v2/Users/${created.id}`;
    const res = await h.req({ method: 'PUT', url, payload: user('put-me', { title: 'Manager', id: 'ignored' }) });
    t.equal(res.statusCode, 200);
    const body = h.json(res);
    t.equal(body.id, created.id);
    t.equal(body.title, 'Manager');
    t.notOk('nickName' in body, 'omitted readWrite attribute is cleared');
    t.equal(res.headers.etag, 'W/"2"');
    t.equal((body.meta as { created: string }).created, (created.meta as { created: string }).created);
    const stale = await h.req({ method: 'PUT', url, headers: { 'if-match': 'W/"1"' }, payload: user('put-me') });
    t.equal(stale.statusCode, 412);
    t.match(h.json(stale), { schemas: [ERROR], status: '412' });
    const ok = await h.req({ method: 'PUT', url, headers: { 'if-match': 'W/"2"' }, payload: user('put-me', { title: 'Director' }) });
    t.equal(ok.statusCode, 200);
    t.equal(ok.headers.etag, 'W/"3"');
    const same = await h.req({ method: 'PUT', url, payload: user('put-me', { title: 'Director' }) });
    t.equal(same.headers.etag, 'W/"3"', 'a PUT that changes nothing keeps the version');
    const stored = await h.store.resources.get(h.app.users.schema, created.id as string);
    t.match(stored?.secrets?.password, /^scrypt\$/, 'password omitted from PUT is kept');
    const samePw = await h.req({ method: 'PUT', url, payload: user('put-me', { title: 'Director', password: 'S3cret!' }) });
    t.equal(samePw.headers.etag, 'W/"3"', 're-sending the stored password changes nothing');
    const newPw = await h.req({ method: 'PUT', url, payload: user('put-me', { title: 'Director', password: 'N3w!' }) });
    t.equal(newPw.headers.etag, 'W/"4"', 'a new password is a change');
  });

  t.test('PUT to a userName another user holds -> 409, nothing written', async (t) => {
    await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user('holder') });
    const other = h.json(await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user('other', { title: 'T' }) }));
    const res = await h.req({ method: 'PUT', url: `/scim/v2/Users/${other.id}`, payload: user('HOLDER', { title: 'X' }) });
    t.equal(res.statusCode, 409);
    t.equal(h.json(res).scimType, 'uniqueness');
    const after = h.json(await h.req({ method: 'GET', url: `/scim/v2/Users/${other.id}` }));
    t.equal(after.userName, 'other');
    t.equal(after.title, 'T');
  });

  t.test('DELETE -> 204, then 404; If-Match mismatch -> 412', async (t) => {
    const created = h.json(await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user('delete-me') }));
    const url = `/scim/v2/Users/${created.id}`;
    t.equal((await h.req({ method: 'DELETE', url, headers: { 'if-match': 'W/"9"' } })).statusCode, 412);
    const del = await h.req({ method: 'DELETE', url });
    t.equal(del.statusCode, 204);
    t.equal(del.body, '');
    t.equal((await h.req({ method: 'GET', url })).statusCode, 404);
    t.equal((await h.req({ method: 'DELETE', url })).statusCode, 404);
  });

  t.test('password: writeOnly, stored as a salted scrypt hash, never returned', async (t) => {
    const res = await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user('pw-user', { password: 'Tr0ub4dor&3' }) });
    const body = h.json(res);
    t.notOk('password' in body);
    const stored = await h.store.resources.get(h.app.users.schema, body.id as string);
    t.match(stored?.secrets?.password, /^scrypt\$16384\$8\$1\$/);
    t.notMatch(JSON.stringify(stored), /Tr0ub4dor/);
    const asked = h.json(await h.req({ method: 'GET', url: `/scim/v2/Users/${body.id}?attributes=password,userName` }));
    t.notOk('password' in asked, 'returned:never wins over attributes=');
    const filtered = await h.req({ method: 'GET', url: '/scim/v2/Users?filter=' + encodeURIComponent('password eq "Tr0ub4dor&3"') });
    t.equal(filtered.statusCode, 400, 'password is not searchable');
    t.equal(h.json(filtered).scimType, 'invalidFilter');
  });

  t.test('liberal input: names in any case, null as absent, "True"/"False", client meta, readOnly groups ignored', async (t) => {
    const res = await h.req({
      method: 'POST',
      url: '/scim/v2/Users',
      payload: {
        schemas: [USER, ENTERPRISE],
        UserName: 'Liberal.User',
        Active: 'True',
        title: null,
        DisplayName: 'Lib',
        NAME: { GivenName: 'Li', familyname: 'Beral' },
        emails: [{ Value: 'lib@example.com', Type: 'Work', Primary: 'true' }],
        groups: [],
        roles: [],
        meta: { resourceType: 'User' },
        [ENTERPRISE]: { Department: 'R&D', manager: null, employeeNumber: '42' },
      },
    });
    t.equal(res.statusCode, 201, res.body);
    const body = h.json(res);
    t.equal(body.userName, 'Liberal.User');
    t.equal(body.active, true);
    t.notOk('title' in body);
    t.same(body.name, { givenName: 'Li', familyName: 'Beral' });
    t.same(body.emails, [{ value: 'lib@example.com', type: 'work', primary: true }], 'canonical values are stored in canonical spelling');
    t.same(body[ENTERPRISE], { department: 'R&D', employeeNumber: '42' });
    t.same(body.schemas, [USER, ENTERPRISE]);
    const off = await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user('disabled.user', { active: 'False' }) });
    t.equal(h.json(off).active, false);
    const noSchemas = await h.req({ method: 'POST', url: '/scim/v2/Users', payload: { userName: 'no.schemas' } });
    t.equal(noSchemas.statusCode, 201, 'schemas may be omitted and is inferred');
  });

  const strict: { name: string; payload: unknown; scimType: string; detail: RegExp }[] = [
    { name: 'missing userName', payload: { schemas: [USER], displayName: 'x' }, scimType: 'invalidValue', detail: /required attribute missing: userName/ },
    { name: 'empty userName', payload: user(''), scimType: 'invalidValue', detail: /userName/ },
    { name: 'unknown attribute', payload: user('u1', { favouriteColour: 'blue' }), scimType: 'invalidSyntax', detail: /'favouriteColour'/ },
    { name: 'unknown sub-attribute', payload: user('u1', { name: { nick: 'x' } }), scimType: 'invalidSyntax', detail: /name.*'nick'/ },
    { name: 'unknown extension attribute', payload: { schemas: [USER, ENTERPRISE], userName: 'u1', [ENTERPRISE]: { shoeSize: 9 } }, scimType: 'invalidSyntax', detail: /shoeSize/ },
    { name: 'unknown schema URN', payload: { schemas: [USER, 'urn:example:nope'], userName: 'u1' }, scimType: 'invalidSyntax', detail: /urn:example:nope/ },
    { name: 'schemas without the core schema', payload: { schemas: [ENTERPRISE], userName: 'u1' }, scimType: 'invalidSyntax', detail: /must include/ },
    { name: 'string for boolean', payload: user('u1', { active: 'yes' }), scimType: 'invalidValue', detail: /'active' must be a boolean/ },
    { name: 'number for string', payload: user('u1', { title: 7 }), scimType: 'invalidValue', detail: /'title' must be a string/ },
    { name: 'object for string', payload: user('u1', { displayName: { a: 1 } }), scimType: 'invalidValue', detail: /'displayName'/ },
    { name: 'string for complex', payload: user('u1', { name: 'Barbara' }), scimType: 'invalidValue', detail: /'name' must be an object/ },
    { name: 'non-canonical email type', payload: user('u1', { emails: [{ value: 'a@b.c', type: 'pager' }] }), scimType: 'invalidValue', detail: /emails\[0\]\.type/ },
    { name: 'two primary emails', payload: user('u1', { emails: [{ value: 'a@b.c', primary: true }, { value: 'd@e.f', primary: true }] }), scimType: 'invalidValue', detail: /primary/ },
    { name: 'body is an array', payload: [user('u1')], scimType: 'invalidSyntax', detail: /JSON object/ },
    { name: 'body is a string', payload: JSON.stringify('hello'), scimType: 'invalidSyntax', detail: /JSON object/ },
  ];
  for (const c of strict) {
    t.test(`strict input: ${c.name} -> 400 ${c.scimType}`, async (t) => {
      const res = await h.req({ method: 'POST', url: '/scim/v2/Users', payload: c.payload as object });
      t.equal(res.statusCode, 400, res.body);
      t.match(h.json(res), { schemas: [ERROR], status: '400', scimType: c.scimType, detail: c.detail });
    });
  }

  t.test('malformed JSON -> 400 invalidSyntax', async (t) => {
    const res = await h.req({ method: 'POST', url: '/scim/v2/Users', payload: '{"userName": ', headers: { 'content-type': 'application/json' } });
    t.equal(res.statusCode, 400);
    t.match(h.json(res), { schemas: [ERROR], scimType: 'invalidSyntax' });
  });

  t.test('list: filter by userName in another case, externalId case-exact, paging, projection', async (t) => {
    const prefix = `list-${kind}`;
    for (let i = 0; i < 7; i++) {
      await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user(`${prefix}-${i}`, { externalId: `EXT-${prefix}-${i}`, title: 'T' }) });
    }
    const byName = h.json(await h.req({ method: 'GET', url: `/scim/v2/Users?filter=${encodeURIComponent(`userName eq "${prefix.toUpperCase()}-3"`)}` }));
    t.equal(byName.totalResults, 1);
    t.equal((byName.Resources as { userName: string }[])[0]?.userName, `${prefix}-3`);
    const byExt = h.json(await h.req({ method: 'GET', url: `/scim/v2/Users?filter=${encodeURIComponent(`externalId eq "EXT-${prefix}-4"`)}` }));
    t.equal(byExt.totalResults, 1);
    const byExtLower = h.json(await h.req({ method: 'GET', url: `/scim/v2/Users?filter=${encodeURIComponent(`externalId eq "ext-${prefix}-4"`)}` }));
    t.equal(byExtLower.totalResults, 0, 'externalId is caseExact');
    const none = await h.req({ method: 'GET', url: `/scim/v2/Users?filter=${encodeURIComponent('id eq "3f1b3c4e-0000-4000-8000-000000000000"')}` });
    t.equal(none.statusCode, 200, 'Entra test connection: no match is 200 with an empty list');
    t.match(h.json(none), { totalResults: 0, itemsPerPage: 0, startIndex: 1, Resources: [] });

    const all = h.json(await h.req({ method: 'GET', url: '/scim/v2/Users?count=0' }));
    t.type(all.totalResults, 'number');
    t.same(all.Resources, []);
    const total = all.totalResults as number;
    const seen: string[] = [];
    for (let start = 1; start <= total; start += 3) {
      const page = h.json(await h.req({ method: 'GET', url: `/scim/v2/Users?startIndex=${start}&count=3` }));
      t.equal(page.startIndex, start);
      t.equal(page.totalResults, total);
      t.equal(page.itemsPerPage, (page.Resources as unknown[]).length);
      for (const r of page.Resources as { id: string }[]) seen.push(r.id);
    }
    t.equal(seen.length, total, 'pages cover every user');
    t.equal(new Set(seen).size, total, 'no user twice');

    const projected = h.json(await h.req({ method: 'GET', url: `/scim/v2/Users?count=2&attributes=userName` }));
    for (const r of projected.Resources as Record<string, unknown>[]) {
      t.same(Object.keys(r).sort(), ['id', 'schemas', 'userName']);
    }
    const excluded = h.json(await h.req({ method: 'GET', url: `/scim/v2/Users?count=2&excludedAttributes=title,meta,id` }));
    for (const r of excluded.Resources as Record<string, unknown>[]) {
      t.notOk('title' in r);
      t.notOk('meta' in r);
      t.ok('id' in r, 'id is returned:always');
    }
    const neg = h.json(await h.req({ method: 'GET', url: '/scim/v2/Users?startIndex=-5&count=-1' }));
    t.match(neg, { startIndex: 1, itemsPerPage: 0 }, 'startIndex < 1 means 1, negative count means 0');
    const bad = await h.req({ method: 'GET', url: '/scim/v2/Users?count=lots' });
    t.equal(bad.statusCode, 400);
    t.equal(h.json(bad).scimType, 'invalidValue');
  });

  t.test('malformed filter -> 400 invalidFilter', async (t) => {
    const res = await h.req({ method: 'GET', url: `/scim/v2/Users?filter=${encodeURIComponent('userName eq')}` });
    t.equal(res.statusCode, 400);
    t.match(h.json(res), { schemas: [ERROR], scimType: 'invalidFilter' });
  });

  t.test('GET with attributes/excludedAttributes on one resource', async (t) => {
    const created = h.json(
      await h.req({ method: 'POST', url: '/scim/v2/Users', payload: { schemas: [USER, ENTERPRISE], userName: 'proj', title: 'T', name: { givenName: 'G', familyName: 'F' }, [ENTERPRISE]: { department: 'D' } } }),
    );
    const url = `/scim/v2/Users/${created.id}`;
    const a = h.json(await h.req({ method: 'GET', url: `${url}?attributes=name.givenName,${ENTERPRISE}:department` }));
    t.same(a, { schemas: [USER, ENTERPRISE], id: created.id, name: { givenName: 'G' }, [ENTERPRISE]: { department: 'D' } });
    const e = h.json(await h.req({ method: 'GET', url: `${url}?excludedAttributes=${ENTERPRISE},name.familyName` }));
    t.notOk(ENTERPRISE in e);
    t.same(e.name, { givenName: 'G' });
    t.equal(e.title, 'T');
  });
});
