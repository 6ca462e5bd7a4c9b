import t from 'tap';
import { build, ERROR } from '../helper';

t.test('every error is a SCIM Error with the right status', async (t) => {
  const h = await build(t);
  const cases: { name: string; method: string; url: string; payload?: string; headers?: Record<string, string>; status: number; scimType?: string; allow?: string }[] = [
    { name: 'unknown route', method: 'GET', url: '/scim/v2/Widgets', status: 404 },
    { name: 'unknown route outside /scim', method: 'GET', url: '/nope', status: 404 },
    { name: 'wrong method on collection', method: 'DELETE', url: '/scim/v2/Users', status: 405, allow: 'GET, POST, HEAD' },
    { name: 'wrong method on resource', method: 'POST', url: '/scim/v2/Users/abc', status: 405, allow: 'GET, PUT, PATCH, DELETE, HEAD' },
    { name: 'malformed JSON', method: 'POST', url: '/scim/v2/Users', payload: '{', status: 400, scimType: 'invalidSyntax' },
    { name: 'empty JSON body', method: 'POST', url: '/scim/v2/Users', payload: '', status: 400, scimType: 'invalidSyntax' },
    { name: 'JSON null body', method: 'POST', url: '/scim/v2/Users', payload: 'null', status: 400, scimType: 'invalidSyntax' },
    { name: 'prototype pollution', method: 'POST', url: '/scim/v2/Users', payload: '{"userName":"p","__proto__":{"x":1}}', status: 400, scimType: 'invalidSyntax' },
    { name: 'unsupported media type', method: 'POST', url: '/scim/v2/Users', payload: 'userName=x', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415 },
    { name: 'body too large', method: 'POST', url: '/scim/v2/Users', payload: JSON.stringify({ userName: 'x'.repeat(1024 * 1024 + 10) }), status: 413 },
  ];
  for (const c of cases) {
    const res = await h.req({ method: c.method as 'GET', url: c.url, payload: c.payload, headers: c.headers });
    t.equal(res.statusCode, c.status, `${c.name}: ${res.body.slice(0, 200)}`);
    t.match(res.json(), { schemas: [ERROR], status: String(c.status), detail: /\w/ }, c.name);
    if (c.scimType) t.equal(res.json().scimType, c.scimType, c.name);
    if (c.allow) t.equal(res.headers.allow, c.allow, c.name);
    t.match(res.headers['content-type'], /application\/scim\+json/, c.name);
  }
});

t.test('application/json requests are accepted; responses are application/scim+json', async (t) => {
  const h = await build(t);
  const res = await h.req({ method: 'POST', url: '/scim/v2/Users', payload: JSON.stringify({ userName: 'json.user' }), headers: { 'content-type': 'application/json; charset=utf-8' } });
  t.equal(res.statusCode, 201);
  t.match(res.headers['content-type'], /^application\/scim\+json/);
});

t.test('no body shape produces a 500', async (t) => {
  const h = await build(t);
  const bodies: unknown[] = [
    0, true, 'x', [], [1], {}, { userName: null }, { userName: [] }, { userName: ['a'] }, { userName: { a: 1 } },
    { userName: 'ok', emails: 'x' }, { userName: 'ok2', emails: [1, 2] }, { userName: 'ok3', emails: [[{}]] },
    { userName: 'ok4', name: [] }, { userName: 'ok5', name: [{ givenName: 'a' }, { givenName: 'b' }] },
    { userName: 'ok6', schemas: 'x' }, { userName: 'ok7', schemas: [1] }, { userName: 'ok8', meta: 'x' },
    { userName: 'ok9', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': 'x' },
    { userName: 'ok10', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { manager: 5 } },
    { userName: 'ok11', x509Certificates: [{ value: '%%%' }] }, { userName: 'ok12', active: null, password: 5 },
    { userName: 'ok13', 'name.givenName': 'dotted' }, { userName: 'ok14', constructor: { prototype: {} } },
  ];
  for (const b of bodies) {
    const res = await h.req({ method: 'POST', url: '/scim/v2/Users', payload: JSON.stringify(b) });
    t.ok(res.statusCode < 500, `${JSON.stringify(b).slice(0, 80)} -> ${res.statusCode} ${res.body.slice(0, 120)}`);
  }
});
