import t from 'tap';
import { ConfigError, loadConfig } from '../src/config';

t.test('defaults', async (t) => {
  const c = loadConfig({});
  t.match(c, { port: 8080, host: '0.0.0.0', mongodbDb: 'scim', logLevel: 'info', production: false, discoveryPublic: true });
  t.equal(c.mongodbUri, undefined);
  t.equal(c.baseUrl, undefined);
});

t.test('reads every setting', async (t) => {
  const c = loadConfig({
    PORT: '9000', HOST: '127.0.0.1', SCIM_BASE_URL: 'https://scim.example.com/scim/v2/', MONGODB_URI: 'mongodb://db:27017',
    MONGODB_DB: 'dir', SCIM_JWT_SECRET: 'x'.repeat(32), SCIM_JWT_ISSUER: 'iss', SCIM_JWT_AUDIENCE: 'aud', LOG_LEVEL: 'warn',
    SCIM_DISCOVERY_PUBLIC: 'false', SCIM_BODY_LIMIT: '2048', UNRELATED: 'ignored',
  });
  t.match(c, {
    port: 9000, host: '127.0.0.1', baseUrl: 'https://scim.example.com/scim/v2', mongodbUri: 'mongodb://db:27017', mongodbDb: 'dir',
    jwt: { secret: 'x'.repeat(32), issuer: 'iss', audience: 'aud' }, logLevel: 'warn', discoveryPublic: false, bodyLimit: 2048,
  });
});

t.test('request bounds, database deadlines and the exp requirement: defaults and settings', async (t) => {
  const d = loadConfig({});
  t.same(d.limits, { patchOperations: 1000, valuesPerAttribute: 1000, filterLength: 8192, filterNodes: 200 });
  t.equal(d.dbTimeoutMs, 5000);
  t.equal(d.readyTimeoutMs, 2000);
  t.equal(d.jwt.requireExp, false, 'exp optional outside production');
  const prod = loadConfig({ NODE_ENV: 'production', MONGODB_URI: 'mongodb://db', SCIM_JWT_SECRET: 'x'.repeat(32) });
  t.equal(prod.jwt.requireExp, true, 'exp required in production by default');
  const set = loadConfig({
    SCIM_MAX_PATCH_OPERATIONS: '50', SCIM_MAX_VALUES: '20', SCIM_MAX_FILTER_LENGTH: '1000', SCIM_MAX_FILTER_NODES: '10',
    SCIM_DB_TIMEOUT_MS: '1500', SCIM_READY_TIMEOUT_MS: '300', SCIM_JWT_REQUIRE_EXP: 'true',
  });
  t.same(set.limits, { patchOperations: 50, valuesPerAttribute: 20, filterLength: 1000, filterNodes: 10 });
  t.match(set, { dbTimeoutMs: 1500, readyTimeoutMs: 300, jwt: { requireExp: true } });
});

const bad: { env: Record<string, string>; message: RegExp }[] = [
  { env: { SCIM_MAX_PATCH_OPERATIONS: '0' }, message: /SCIM_MAX_PATCH_OPERATIONS must be a whole number/ },
  { env: { SCIM_MAX_VALUES: 'many' }, message: /SCIM_MAX_VALUES must be a whole number/ },
  { env: { SCIM_MAX_FILTER_NODES: '-1' }, message: /SCIM_MAX_FILTER_NODES must be a whole number/ },
  { env: { SCIM_DB_TIMEOUT_MS: '5' }, message: /SCIM_DB_TIMEOUT_MS must be a number of milliseconds/ },
  { env: { SCIM_JWT_REQUIRE_EXP: 'yes' }, message: /SCIM_JWT_REQUIRE_EXP must be true or false/ },
  { env: { PORT: 'eighty' }, message: /PORT must be a port number/ },
  { env: { PORT: '70000' }, message: /PORT must be a port number/ },
  { env: { MONGODB_URI: 'postgres://x' }, message: /MONGODB_URI must be a MongoDB connection string/ },
  { env: { SCIM_JWT_SECRET: 'short' }, message: /SCIM_JWT_SECRET must be at least 32 characters/ },
  { env: { SCIM_JWT_PUBLIC_KEY: 'not a pem' }, message: /SCIM_JWT_PUBLIC_KEY must be a PEM public key/ },
  { env: { LOG_LEVEL: 'loud' }, message: /LOG_LEVEL must be one of/ },
  { env: { SCIM_BASE_URL: 'scim.example.com' }, message: /SCIM_BASE_URL must be an absolute/ },
  { env: { NODE_ENV: 'production', MONGODB_URI: 'mongodb://db' }, message: /requires SCIM_JWT_SECRET or SCIM_JWT_PUBLIC_KEY/ },
  { env: { SCIM_TRUST_PROXY: 'yes' }, message: /SCIM_TRUST_PROXY must be true, false, a number of proxy hops, or a comma-separated list/ },
  { env: { SCIM_TRUST_PROXY: '10.0.0.0/33' }, message: /SCIM_TRUST_PROXY must be/ },
  { env: { SCIM_TRUST_PROXY: '10.0.0.1, proxy.internal' }, message: /SCIM_TRUST_PROXY must be/ },
];
for (const b of bad) {
  t.test(`rejects ${JSON.stringify(b.env)}`, async (t) => {
    t.throws(() => loadConfig(b.env), ConfigError);
    try {
      loadConfig(b.env);
    } catch (e) {
      t.match((e as Error).message, b.message);
    }
  });
}

t.test('empty variables count as unset', async (t) => {
  t.equal(loadConfig({ MONGODB_URI: '', PORT: '' }).port, 8080);
});

t.test('SCIM_TRUST_PROXY: off by default; on, a number of hops, or addresses and ranges', async (t) => {
  const cases: { value?: string; expected: boolean | number | string[] }[] = [
    { expected: false },
    { value: 'false', expected: false },
    { value: 'true', expected: true },
    { value: '2', expected: 2 },
    { value: '10.0.0.0/8, 127.0.0.1,::1,fd00::/8', expected: ['10.0.0.0/8', '127.0.0.1', '::1', 'fd00::/8'] },
  ];
  for (const c of cases) t.same(loadConfig(c.value === undefined ? {} : { SCIM_TRUST_PROXY: c.value }).trustProxy, c.expected, String(c.value));
});
