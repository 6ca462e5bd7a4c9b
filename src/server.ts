/**
 * The process: reads the environment (the only place that does), builds the app, listens, and closes gracefully
 * on SIGINT/SIGTERM.
 */
import { randomBytes } from 'node:crypto';
import { buildApp } from './app';
import { ConfigError, loadConfig, Config } from './config';
import { mintToken } from './cli/mint';
import { developmentKey } from './dev-key';
import { LmdbStore } from './store/lmdb';
import { resolve } from 'node:path';

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`scim-server: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }

  let devToken: string | undefined;
  let devKeyNote = '';
  if (!config.jwt.secret && !config.jwt.publicKey) {
    // Development only (production refuses to start without a key, see config.ts): a secret and a token to paste,
    // so `npm start` is usable at once. With the embedded store the secret is kept with the data, so tokens survive
    // a restart; with MongoDB there is no local data, and a fresh secret is made per start.
    if (config.mongodbUri) {
      config = { ...config, jwt: { ...config.jwt, secret: randomBytes(32).toString('base64url') } };
      devKeyNote = 'generated a development key for this run';
    } else {
      const key = developmentKey(config.dataDir);
      config = { ...config, jwt: { ...config.jwt, secret: key.secret } };
      devKeyNote = `${key.created ? 'generated' : 'using'} the development key kept in ${resolve(key.file)}`;
    }
    devToken = await mintToken(config.jwt, { scope: 'scim:read scim:write', ttlSeconds: 24 * 3600, subject: 'dev' });
  }

  const app = await buildApp({
    config,
    logger: { level: config.logLevel },
  });
  if (app.store instanceof LmdbStore) {
    const { records, bytes } = app.store.stats();
    app.log.info(
      { dataDir: resolve(app.store.path), records, bytes },
      `No MONGODB_URI set: using the embedded store; data lives in ${resolve(app.store.path)} (${records} records, ${(bytes / 1048576).toFixed(1)} MB)`,
    );
  }
  await app.listen({ port: config.port, host: config.host });
  if (devToken) {
    process.stdout.write(
      [
        '',
        `No SCIM_JWT_SECRET or SCIM_JWT_PUBLIC_KEY set: ${devKeyNote}.`,
        'Bearer token (scopes scim:read scim:write, valid 24h):',
        '',
        `  ${devToken}`,
        '',
        `Try: curl -H "Authorization: Bearer <token>" http://localhost:${config.port}/scim/v2/Users`,
        '',
      ].join('\n'),
    );
  }

  let closing = false;
  const close = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    try {
      await app.close();
      process.exit(0);
    } catch (err) {
      app.log.error({ err }, 'error while closing');
      process.exit(1);
    }
  };
  process.on('SIGINT', () => void close('SIGINT'));
  process.on('SIGTERM', () => void close('SIGTERM'));
}

main().catch((err) => {
  process.stderr.write(`scim-server: failed to start: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
