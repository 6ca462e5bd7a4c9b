import t from 'tap';
import { build, ERROR } from '../helper';

t.test('every error is a SCIM Error with the right status', async (t) => {
  const h = await build(t);
  const cases: { name: string; method: string; url: string; payload?: string; headers?: Record<string, string>; status: number; scimType?: string; allow?: string }[] = [
    { name: 'unknown route', method: 'GET', url: '/scim/v2/Widgets', status: 404 },
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

t.test('each body shape gets its exact answer, never a 500', async (t) => {
  const h = await build(t);
  const EXT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
  const notAnObject = { status: 400, scimType: 'invalidSyntax', detail: 'request body must be a JSON object' };
  const cases: { body: unknown; status: number; scimType?: string; detail?: string; stored?: Record<string, unknown> }[] = [
    { body: 0, ...notAnObject },
    { body: true, ...notAnObject },
    { body: 'x', ...notAnObject },
    { body: [], ...notAnObject },
    { body: [1], ...notAnObject },
    { body: {}, status: 400, scimType: 'invalidValue', detail: 'required attribute missing: userName' },
    { body: { userName: null }, status: 400, scimType: 'invalidValue', detail: 'required attribute missing: userName' },
    { body: { userName: [] }, status: 400, scimType: 'invalidValue', detail: 'required attribute missing: userName' },
    // A one-element array for a single value, as Entra ID sends `manager`.
    { body: { userName: ['a'] }, status: 201, stored: { userName: 'a' } },
    { body: { userName: { a: 1 } }, status: 400, scimType: 'invalidValue', detail: "'userName' must be a string, got object" },
    // A bare value for a multi-valued complex attribute is its `value`.
    { body: { userName: 'ok', emails: 'x' }, status: 201, stored: { userName: 'ok', emails: [{ value: 'x' }] } },
    { body: { userName: 'ok2', emails: [1, 2] }, status: 400, scimType: 'invalidValue', detail: "'emails[0].value' must be a string, got number" },
    { body: { userName: 'ok3', emails: [[{}]] }, status: 400, scimType: 'invalidValue', detail: "'emails[0]' must be an object, got array" },
    // [] is no value.
    { body: { userName: 'ok4', name: [] }, status: 201, stored: { userName: 'ok4' } },
    { body: { userName: 'ok5', name: [{ givenName: 'a' }, { givenName: 'b' }] }, status: 400, scimType: 'invalidValue', detail: "'name' is single-valued but got an array of 2" },
    { body: { userName: 'ok6', schemas: 'x' }, status: 400, scimType: 'invalidSyntax', detail: "'schemas' must be an array of schema URNs" },
    { body: { userName: 'ok7', schemas: [1] }, status: 400, scimType: 'invalidSyntax', detail: "'schemas' must be an array of schema URNs" },
    // Client-sent meta is the server's to set: ignored.
    { body: { userName: 'ok8', meta: 'x' }, status: 201, stored: { userName: 'ok8' } },
    { body: { userName: 'ok9', [EXT]: 'x' }, status: 400, scimType: 'invalidValue', detail: `'${EXT}' must be an object of ${EXT} attributes` },
    { body: { userName: 'ok10', [EXT]: { manager: 5 } }, status: 400, scimType: 'invalidValue', detail: `'${EXT}:manager.value' must be a string, got number` },
    { body: { userName: 'ok11', x509Certificates: [{ value: '%%%' }] }, status: 400, scimType: 'invalidValue', detail: "'x509Certificates[0].value' must be base64-encoded binary" },
    { body: { userName: 'ok12', active: null, password: 5 }, status: 400, scimType: 'invalidValue', detail: "'password' must be a string" },
    // Entra ID's dotted keys.
    { body: { userName: 'ok13', 'name.givenName': 'dotted' }, status: 201, stored: { userName: 'ok13', name: { givenName: 'dotted' } } },
    { body: { userName: 'ok14', constructor: { prototype: {} } }, status: 400, scimType: 'invalidSyntax', detail: 'request body sets "__proto__" or "constructor.prototype", which are refused' },
  ];
  for (const c of cases) {
    const name = JSON.stringify(c.body).slice(0, 80);
    const res = await h.req({ method: 'POST', url: '/scim/v2/Users', payload: JSON.stringify(c.body) });
    t.equal(res.statusCode, c.status, `${name}: status`);
    if (c.stored) {
      const { id: _id, meta: _meta, schemas: _schemas, ...attributes } = res.json() as Record<string, unknown>;
      t.same(attributes, c.stored, `${name}: stored`);
    } else {
      t.same(res.json(), { schemas: [ERROR], status: String(c.status), scimType: c.scimType, detail: c.detail }, `${name}: error`);
    }
  }
});

t.test('conformance findings: every answer is a SCIM error with the right status', async (t) => {
  const h = await build(t);
  const longFilter = 'userName eq "' + 'é'.repeat(8000) + '"';
  const cases: { name: string; method: string; url: string; payload?: string; headers?: Record<string, string>; auth?: boolean; status: number; scimType?: string; allow?: RegExp }[] = [
    { name: 'TRACE on a GET-only path', method: 'TRACE', url: '/scim/v2/Schemas', status: 405, allow: /^GET, HEAD$/ },
    { name: 'QUERY on a collection', method: 'QUERY', url: '/scim/v2/Users', status: 405, allow: /^GET, POST, HEAD$/ },
    { name: '/Bulk with a body that is no BulkRequest', method: 'POST', url: '/scim/v2/Bulk', payload: '{}', status: 400, scimType: 'invalidSyntax' },
    { name: '/Me without a mapping of tokens to users', method: 'GET', url: '/scim/v2/Me', status: 501 },
    { name: 'filter on discovery', method: 'GET', url: '/scim/v2/Schemas?filter=id%20pr', status: 403 },
    { name: 'text/plain body', method: 'POST', url: '/scim/v2/Users', payload: 'userName', headers: { 'content-type': 'text/plain' }, status: 415 },
    { name: 'bad percent-encoding in the path', method: 'GET', url: '/scim/v2/Users/%zz', status: 400, scimType: 'invalidSyntax' },
    { name: 'anonymous with a malformed body gets 401, not a parse error', method: 'POST', url: '/scim/v2/Users', payload: '{', auth: false, status: 401 },
    { name: 'anonymous with a huge body gets 401', method: 'POST', url: '/scim/v2/Users', payload: JSON.stringify({ userName: 'x'.repeat(2 * 1024 * 1024) }), auth: false, status: 401 },
    { name: 'keys differing only in case', method: 'POST', url: '/scim/v2/Users', payload: '{"userName":"a","USERNAME":"b"}', status: 400, scimType: 'invalidSyntax' },
    { name: 'schemas twice', method: 'POST', url: '/scim/v2/Users', payload: '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"Schemas":[],"userName":"a"}', status: 400, scimType: 'invalidSyntax' },
    { name: 'sub-attribute twice', method: 'POST', url: '/scim/v2/Users', payload: '{"userName":"a","name":{"givenName":"x","GivenName":"y"}}', status: 400, scimType: 'invalidSyntax' },
    { name: 'empty filter', method: 'GET', url: '/scim/v2/Users?filter=', status: 400, scimType: 'invalidFilter' },
    { name: 'SearchRequest with an unknown member', method: 'POST', url: '/scim/v2/Users/.search', payload: '{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"extra":1}', status: 400, scimType: 'invalidSyntax' },
    { name: 'SearchRequest with count as a string', method: 'POST', url: '/scim/v2/Users/.search', payload: '{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"count":"5"}', status: 400, scimType: 'invalidSyntax' },
    { name: 'SearchRequest with cursor and startIndex', method: 'POST', url: '/scim/v2/.search', payload: '{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"cursor":"","startIndex":2}', status: 400, scimType: 'invalidSyntax' },
  ];
  for (const c of cases) {
    const res = c.auth === false
      ? await h.app.inject({ method: c.method as 'GET', url: c.url, payload: c.payload, headers: { 'content-type': 'application/scim+json', ...c.headers } })
      : await h.req({ method: c.method as 'GET', url: c.url, payload: c.payload, headers: c.headers });
    t.equal(res.statusCode, c.status, `${c.name}: ${res.body.slice(0, 200)}`);
    t.match(res.json(), { schemas: [ERROR], status: String(c.status), detail: /\w/ }, c.name);
    t.match(res.headers['content-type'], /application\/scim\+json/, c.name);
    if (c.scimType) t.equal(res.json().scimType, c.scimType, c.name);
    if (c.allow) t.match(res.headers.allow, c.allow, c.name);
  }
  const long = await h.req({ method: 'GET', url: `/scim/v2/Users?filter=${encodeURIComponent(longFilter)}` });
  t.equal(long.statusCode, 200, 'a filter at the length limit, percent-encoded, fits in the request line');
});

t.test('outside /scim/v2 the server is a plain JSON service: no SCIM error format, media type or token', async (t) => {
  const h = await build(t);
  const plain: { name: string; method: string; url: string; status: number; allow?: string }[] = [
    { name: 'unknown route', method: 'GET', url: '/nope', status: 404 },
    { name: 'POST on /healthz', method: 'POST', url: '/healthz', status: 405, allow: 'GET, HEAD' },
    { name: 'TRACE on /readyz', method: 'TRACE', url: '/readyz', status: 405, allow: 'GET, HEAD' },
    { name: 'bad percent-encoding', method: 'GET', url: '/healthz/%zz', status: 400 },
  ];
  for (const c of plain) {
    const res = await h.app.inject({ method: c.method as 'GET', url: c.url });
    t.equal(res.statusCode, c.status, `${c.name}: ${res.body.slice(0, 200)}`);
    t.match(res.headers['content-type'], /^application\/json/, `${c.name}: application/json`);
    t.match(res.json(), { statusCode: c.status, error: String }, `${c.name}: Fastify's error shape`);
    t.equal(res.json().schemas, undefined, `${c.name}: not a SCIM error`);
    if (c.allow) t.equal(res.headers.allow, c.allow, `${c.name}: Allow`);
  }
  const health = await h.app.inject({ method: 'GET', url: '/healthz', headers: { authorization: 'Bearer not-a-token' } });
  t.equal(health.statusCode, 200, 'no token is checked outside /scim/v2');
  t.match(health.headers['content-type'], /^application\/json/);
  const scim = await h.app.inject({ method: 'GET', url: '/scim/v2/nope' });
  t.match([scim.statusCode, scim.json().schemas, scim.headers['content-type']], [404, [ERROR], /application\/scim\+json/], 'under /scim/v2 errors stay SCIM');
});
