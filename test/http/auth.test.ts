import t from 'tap';
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { build, SECRET, ERROR } from '../helper';
import { mintToken } from '../../src/cli/mint';
import { CursorCodec } from '../../src/scim/cursor';

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
function hs256(payload: Record<string, unknown>, secret = SECRET, header: Record<string, unknown> = { alg: 'HS256', typ: 'JWT' }): string {
  const data = `${b64(header)}.${b64(payload)}`;
  return `${data}.${createHmac('sha256', secret).update(data).digest('base64url')}`;
}
const now = () => Math.floor(Date.now() / 1000);

t.test('bearer JWT (HS256): every failure is a 401 SCIM error with WWW-Authenticate; missing scope is 403', async (t) => {
  const h = await build(t, 'lmdb', { SCIM_JWT_ISSUER: 'https://idp.example', SCIM_JWT_AUDIENCE: 'scim' });
  const good = { scope: 'scim:read scim:write', iss: 'https://idp.example', aud: 'scim', exp: now() + 60 };
  const cases: { name: string; authorization?: string; status: number }[] = [
    { name: 'missing header', status: 401 },
    { name: 'not Bearer', authorization: 'Basic dXNlcjpwYXNz', status: 401 },
    { name: 'garbage token', authorization: 'Bearer not.a.jwt', status: 401 },
    { name: 'expired', authorization: `Bearer ${hs256({ ...good, exp: now() - 10 })}`, status: 401 },
    { name: 'wrong signature', authorization: `Bearer ${hs256(good, 'another-secret-that-is-long-enough-xxxx')}`, status: 401 },
    { name: 'alg none', authorization: `Bearer ${b64({ alg: 'none', typ: 'JWT' })}.${b64(good)}.`, status: 401 },
    { name: 'wrong issuer', authorization: `Bearer ${hs256({ ...good, iss: 'https://evil.example' })}`, status: 401 },
    { name: 'wrong audience', authorization: `Bearer ${hs256({ ...good, aud: 'other' })}`, status: 401 },
    { name: 'no scope', authorization: `Bearer ${hs256({ ...good, scope: 'openid' })}`, status: 403 },
    { name: 'valid', authorization: `Bearer ${hs256(good)}`, status: 200 },
    { name: 'scp array claim', authorization: `Bearer ${hs256({ ...good, scope: undefined, scp: ['scim:read'] })}`, status: 200 },
  ];
  for (const c of cases) {
    const res = await h.app.inject({ method: 'GET', url: '/scim/v2/Users', headers: c.authorization ? { authorization: c.authorization } : {} });
    t.equal(res.statusCode, c.status, c.name);
    if (c.status >= 400) {
      t.match(res.json(), { schemas: [ERROR], status: String(c.status), detail: /\w/ }, c.name);
      t.match(res.headers['www-authenticate'], /^Bearer/, `${c.name}: WWW-Authenticate`);
      t.match(res.headers['content-type'], /application\/scim\+json/, c.name);
    }
  }
});

t.test('verified tokens are cached, but a cached token still expires on time', async (t) => {
  const h = await build(t, 'lmdb');
  // exp two whole seconds on: valid for at least one more second (the two requests below take milliseconds, even on
  // a loaded machine), and expired once the clock has passed it, which the test waits for rather than guesses.
  const exp = now() + 2;
  const token = `Bearer ${hs256({ scope: 'scim:read', exp })}`;
  const get = () => h.app.inject({ method: 'GET', url: '/scim/v2/Users', headers: { authorization: token } });
  t.equal((await get()).statusCode, 200, 'valid');
  t.equal((await get()).statusCode, 200, 'valid again (from the cache)');
  await new Promise((r) => setTimeout(r, exp * 1000 - Date.now() + 50));
  const late = await get();
  t.equal(late.statusCode, 401, 'expired, although it was cached');
  t.match(late.json(), { schemas: [ERROR], status: '401' });
  const forged = `${token.slice(0, -3)}${token.endsWith('AAA') ? 'BBB' : 'AAA'}`;
  t.equal((await h.app.inject({ method: 'GET', url: '/scim/v2/Users', headers: { authorization: forged } })).statusCode, 401, 'a token differing in its signature is not the cached one');
});

