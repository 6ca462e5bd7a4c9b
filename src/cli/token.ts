/**
 * `npm run token -- --scope "scim:read scim:write" --ttl 90d` mints a bearer token from the configured key
 * (SCIM_JWT_SECRET, or --private-key <pem file> for RS256/ES256 with SCIM_JWT_PUBLIC_KEY on the server).
 * `--roles globalAdmin` (or userAdmin) and `--client hr-feed` add the roles and client_id claims (service/access.ts).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config';
import { mintToken, parseTtl } from './mint';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      scope: { type: 'string', default: 'scim:read scim:write' },
      ttl: { type: 'string', default: '90d' },
      subject: { type: 'string' },
      'private-key': { type: 'string' },
      algorithm: { type: 'string' },
      roles: { type: 'string' },
      client: { type: 'string' },
    },
  });
  const config = loadConfig(process.env);
  const algorithm = values.algorithm as 'HS256' | 'RS256' | 'ES256' | undefined;
  if (algorithm && !['HS256', 'RS256', 'ES256'].includes(algorithm)) throw new Error('--algorithm must be HS256, RS256 or ES256');
  const token = await mintToken(config.jwt, {
    scope: values.scope!,
    ttlSeconds: parseTtl(values.ttl!),
    subject: values.subject,
    privateKey: values['private-key'] ? readFileSync(values['private-key'], 'utf8') : undefined,
    algorithm,
    roles: values.roles?.split(/[\s,]+/).filter((r) => r !== ''),
    clientId: values.client,
  });
  process.stdout.write(token + '\n');
}

main().catch((err) => {
  process.stderr.write(`token: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
