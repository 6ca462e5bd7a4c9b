/**
 * Operating the server: request ids and the one log line per request (never a token, a password or an
 * authentication contact value), Prometheus metrics, rate limits per caller and per address, security headers,
 * CORS closed by default, 503 while draining and under pressure.
 */
import t from 'tap';
import { Writable } from 'node:stream';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { buildApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { mintToken } from '../../src/cli/mint';
import { build, ERROR, makeStore, SECRET, user } from '../helper';

const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const PROFILE = 'urn:scim-server:schemas:extension:profile:1.0:User';

/** An app whose log lines are kept. */
async function logged(t: tap.Test, env: Record<string, string> = {}): Promise<{ app: FastifyInstance; lines: Record<string, unknown>[] }> {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  const { store, cleanup } = await makeStore('lmdb');
  const app = await buildApp({ config: loadConfig({ SCIM_JWT_SECRET: SECRET, ...env }), store, logger: { level: 'info', stream } });
  t.teardown(async () => {
    await app.close();
    await cleanup();
  });
  return { app, lines };
}

const bearer = async (scope = 'scim:read scim:write', extra: { roles?: string[]; clientId?: string; subject?: string } = {}) =>
  `Bearer ${await mintToken({ secret: SECRET }, { scope, ttlSeconds: 600, ...extra })}`;

t.test('X-Request-Id: a client’s id is echoed and logged; a bad or missing one is replaced by ours in the log', async (t) => {
  const { app, lines } = await logged(t);
  const auth = await bearer();
  const given = await app.inject({ method: 'GET', url: '/scim/v2/Users', headers: { authorization: auth, 'x-request-id': 'entra-7f3a.42' } });
  t.equal(given.headers['x-request-id'], 'entra-7f3a.42');
  const bad = await app.inject({ method: 'GET', url: '/scim/v2/Users', headers: { authorization: auth, 'x-request-id': 'no spaces <allowed>' } });
  t.equal(bad.headers['x-request-id'], undefined, 'an id that is not one is not echoed');
  const health = await app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'probe-1' } });
  t.equal(health.headers['x-request-id'], 'probe-1', 'outside /scim/v2 too');
  t.match(lines.filter((l) => l.msg === 'request').map((l) => l.reqId), ['entra-7f3a.42', /^[0-9a-f-]{36}$/, 'probe-1'], 'ours in the log when the client gave none');
  t.match(lines.find((l) => l.reqId === 'entra-7f3a.42'), { msg: 'request', statusCode: 200, route: '/scim/v2/Users', method: 'GET' });
});

t.test('one line per request: route, status, time and caller; never a token, a password or authentication contact info', async (t) => {
  const { app, lines } = await logged(t);
  const auth = await bearer('scim:read scim:write', { roles: ['globalAdmin'], clientId: 'hr-feed', subject: 'svc-hr' });
  const secretPhone = '+49 170 5550199';
  const created = await app.inject({
    method: 'POST',
    url: '/scim/v2/Users?attributes=userName',
    headers: { authorization: auth, 'content-type': 'application/scim+json' },
    payload: user('logged', { password: 'Hunter2-very-secret', [PROFILE]: { authentication: { phoneNumber: secretPhone } } }),
  });
  t.equal(created.statusCode, 201);
  const id = (created.json() as { id: string }).id;
  await app.inject({ method: 'PATCH', url: `/scim/v2/Users/${id}?filter=x`, headers: { authorization: auth, 'content-type': 'application/scim+json' }, payload: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'password', value: 'Another-secret-9' }] } });
  await app.inject({ method: 'GET', url: `/scim/v2/Users/${id}`, headers: { authorization: 'Bearer not.a.token' } });
  const requests = lines.filter((l) => l.msg === 'request');
  t.equal(requests.length, 3, 'one line per request');
  t.match(requests[0], { method: 'POST', route: '/scim/v2/Users', statusCode: 201, subject: 'svc-hr', clientId: 'hr-feed', reqId: String, ms: Number });
  t.match(requests[1], { route: '/scim/v2/Users/:id', statusCode: 200 });
  t.match(requests[2], { statusCode: 401 });
  t.notOk('subject' in requests[2]!, 'an unverified token names no caller');
  const all = JSON.stringify(lines);
  for (const secret of [auth.slice(7), 'not.a.token', 'Hunter2-very-secret', 'Another-secret-9', secretPhone]) t.notOk(all.includes(secret), `the log never holds ${secret.slice(0, 12)}…`);
});

