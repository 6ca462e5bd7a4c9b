/**
 * What HTTP clients actually send, as bytes on a socket to a listening server, on every store: Content-Type on
 * body-less methods, charsets, empty and compressed bodies, `Expect: 100-continue`, bodies on GET, HEAD on every GET
 * route, trailing and doubled slashes, percent-encoded ids, Accept values, the Authorization scheme's case, long
 * headers and HTTP/1.0. Each answer is the exact one, and a refusal writes nothing.
 *
 * Where the RFCs leave a choice, the test says which one was made and why.
 */
import t from 'tap';
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { build, eachStore, ERROR, Harness, user, USER } from '../helper';
import { rawHttp, type RawRequest, type RawResponse } from '../support/raw-http';

const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const BULK = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
const SCIM_TYPE = 'application/scim+json; charset=utf-8';
const JSON_TYPE = 'application/json; charset=utf-8';

interface Server {
  h: Harness;
  port: number;
  auth: string;
  send(req: RawRequest): Promise<RawResponse>;
  /** A user created for the test, by inject. */
  create(userName: string): Promise<{ id: string; version: string }>;
  /** How many users have this userName (0 after a refusal). */
  count(userName: string): Promise<number>;
}

async function listen(t: Tap, kind: Parameters<typeof build>[1], env: Record<string, string> = {}): Promise<Server> {
  const h = await build(t, kind, env);
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  const port = (h.app.server.address() as { port: number }).port;
  const auth = `Bearer ${await h.token('scim:read scim:write', { roles: ['globalAdmin'] })}`;
  return {
    h,
    port,
    auth,
    send: (req) => rawHttp(port, { ...req, headers: { Authorization: auth, ...(req.headers ?? {}) } }),
    async create(userName) {
      const res = await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user(userName) });
      if (res.statusCode !== 201) throw new Error(`create ${userName}: ${res.statusCode} ${res.body}`);
      return { id: res.json().id as string, version: res.json().meta.version as string };
    },
    async count(userName) {
      const res = await h.req({ method: 'GET', url: `/scim/v2/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}&count=0` });
      return res.json().totalResults as number;
    },
  };
}
type Tap = tap.Test;

const splitInTwo = (b: Buffer) => [b.subarray(0, 10), b.subarray(10)];
const json = (r: RawResponse) => JSON.parse(r.body) as Record<string, unknown>;
const body = (userName: string) => JSON.stringify(user(userName));