t.test('configured iss and aud are required claims, not only checked when present', async (t) => {
  const h = await build(t, 'lmdb', { SCIM_JWT_ISSUER: 'https://idp.example', SCIM_JWT_AUDIENCE: 'scim' });
  const good = { scope: 'scim:read', iss: 'https://idp.example', aud: 'scim', exp: now() + 60 };
  const cases = [
    { name: 'no iss', payload: { ...good, iss: undefined }, status: 401, detail: /no 'iss' claim/ },
    { name: 'no aud', payload: { ...good, aud: undefined }, status: 401, detail: /no 'aud' claim/ },
    { name: 'neither', payload: { scope: 'scim:read', exp: now() + 60 }, status: 401, detail: /no '(iss|aud)' claim/ },
    { name: 'aud as an array holding it', payload: { ...good, aud: ['other', 'scim'] }, status: 200 },
    { name: 'no exp (not required outside production)', payload: { ...good, exp: undefined }, status: 200 },
  ];
  for (const c of cases) {
    const res = await h.app.inject({ method: 'GET', url: '/scim/v2/Users', headers: { authorization: `Bearer ${hs256(c.payload)}` } });
    t.equal(res.statusCode, c.status, c.name);
    if (c.detail) t.match(res.json().detail, c.detail, `${c.name}: the detail says which claim`);
  }
  const write = await h.app.inject({
    method: 'POST',
    url: '/scim/v2/Users',
    headers: { authorization: `Bearer ${hs256({ scope: 'scim:write', exp: now() + 60 })}`, 'content-type': 'application/scim+json' },
    payload: { userName: 'never-created' },
  });
  t.equal(write.statusCode, 401, 'a write with neither claim is refused');
});

t.test('exp: required with SCIM_JWT_REQUIRE_EXP=true (and by default in production), optional otherwise', async (t) => {
  const noExp = `Bearer ${hs256({ scope: 'scim:read' })}`;
  const withExp = `Bearer ${hs256({ scope: 'scim:read', exp: now() + 60 })}`;
  const strict = await build(t, 'lmdb', { SCIM_JWT_REQUIRE_EXP: 'true' });
  const refused = await strict.app.inject({ method: 'GET', url: '/scim/v2/Users', headers: { authorization: noExp } });
  t.equal(refused.statusCode, 401);
  t.match(refused.json().detail, /no 'exp' claim/);
  t.equal((await strict.app.inject({ method: 'GET', url: '/scim/v2/Users', headers: { authorization: withExp } })).statusCode, 200);
  const lax = await build(t, 'lmdb', { SCIM_JWT_REQUIRE_EXP: 'false' });
  t.equal((await lax.app.inject({ method: 'GET', url: '/scim/v2/Users', headers: { authorization: noExp } })).statusCode, 200);
});

t.test('scim:read reads but cannot write; scim:write writes', async (t) => {
  const h = await build(t);
  const read = await h.req({ method: 'GET', url: '/scim/v2/Users', scope: 'scim:read' });
  t.equal(read.statusCode, 200);
  const denied = await h.req({ method: 'POST', url: '/scim/v2/Users', scope: 'scim:read', payload: { userName: 'x' } });
  t.equal(denied.statusCode, 403);
  t.match(denied.json(), { scimType: undefined, detail: /scim:write/ });
  const write = await h.req({ method: 'POST', url: '/scim/v2/Users', scope: 'scim:write', payload: { userName: 'x' } });
  t.equal(write.statusCode, 201);
  const noRead = await h.req({ method: 'GET', url: '/scim/v2/Users', scope: 'scim:write' });
  t.equal(noRead.statusCode, 403);
});

for (const [alg, type, options] of [
  ['RS256', 'rsa', { modulusLength: 2048 }],
  ['ES256', 'ec', { namedCurve: 'P-256' }],
] as const) {
  t.test(`${alg} with SCIM_JWT_PUBLIC_KEY; an HS256 token signed with the public key is refused`, async (t) => {
    const { publicKey, privateKey } = generateKeyPairSync(type as 'rsa', options as { modulusLength: number });
    const pub = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const priv = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const h = await build(t, 'lmdb', { SCIM_JWT_PUBLIC_KEY: pub, SCIM_JWT_SECRET: '' });
    const token = await mintToken({ publicKey: pub }, { scope: 'scim:read', ttlSeconds: 60, privateKey: priv, algorithm: alg });
    const ok = await h.app.inject({ method: 'GET', url: '/scim/v2/Users', headers: { authorization: `Bearer ${token}` } });
    t.equal(ok.statusCode, 200);
    const confused = hs256({ scope: 'scim:read', exp: now() + 60 }, pub);
    const bad = await h.app.inject({ method: 'GET', url: '/scim/v2/Users', headers: { authorization: `Bearer ${confused}` } });
    t.equal(bad.statusCode, 401, 'algorithm confusion is refused');

    // Cursors are not signed with the public key (anyone could forge one), but with a key kept secret.
    const auth = { authorization: `Bearer ${token}` };
    await h.app.users.create({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'paged-1' });
    await h.app.users.create({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'paged-2' });
    const first = await h.app.inject({ method: 'GET', url: '/scim/v2/Users?cursor&count=1', headers: auth });
    const next = await h.app.inject({ method: 'GET', url: `/scim/v2/Users?cursor=${first.json().nextCursor}&count=1`, headers: auth });
    t.equal(next.statusCode, 200, 'cursors the server issued work');
    const forged = new CursorCodec(pub, 3600).encode({ position: { direction: 'after', key: { id: '' } }, count: 1 }, 'User\0\0');
    const refused = await h.app.inject({ method: 'GET', url: `/scim/v2/Users?cursor=${forged}&count=1`, headers: auth });
    t.equal(refused.statusCode, 400, 'a cursor signed with the public key is refused');
    t.equal(refused.json().scimType, 'invalidCursor');
  });
}