t.test('GET /metrics: requests by route, store calls, errors, bounds, resources, event-loop lag; a token when configured', async (t) => {
  const h = await build(t, 'lmdb', { SCIM_MAX_PATCH_OPERATIONS: '2', SCIM_MAX_FILTER_LENGTH: '20', SCIM_BODY_LIMIT: '2000' });
  const u = h.json(await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user('metered') }));
  await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user('METERED') });
  await h.req({ method: 'GET', url: `/scim/v2/Users/${u.id as string}` });
  const op = { op: 'replace', path: 'title', value: 'x' };
  await h.req({ method: 'PATCH', url: `/scim/v2/Users/${u.id as string}`, payload: { schemas: [PATCH_OP], Operations: [op, op, op] } });
  await h.req({ method: 'GET', url: '/scim/v2/Users/nope/and/more' });
  // Each bound is counted by the setting its refusal carries, not by reading the detail.
  await h.req({ method: 'GET', url: `/scim/v2/Users?filter=${encodeURIComponent('userName eq "a-name-too-long-for-it"')}` });
  await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user('big', { title: 'x'.repeat(3000) }) });
  const res = await h.app.inject({ method: 'GET', url: '/metrics' });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  const text = res.body;
  for (const line of [
    /^scim_http_requests_total\{method="POST",route="\/scim\/v2\/Users",status="201"\} 1$/m,
    /^scim_http_requests_total\{method="GET",route="\/scim\/v2\/Users\/:id",status="200"\} 1$/m,
    /^scim_http_requests_total\{method="GET",route="unmatched",status="404"\} 1$/m,
    /^scim_http_request_duration_seconds_bucket\{le="0\.005",method="GET",route="\/scim\/v2\/Users\/:id"\} \d+$/m,
    /^scim_errors_total\{status="409",scimType="uniqueness"\} 1$/m,
    /^scim_errors_total\{status="413",scimType=""\} 2$/m,
    /^scim_bounds_hit_total\{bound="SCIM_MAX_PATCH_OPERATIONS"\} 1$/m,
    /^scim_bounds_hit_total\{bound="SCIM_MAX_FILTER_LENGTH"\} 1$/m,
    /^scim_bounds_hit_total\{bound="SCIM_BODY_LIMIT"\} 1$/m,
    /^scim_store_operation_duration_seconds_count\{store="lmdb",operation="create"\} 2$/m,
    /^scim_resources\{type="User"\} 1$/m,
    /^scim_resources\{type="Group"\} 0$/m,
    /^scim_draining 0$/m,
    /^nodejs_eventloop_lag_seconds /m,
    /^process_resident_memory_bytes /m,
  ]) {
    t.match(text, line, String(line));
  }
  t.notMatch(text, new RegExp(u.id as string), 'no resource id is a label value');

  const guarded = await build(t, 'lmdb', { SCIM_METRICS_TOKEN: 'scrape-me-please-0123' });
  t.equal((await guarded.app.inject({ method: 'GET', url: '/metrics' })).statusCode, 401);
  t.equal((await guarded.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer wrong-token-of-some-length' } })).statusCode, 401);
  t.equal((await guarded.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer scrape-me-please-0123' } })).statusCode, 200);
  t.equal((await guarded.app.inject({ method: 'POST', url: '/metrics' })).statusCode, 405);
});

t.test('rate limits: a runaway client gets 429 with Retry-After while another proceeds; per address without a valid token', async (t) => {
  const h = await build(t, 'lmdb', { SCIM_RATE_LIMIT: '5', SCIM_RATE_LIMIT_ANONYMOUS: '3', SCIM_RATE_LIMIT_LOOPBACK: 'true', SCIM_DISCOVERY_PUBLIC: 'true' });
  const runaway = await bearer('scim:read', { clientId: 'runaway' });
  const calm = await bearer('scim:read', { clientId: 'calm' });
  const get = (authorization?: string, url = '/scim/v2/Users', remoteAddress = '127.0.0.1') =>
    h.app.inject({ method: 'GET', url, remoteAddress, headers: authorization ? { authorization } : {} } as InjectOptions);
  const statuses: number[] = [];
  for (let i = 0; i < 7; i++) statuses.push((await get(runaway)).statusCode);
  t.same(statuses, [200, 200, 200, 200, 200, 429, 429]);
  const limited = await get(runaway);
  t.equal(limited.statusCode, 429);
  t.match(limited.json(), { schemas: [ERROR], status: '429', detail: /client 'runaway' \(SCIM_RATE_LIMIT: 5 a minute\)/ });
  t.match(limited.headers['retry-after'], /^\d+$/);
  t.ok(Number(limited.headers['retry-after']) >= 1 && Number(limited.headers['retry-after']) <= 60);
  t.equal((await get(calm)).statusCode, 200, 'another client proceeds');

  // Without a token, per address: public discovery.
  const anon = [];
  for (let i = 0; i < 4; i++) anon.push((await get(undefined, '/scim/v2/ServiceProviderConfig', '10.0.0.7')).statusCode);
  t.same(anon, [200, 200, 200, 429]);
  t.equal((await get(undefined, '/scim/v2/ServiceProviderConfig', '10.0.0.8')).statusCode, 200, 'another address proceeds');
  // Bad tokens cost their address; once it is out, even a new bad token is refused before verification.
  const bad = [];
  for (let i = 0; i < 5; i++) bad.push((await get(`Bearer bad.token.${i}`, '/scim/v2/Users', '10.0.0.9')).statusCode);
  t.same(bad, [401, 401, 401, 429, 429]);
  const known = await bearer('scim:read', { clientId: 'good-at-same-address' });
  t.equal((await get(known, '/scim/v2/Users', '127.0.0.1')).statusCode, 200);
  t.equal((await get(known, '/scim/v2/Users', '10.0.0.9')).statusCode, 200, 'a token that verified before is not held back by its address');
  const metrics = (await h.app.inject({ method: 'GET', url: '/metrics' })).body;
  t.match(metrics, /^scim_rate_limited_total\{kind="caller"\} 3$/m);
  t.match(metrics, /^scim_rate_limited_total\{kind="address"\} 3$/m);
});

t.test('rate limits are off for loopback in development, and entirely with SCIM_RATE_LIMIT=0', async (t) => {
  const h = await build(t, 'lmdb', { SCIM_RATE_LIMIT: '2' });
  const auth = await bearer('scim:read');
  for (let i = 0; i < 5; i++) t.equal((await h.app.inject({ method: 'GET', url: '/scim/v2/Users', headers: { authorization: auth } })).statusCode, 200);
  const remote = await h.app.inject({ method: 'GET', url: '/scim/v2/Users', remoteAddress: '192.0.2.1', headers: { authorization: auth } } as InjectOptions);
  t.equal(remote.statusCode, 200);
  const off = await build(t, 'lmdb', { SCIM_RATE_LIMIT: '0', SCIM_RATE_LIMIT_ANONYMOUS: '0', SCIM_RATE_LIMIT_LOOPBACK: 'true' });
  for (let i = 0; i < 5; i++) t.equal((await off.app.inject({ method: 'GET', url: '/scim/v2/ServiceProviderConfig' })).statusCode, 200);
  t.equal(loadConfig({ NODE_ENV: 'production', SCIM_JWT_SECRET: SECRET }).operations.rateLimitLoopback, true, 'production limits loopback too');
});

t.test('security headers on the API and the page; CORS closed unless origins are configured', async (t) => {
  const h = await build(t);
  const api = await h.req({ method: 'GET', url: '/scim/v2/Users' });
  t.equal(api.headers['content-security-policy'], "default-src 'none'; frame-ancestors 'none'");
  t.equal(api.headers['x-content-type-options'], 'nosniff');
  t.equal(api.headers['referrer-policy'], 'no-referrer');
  t.equal(api.headers['cross-origin-resource-policy'], 'same-origin');
  t.match(api.headers['strict-transport-security'], /max-age=\d+/);
  const page = await h.app.inject({ method: 'GET', url: '/ui' });
  t.match(page.headers['content-security-policy'], /^default-src 'self'; /, "the page keeps its own policy");
  t.equal(page.headers['x-frame-options'], 'DENY');
  const origin = 'https://admin.example.com';
  const closed = await h.req({ method: 'GET', url: '/scim/v2/Users', headers: { origin } });
  t.equal(closed.headers['access-control-allow-origin'], undefined);
  const preflight = await h.app.inject({ method: 'OPTIONS', url: '/scim/v2/Users', headers: { origin, 'access-control-request-method': 'POST' } });
  t.equal(preflight.statusCode, 405);
  t.equal(preflight.headers['access-control-allow-origin'], undefined);

  const open = await build(t, 'lmdb', { SCIM_CORS_ORIGINS: origin });
  const ok = await open.app.inject({ method: 'OPTIONS', url: '/scim/v2/Users', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' } });
  t.equal(ok.statusCode, 204);
  t.equal(ok.headers['access-control-allow-origin'], origin);
  t.match(ok.headers['access-control-allow-headers'], /Authorization/);
  const read = await open.req({ method: 'GET', url: '/scim/v2/Users', headers: { origin } });
  t.equal(read.headers['access-control-allow-origin'], origin);
  t.match(read.headers['access-control-expose-headers'], /ETag/);
  const other = await open.req({ method: 'GET', url: '/scim/v2/Users', headers: { origin: 'https://evil.example.net' } });
  t.equal(other.headers['access-control-allow-origin'], undefined);
  const evilPreflight = await open.app.inject({ method: 'OPTIONS', url: '/scim/v2/Users', headers: { origin: 'https://evil.example.net', 'access-control-request-method': 'POST' } });
  t.equal(evilPreflight.statusCode, 405, 'a preflight from an origin not listed is not answered by CORS');
  t.equal(evilPreflight.headers['access-control-allow-origin'], undefined);
  const plainOptions = await open.app.inject({ method: 'OPTIONS', url: '/scim/v2/Users' });
  t.equal(plainOptions.statusCode, 405, 'an OPTIONS that is no preflight reaches the routes');
  t.equal(plainOptions.headers.allow, 'GET, POST, HEAD');
});

t.test('draining: /readyz 503, new API requests 503 with Retry-After and Connection: close', async (t) => {
  const h = await build(t);
  t.equal((await h.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
  h.app.draining = true;
  const ready = await h.app.inject({ method: 'GET', url: '/readyz' });
  t.equal(ready.statusCode, 503);
  t.match(ready.json(), { status: 'draining' });
  const api = await h.req({ method: 'GET', url: '/scim/v2/Users' });
  t.equal(api.statusCode, 503);
  t.match(api.json(), { schemas: [ERROR], status: '503', detail: /shutting down/ });
  t.equal(api.headers['retry-after'], '5');
  t.equal(api.headers.connection, 'close');
  h.app.draining = false;
});

t.test('under pressure (here: a heap bound the process is always past) the API answers 503 with Retry-After', async (t) => {
  const h = await build(t, 'lmdb', { SCIM_MAX_HEAP_BYTES: '1000' });
  await new Promise((r) => setTimeout(r, 1200)); // the first sample
  const res = await h.req({ method: 'GET', url: '/scim/v2/Users' });
  t.equal(res.statusCode, 503);
  t.match(res.json(), { schemas: [ERROR], status: '503', detail: /under pressure \(heapUsedBytes/ });
  t.equal(res.headers['retry-after'], '5');
  t.equal((await h.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'the probes stay outside');
  t.match((await h.app.inject({ method: 'GET', url: '/metrics' })).body, /^scim_under_pressure_total\{reason="heapUsedBytes"\} 1$/m);
});