eachStore(t, async (t, kind) => {
  const s = await listen(t, kind);

  t.test('a Content-Type on a request without content is never a reason to refuse it', async (t) => {
    // Many HTTP client wrappers set one Content-Type on every request, DELETE included.
    const cases: { name: string; req: Partial<RawRequest> }[] = [
      { name: 'no Content-Length', req: { headers: { 'Content-Type': 'application/scim+json' } } },
      { name: 'Content-Length: 0', req: { headers: { 'Content-Type': 'application/scim+json', 'Content-Length': 0 } } },
      { name: 'application/json; charset=utf-8', req: { headers: { 'Content-Type': 'application/json; charset=utf-8' } } },
      { name: 'a type no parser reads', req: { headers: { 'Content-Type': 'application/x-www-form-urlencoded' } } },
      { name: 'an empty chunked body', req: { headers: { 'Content-Type': 'application/scim+json' }, chunks: [] } },
    ];
    for (const [i, c] of cases.entries()) {
      const { id } = await s.create(`bodyless-delete-${i}`);
      const res = await s.send({ method: 'DELETE', path: `/scim/v2/Users/${id}`, ...c.req });
      t.equal(res.status, 204, `DELETE, ${c.name}`);
      t.equal(res.body, '', `DELETE, ${c.name}: no content`);
      t.equal(await s.count(`bodyless-delete-${i}`), 0, `DELETE, ${c.name}: the user is gone`);
    }
    const { id } = await s.create('bodyless-get');
    for (const method of ['GET', 'HEAD']) {
      const res = await s.send({ method, path: `/scim/v2/Users/${id}`, headers: { 'Content-Type': 'application/scim+json' } });
      t.equal(res.status, 200, `${method} with a Content-Type`);
    }
  });

  t.test('JSON media types, with and without a UTF-8 charset, in any letter case', async (t) => {
    const types = [
      'application/scim+json',
      'application/json',
      'application/scim+json; charset=utf-8',
      'application/scim+json;charset=UTF-8',
      'application/json; charset=utf-8',
      'application/json; charset="UTF-8"',
      'application/json; charset=utf8',
      // US-ASCII is a subset of UTF-8: a JSON text in one is a JSON text in the other.
      'application/json; charset=us-ascii',
      'Application/SCIM+JSON',
    ];
    for (const [i, type] of types.entries()) {
      const res = await s.send({ method: 'POST', path: '/scim/v2/Users', headers: { 'Content-Type': type }, body: body(`media-${i}`) });
      t.equal(res.status, 201, type);
      t.equal(json(res).userName, `media-${i}`, `${type}: the body was read`);
    }
    // A UTF-8 byte order mark (RFC 8259 §8.1 allows ignoring it; PowerShell 5 writes one into UTF-8 files).
    const bom = await s.send({ method: 'POST', path: '/scim/v2/Users', headers: { 'Content-Type': 'application/scim+json' }, body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(body('with-bom-ü'))]) });
    t.equal(bom.status, 201, 'a leading byte order mark is ignored');
    t.equal(json(bom).userName, 'with-bom-ü');
  });

  t.test('a charset other than UTF-8 is 415, and nothing is written', async (t) => {
    // RFC 8259 §8.1: JSON between systems "MUST be encoded using UTF-8"; a Latin-1 body read as UTF-8 would turn
    // "é" into U+FFFD, so it is refused rather than guessed at.
    for (const charset of ['iso-8859-1', 'ISO-8859-1', 'windows-1252', 'utf-16', '"latin1"']) {
      const userName = `charset-${charset.replace(/\W/g, '')}`;
      const res = await s.send({ method: 'POST', path: '/scim/v2/Users', headers: { 'Content-Type': `application/scim+json; charset=${charset}` }, body: body(userName) });
      t.equal(res.status, 415, charset);
      t.same(json(res), {
        schemas: [ERROR],
        status: '415',
        detail: `Content-Type charset '${charset.replace(/"/g, '').toLowerCase()}' is not accepted; send the JSON body in UTF-8`,
      }, charset);
      t.equal(await s.count(userName), 0, `${charset}: nothing written`);
    }
  });

  t.test('an empty body on POST, PUT and PATCH is 400 naming the request, and nothing is written', async (t) => {
    const { id, version } = await s.create('empty-bodies');
    const cases: { method: string; path: string; req: Partial<RawRequest> }[] = [
      { method: 'POST', path: '/scim/v2/Users', req: { headers: { 'Content-Type': 'application/scim+json' } } },
      { method: 'POST', path: '/scim/v2/Users', req: { headers: { 'Content-Type': 'application/scim+json', 'Content-Length': 0 } } },
      { method: 'POST', path: '/scim/v2/Users', req: {} },
      { method: 'POST', path: '/scim/v2/Users', req: { headers: { 'Content-Type': 'application/scim+json' }, chunks: [] } },
      { method: 'PUT', path: `/scim/v2/Users/${id}`, req: { headers: { 'Content-Type': 'application/scim+json' } } },
      { method: 'PATCH', path: `/scim/v2/Users/${id}`, req: { headers: { 'Content-Type': 'application/json' } } },
      { method: 'PATCH', path: `/scim/v2/Users/${id}`, req: { headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }, body: gzipSync('') } },
      { method: 'POST', path: '/scim/v2/Bulk', req: { headers: { 'Content-Type': 'application/scim+json' } } },
      { method: 'POST', path: '/scim/v2/Users/.search', req: { headers: { 'Content-Type': 'application/scim+json' } } },
    ];
    for (const c of cases) {
      const name = `${c.method} ${c.path} ${JSON.stringify(c.req)}`;
      const res = await s.send({ method: c.method, path: c.path, ...c.req });
      t.equal(res.status, 400, name);
      t.same(json(res), { schemas: [ERROR], status: '400', scimType: 'invalidSyntax', detail: `the request body is empty; ${c.method} ${c.path} needs a JSON object` }, name);
    }
    const after = await s.h.req({ method: 'GET', url: `/scim/v2/Users/${id}` });
    t.equal(after.json().meta.version, version, 'the user was not changed');
    // 405 is answered before the body is looked at: the method is the first thing wrong.
    const wrong = await s.send({ method: 'POST', path: `/scim/v2/Users/${id}`, headers: { 'Content-Type': 'application/scim+json' } });
    t.equal(wrong.status, 405, 'POST to a resource is 405 even without a body');
  });

  t.test('Expect: 100-continue gets its 100 before the body is sent', async (t) => {
    const res = await s.send({ method: 'POST', path: '/scim/v2/Users', headers: { 'Content-Type': 'application/scim+json', Expect: '100-continue' }, body: body('expect-continue') });
    t.same(res.interim, [100], 'an interim 100 Continue');
    t.equal(res.status, 201);
    t.equal(await s.count('expect-continue'), 1);
    // An expectation the server cannot meet (RFC 9110 §10.1.1): 417, and the body is never read.
    const odd = await s.send({ method: 'POST', path: '/scim/v2/Users', headers: { 'Content-Type': 'application/scim+json', Expect: 'something-else' }, body: body('expect-other') });
    t.equal(odd.status, 417);
    t.same(json(odd), { schemas: [ERROR], status: '417', detail: "the expectation 'something-else' cannot be met; only 100-continue is understood" });
    t.equal(await s.count('expect-other'), 0);
  });

  t.test('compressed bodies are decoded; the body limit applies to the decoded size', async (t) => {
    const codings: { coding: string; encode(b: Buffer): Buffer }[] = [
      { coding: 'gzip', encode: (b) => gzipSync(b) },
      { coding: 'x-gzip', encode: (b) => gzipSync(b) },
      { coding: 'GZIP', encode: (b) => gzipSync(b) },
      { coding: 'deflate', encode: (b) => deflateSync(b) },
      { coding: 'br', encode: (b) => brotliCompressSync(b) },
      // Codings are listed in the order they were applied.
      { coding: 'gzip, br', encode: (b) => brotliCompressSync(gzipSync(b)) },
      { coding: 'identity', encode: (b) => b },
    ];
    for (const [i, c] of codings.entries()) {
      const userName = `coded-${i}`;
      const res = await s.send({ method: 'POST', path: '/scim/v2/Users', headers: { 'Content-Type': 'application/scim+json', 'Content-Encoding': c.coding }, body: c.encode(Buffer.from(body(userName))) });
      t.equal(res.status, 201, c.coding);
      t.equal(json(res).userName, userName, `${c.coding}: decoded`);
    }
    const chunked = await s.send({ method: 'POST', path: '/scim/v2/Users', headers: { 'Content-Type': 'application/scim+json', 'Content-Encoding': 'gzip' }, chunks: splitInTwo(gzipSync(body('coded-chunked'))) });
    t.equal(chunked.status, 201, 'gzip in chunks');

    const { id } = await s.create('coded-patch');
    const patch = await s.send({
      method: 'PATCH',
      path: `/scim/v2/Users/${id}`,
      headers: { 'Content-Type': 'application/scim+json', 'Content-Encoding': 'gzip' },
      body: gzipSync(JSON.stringify({ schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'Compressed' }] })),
    });
    t.equal(patch.status, 200, 'a gzip PATCH');
    t.equal(json(patch).title, 'Compressed');

    const refusals: { name: string; coding: string; data: Buffer; status: number; expected: Record<string, unknown>; headers?: Record<string, string> }[] = [
      {
        name: 'a body that is not what its coding says',
        coding: 'gzip',
        data: Buffer.from(body('coded-bad')),
        status: 400,
        expected: { scimType: 'invalidSyntax', detail: 'the request body is not valid gzip data (Content-Encoding: gzip): incorrect header check' },
      },
      {
        // RFC 9110 §8.4.1.2: "deflate" is the zlib format; raw deflate data is not it.
        name: 'raw deflate sent as deflate',
        coding: 'deflate',
        data: deflateRawSync(Buffer.from(body('coded-raw'))),
        status: 400,
        expected: { scimType: 'invalidSyntax', detail: 'the request body is not valid deflate data (Content-Encoding: deflate): incorrect header check' },
      },
      {
        name: 'a truncated gzip body',
        coding: 'gzip',
        data: gzipSync(Buffer.from(body('coded-cut'))).subarray(0, 30),
        status: 400,
        expected: { scimType: 'invalidSyntax', detail: 'the request body is not valid gzip data (Content-Encoding: gzip): unexpected end of file' },
      },
      {
        // RFC 7694 §3: a 415 for a content coding lists the accepted ones in Accept-Encoding.
        name: 'a coding the server does not decode',
        coding: 'zstd',
        data: Buffer.from(body('coded-zstd')),
        status: 415,
        expected: { detail: "Content-Encoding 'zstd' is not accepted; send the body as it is, or in gzip, deflate, br" },
        headers: { 'accept-encoding': 'gzip, deflate, br' },
      },
      {
        // 64 MiB of the same byte is about 64 KB of gzip: decoding stops at the 1 MiB limit.
        name: 'a body that expands past the limit',
        coding: 'gzip',
        data: gzipSync(Buffer.concat([Buffer.from(`{"schemas":["${USER}"],"userName":"coded-bomb","title":"`), Buffer.alloc(64 * 1024 * 1024, 'a'), Buffer.from('"}')]), { level: 9 }),
        status: 413,
        expected: { detail: 'request body is larger than the 1048576 byte limit (SCIM_BODY_LIMIT)' },
      },
    ];
    for (const r of refusals) {
      const res = await s.send({ method: 'POST', path: '/scim/v2/Users', headers: { 'Content-Type': 'application/scim+json', 'Content-Encoding': r.coding }, body: r.data });
      t.equal(res.status, r.status, r.name);
      t.same(json(res), { schemas: [ERROR], status: String(r.status), ...r.expected }, r.name);
      for (const [k, v] of Object.entries(r.headers ?? {})) t.equal(res.headers[k], v, `${r.name}: ${k}`);
    }
    for (const userName of ['coded-bad', 'coded-raw', 'coded-cut', 'coded-zstd', 'coded-bomb']) t.equal(await s.count(userName), 0, `${userName}: nothing written`);

    // Bulk has its own limit (maxPayloadSize), named in its answer.
    const bomb = gzipSync(Buffer.concat([Buffer.from(`{"schemas":["${BULK}"],"Operations":[],"x":"`), Buffer.alloc(16 * 1024 * 1024, 'a'), Buffer.from('"}')]), { level: 9 });
    const bulk = await s.send({ method: 'POST', path: '/scim/v2/Bulk', headers: { 'Content-Type': 'application/scim+json', 'Content-Encoding': 'gzip' }, body: bomb });
    t.equal(bulk.status, 413, 'a Bulk body that expands past maxPayloadSize');
    t.same(json(bulk), {
      schemas: [ERROR],
      status: '413',
      detail: 'the request body is larger than maxPayloadSize (4194304 bytes); send the operations in several requests (SCIM_BULK_MAX_PAYLOAD_SIZE)',
    });
    const ops = Array.from({ length: 50 }, (_, i) => ({ method: 'POST', path: '/Users', bulkId: `b${i}`, data: user(`coded-bulk-${i}`) }));
    const okBulk = await s.send({ method: 'POST', path: '/scim/v2/Bulk', headers: { 'Content-Type': 'application/scim+json', 'Content-Encoding': 'gzip' }, body: gzipSync(JSON.stringify({ schemas: [BULK], Operations: ops })) });
    t.equal(okBulk.status, 200, 'a gzip Bulk');
    t.equal(await s.count('coded-bulk-49'), 1, 'its operations ran');
  });

  t.test('a body on GET, HEAD or DELETE is not read', async (t) => {
    const { id } = await s.create('body-on-get');
    const get = await s.send({ method: 'GET', path: `/scim/v2/Users/${id}`, headers: { 'Content-Type': 'application/scim+json' }, body: '{"filter":"ignored"}' });
    t.equal(get.status, 200, 'GET with a body');
    t.equal(json(get).id, id);
    const notJson = await s.send({ method: 'GET', path: '/scim/v2/Users', headers: { 'Content-Type': 'application/scim+json' }, body: 'not json' });
    t.equal(notJson.status, 200, 'GET with a body that is not JSON');
    const del = await s.send({ method: 'DELETE', path: `/scim/v2/Users/${id}`, headers: { 'Content-Type': 'application/scim+json' }, body: '{}' });
    t.equal(del.status, 204, 'DELETE with an empty JSON object');
  });

  t.test('HEAD on every GET route answers as GET does, without a body', async (t) => {
    const { id } = await s.create('head-user');
    const group = await s.h.req({ method: 'POST', url: '/scim/v2/Groups', payload: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'head-group' } });
    const paths = [
      '/scim/v2/Users',
      `/scim/v2/Users/${id}`,
      '/scim/v2/Users?filter=userName%20eq%20%22head-user%22',
      '/scim/v2/Groups',
      `/scim/v2/Groups/${group.json().id}`,
      '/scim/v2/ServiceProviderConfig',
      '/scim/v2/ResourceTypes',
      '/scim/v2/ResourceTypes/User',
      '/scim/v2/Schemas',
      `/scim/v2/Schemas/${USER}`,
      '/scim/v2/Sections',
      '/scim/v2/AuditEvents',
      '/scim/v2/Me',
      '/scim/v2/Users/no-such-id',
      '/healthz',
      '/readyz',
      '/metrics',
      '/ui',
    ];
    for (const path of paths) {
      const get = await s.send({ method: 'GET', path });
      const head = await s.send({ method: 'HEAD', path });
      t.equal(head.status, get.status, `HEAD ${path}: status ${get.status}`);
      t.equal(head.headers['content-type'], get.headers['content-type'], `HEAD ${path}: Content-Type`);
      t.equal(head.headers.etag, get.headers.etag, `HEAD ${path}: ETag`);
    }
  });

  t.test('slashes, letter case and percent-encoding in the path', async (t) => {
    const { id } = await s.create('path-user');
    const same = [
      `/scim/v2/Users/${id}/`,
      // A base URL typed with a trailing slash, joined to "/Users" (Okta's habit).
      `/scim/v2//Users/${id}`,
      `/scim/v2/users/${id}`,
      `/SCIM/V2/USERS/${id}`,
      `/scim/v2/Users/${[...id].map((c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`).join('')}`,
    ];
    for (const path of same) {
      const res = await s.send({ method: 'GET', path });
      t.equal(res.status, 200, path);
      t.equal(json(res).id, id, `${path}: the same user`);
    }
    // Ids keep their case: an id in other letters is another id.
    const upper = await s.send({ method: 'GET', path: `/scim/v2/Users/${id.toUpperCase()}` });
    t.equal(upper.status, 404, 'an id in upper case is not the id');
    const lists = ['/scim/v2/Users/', '/scim/v2/Users/?count=1', '//scim/v2/Users', '/scim/v2/Users?filter=userName+eq+%22path-user%22'];
    for (const path of lists) {
      const res = await s.send({ method: 'GET', path });
      t.equal(res.status, 200, path);
    }
    const plus = await s.send({ method: 'GET', path: '/scim/v2/Users?filter=userName+eq+%22path-user%22' });
    t.equal(json(plus).totalResults, 1, 'a + in the query is a space');
    const bad = await s.send({ method: 'GET', path: '/scim/v2/Users/%ZZ' });
    t.equal(bad.status, 400, 'malformed percent-encoding');
    t.equal(json(bad).scimType, 'invalidSyntax');
    const slash = await s.send({ method: 'GET', path: `/scim/v2/Users/${id}%2Fx` });
    t.equal(slash.status, 404, 'an encoded slash is part of the id');
  });

  t.test('Accept: SCIM JSON unless the client prefers plain JSON; never 406', async (t) => {
    const { id } = await s.create('accept-user');
    const cases: { accept?: string; type: string; why: string }[] = [
      { type: SCIM_TYPE, why: 'no Accept' },
      { accept: '*/*', type: SCIM_TYPE, why: 'anything' },
      { accept: 'application/scim+json', type: SCIM_TYPE, why: 'SCIM' },
      { accept: 'application/json', type: JSON_TYPE, why: 'only plain JSON (PowerShell, generic REST clients)' },
      { accept: 'application/json, text/plain, */*', type: SCIM_TYPE, why: "axios's default: a tie with */* goes to SCIM" },
      { accept: 'application/scim+json;q=0.5, application/json;q=0.9', type: JSON_TYPE, why: 'plain JSON weighed higher' },
      { accept: 'application/scim+json, application/json;q=0.9', type: SCIM_TYPE, why: 'SCIM weighed higher' },
      { accept: 'application/json, application/scim+json;q=0', type: JSON_TYPE, why: 'SCIM excluded' },
      { accept: 'application/*', type: SCIM_TYPE, why: 'any application type' },
      // RFC 9110 §12.5.1 lets a server disregard an Accept it cannot satisfy rather than answer 406. Every answer is
      // JSON: a client that asked for something else can still read it, where a 406 would end its run.
      { accept: 'text/html', type: SCIM_TYPE, why: 'a type never served' },
      { accept: 'application/xml', type: SCIM_TYPE, why: 'XML' },
    ];
    for (const c of cases) {
      const res = await s.send({ method: 'GET', path: `/scim/v2/Users/${id}`, headers: c.accept === undefined ? {} : { Accept: c.accept } });
      t.equal(res.status, 200, c.why);
      t.equal(res.headers['content-type'], c.type, c.why);
      t.equal(res.headers.vary, 'Accept', `${c.why}: the answer varies with Accept`);
      t.equal(json(res).id, id, `${c.why}: the same content`);
    }
    const error = await s.send({ method: 'GET', path: '/scim/v2/Users/no-such-id', headers: { Accept: 'application/json' } });
    t.equal(error.headers['content-type'], JSON_TYPE, 'errors follow Accept too');
    t.equal(json(error).status, '404');
  });

  t.test('the Authorization scheme in any letter case, with any spacing', async (t) => {
    const token = s.auth.slice('Bearer '.length);
    for (const header of [`Bearer ${token}`, `bearer ${token}`, `BEARER ${token}`, `Bearer   ${token}`, `Bearer\t${token}`]) {
      const res = await rawHttp(s.port, { method: 'GET', path: '/scim/v2/Users?count=0', headers: { Authorization: header } });
      t.equal(res.status, 200, JSON.stringify(header.slice(0, 9)));
    }
    const basic = await rawHttp(s.port, { method: 'GET', path: '/scim/v2/Users?count=0', headers: { Authorization: `Basic ${Buffer.from('a:b').toString('base64')}` } });
    t.equal(basic.status, 401, 'another scheme');
    t.match(basic.headers['www-authenticate'], /^Bearer /);
  });

  t.test('long headers: up to 128 KiB of head is read, past it a 431 SCIM error', async (t) => {
    const long = await s.send({ method: 'GET', path: '/scim/v2/Users?count=0', headers: { Cookie: 'c='.padEnd(100 * 1024, 'x'), 'X-Trace': 'y'.repeat(8 * 1024) } });
    t.equal(long.status, 200, '108 KiB of headers');
    const filter = encodeURIComponent(`userName eq "${'z'.repeat(7000)}"`);
    t.equal((await s.send({ method: 'GET', path: `/scim/v2/Users?filter=${filter}` })).status, 200, 'a 7,000-character filter in the URL');
    const tooLong = await s.send({ method: 'GET', path: '/scim/v2/Users?count=0', headers: { Cookie: 'c='.padEnd(140 * 1024, 'x') } });
    t.equal(tooLong.status, 431);
    t.same(json(tooLong), { schemas: [ERROR], status: '431', detail: 'request line and headers are larger than 128 KiB' });
    t.ok(tooLong.closed, 'the connection is closed');
  });

  t.test('a missing Host: 400 for HTTP/1.1 (RFC 9112 §3.2), the address it came in on for HTTP/1.0', async (t) => {
    const noHost = await s.send({ method: 'GET', path: '/scim/v2/Users?count=0', headers: { Host: '' } });
    t.equal(noHost.status, 400);
    t.same(json(noHost), { schemas: [ERROR], status: '400', scimType: 'invalidSyntax', detail: 'an HTTP/1.1 request must carry a Host header (RFC 9112 §3.2)' });
    const plain = await s.send({ method: 'GET', path: '/healthz', headers: { Host: '' } });
    t.equal(plain.status, 400, 'outside the API too');
    t.same(json(plain), { statusCode: 400, error: 'Bad Request', message: 'an HTTP/1.1 request must carry a Host header (RFC 9112 §3.2)' });
    const old = await s.send({ method: 'POST', path: '/scim/v2/Users', version: '1.0', headers: { Host: '', 'Content-Type': 'application/scim+json' }, body: body('http10-no-host') });
    t.equal(old.status, 201, 'HTTP/1.0 needs no Host');
    t.equal(old.headers.location, `http://127.0.0.1:${s.port}/scim/v2/Users/${json(old).id}`, 'located at the address it came in on');
  });

  t.test('HTTP/1.0 without keep-alive: a whole answer, then the server closes', async (t) => {
    const { id } = await s.create('http10-user');
    const get = await s.send({ method: 'GET', path: `/scim/v2/Users/${id}`, version: '1.0' });
    t.equal(get.status, 200);
    t.equal(json(get).id, id, 'the whole body');
    t.ok(get.closed, 'closed by the server');
    t.not(get.headers['transfer-encoding'], 'chunked', 'no chunked encoding for HTTP/1.0');
    const list = await s.send({ method: 'GET', path: '/scim/v2/Users?count=5', version: '1.0' });
    t.equal(list.status, 200);
    t.equal(json(list).itemsPerPage, 5, 'a list, whole');
    const post = await s.send({ method: 'POST', path: '/scim/v2/Users', version: '1.0', headers: { 'Content-Type': 'application/scim+json' }, body: body('http10-created') });
    t.equal(post.status, 201);
    t.equal(await s.count('http10-created'), 1);
  });
});

