import t from 'tap';
import { mintToken, parseTtl } from '../src/cli/mint';

const claims = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;

t.test('mintToken: scope, lifetime in seconds, issuer and audience from the configuration', async (t) => {
  const token = await mintToken({ secret: 'x'.repeat(32), issuer: 'iss', audience: 'aud' }, { scope: 'scim:read', ttlSeconds: 90 * 86400 });
  const c = claims(token);
  t.equal(c.scope, 'scim:read');
  t.equal((c.exp as number) - (c.iat as number), 90 * 86400);
  t.equal(c.iss, 'iss');
  t.equal(c.aud, 'aud');
  await t.rejects(mintToken({}, { scope: 'scim:read', ttlSeconds: 60 }), /no signing key/);
});

t.test('parseTtl', async (t) => {
  const cases: [string, number][] = [['90d', 90 * 86400], ['12h', 43200], ['30m', 1800], ['45s', 45], ['600', 600]];
  for (const [text, seconds] of cases) t.equal(parseTtl(text), seconds, text);
  t.throws(() => parseTtl('soon'), /--ttl/);
});
