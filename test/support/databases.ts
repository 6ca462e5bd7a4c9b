/**
 * Databases for the tests of a database going wrong: an app whose MongoDB sits behind a proxy that can freeze or
 * cut its connections (any MONGODB_URI with one host), and a FerretDB of a test's own, to stop or kill.
 */
import type { Test } from 'tap';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { mintToken } from '../../src/cli/mint';
import { MongoStore } from '../../src/store/mongo';
import { SECRET } from '../helper';
import { startFreezableProxy, type FreezableProxy } from './freezable-proxy';
import { locateFerretDB } from './ferretdb';

/** An app on MONGODB_URI's database `scim_<name>_<pid>` through a proxy; closed, and its database dropped, at teardown. */
export async function appBehindProxy(
  t: Test,
  target: { host: string; port: number },
  name: string,
  env: Record<string, string> = {},
): Promise<{ app: FastifyInstance; proxy: FreezableProxy; auth: { authorization: string }; config: ReturnType<typeof loadConfig> }> {
  const proxy = await startFreezableProxy(target);
  const config = loadConfig({
    SCIM_JWT_SECRET: SECRET,
    MONGODB_URI: `mongodb://127.0.0.1:${proxy.port}/?directConnection=true&serverSelectionTimeoutMS=2000`,
    MONGODB_DB: `scim_${name}_${process.pid}`,
    SCIM_MAX_EVENT_LOOP_DELAY_MS: '0',
    ...env,
  });
  const app = await buildApp({ config });
  t.teardown(async () => {
    proxy.thaw();
    if (app.store instanceof MongoStore) await app.store.client.db(config.mongodbDb).dropDatabase().catch(() => undefined);
    await app.close();
    await proxy.close();
  });
  const auth = { authorization: `Bearer ${await mintToken(config.jwt, { scope: 'scim:read scim:write', ttlSeconds: 600 })}` };
  return { app, proxy, auth, config };
}

/**
 * The FerretDB binary a test starts a database of its own with. Without one the test `what` is passed as skipped
 * (failed in CI, where the MongoDB run is mandatory), and undefined is returned.
 */
export function ownTestDatabase(t: Test, what: string): string | undefined {
  const found = locateFerretDB();
  if ('bin' in found) return found.bin;
  if (process.env.CI === 'true') t.fail(`FerretDB is required in CI: ${found.reason}`);
  else t.pass(what, { skip: `no FerretDB: ${found.reason}` });
  return undefined;
}