t.test('behind a reverse proxy: X-Forwarded-* believed only from the peers SCIM_TRUST_PROXY names', async (t) => {
  const forwarded = { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'scim.example.com', 'X-Forwarded-For': '203.0.113.7' };
  for (const c of [
    { trust: '127.0.0.1', location: 'https://scim.example.com/scim/v2/Users/', why: 'the proxy on loopback is trusted' },
    { trust: 'true', location: 'https://scim.example.com/scim/v2/Users/', why: 'every peer is trusted' },
    { trust: '10.0.0.0/8', location: 'http://127.0.0.1:', why: 'loopback is not a trusted proxy: the headers are a client\'s, ignored' },
    { trust: undefined, location: 'http://127.0.0.1:', why: 'no proxy trusted (the default)' },
  ]) {
    const s = await listen(t, 'lmdb', c.trust === undefined ? {} : { SCIM_TRUST_PROXY: c.trust });
    const res = await s.send({ method: 'POST', path: '/scim/v2/Users', headers: { 'Content-Type': 'application/scim+json', ...forwarded }, body: body(`proxied-${c.trust}`) });
    t.equal(res.status, 201, c.why);
    t.ok(res.headers.location!.startsWith(c.location), `${c.why}: Location ${res.headers.location}`);
    t.ok((json(res).meta as { location: string }).location.startsWith(c.location), `${c.why}: meta.location`);
  }
});
