/**
 * The process: reads the environment (the only place that does), builds the app, listens, and closes gracefully
 * on SIGINT/SIGTERM (lifecycle.ts).
 */
import { buildApp, StartRefused } from './app';
import { SchemaFileError } from './scim/schema-check';
import { ConfigError, loadConfig, Config } from './config';
import { mintToken } from './cli/mint';
import { withProcessKeys } from './dev-key';
import { LmdbStore } from './store/lmdb';
import { resolve } from 'node:path';
import { closeOnSignals } from './lifecycle';
import prettyLines from 'pino-pretty';

async function main(): Promise<void> {
  // A standard output or error that was closed (`npm start | head`) is no reason to stop serving, nor to stop
  // shutting down: what would have been written there is dropped. (The log destinations, pino's and pino-pretty's,
  // drop their lines likewise.)
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
    });
  }
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

  const keys = withProcessKeys(config);
  config = keys.config;
  const devToken = keys.devKeyNote
    ? // The developer trying the server is its administrator: every section, the audit trail (service/access.ts).
      await mintToken(config.jwt, { scope: 'scim:read scim:write', ttlSeconds: 24 * 3600, subject: 'dev', roles: ['globalAdmin'] })
    : undefined;

  // Readable lines for a person at a terminal, JSON for everything else (a log shipper reads one object a line).
  // Pretty lines are formatted on this thread, not by a pino transport: a transport's worker thread dies with a
  // closed standard output, and the exit that follows then waits for it to drain what it never will.
  const pretty = config.operations.logPretty ?? (process.stdout.isTTY === true && !config.production);
  const app = await buildApp({
    config,
    logger: pretty
      ? { level: config.logLevel, stream: prettyLines({ translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' }) }
      : { level: config.logLevel },
  });
  if (app.store instanceof LmdbStore) {
    const { records, bytes } = app.store.stats();
    app.log.info(
      { dataDir: resolve(app.store.path), records, bytes },
      `No MONGODB_URI set: using the embedded store; data lives in ${resolve(app.store.path)} (${records} records, ${(bytes / 1048576).toFixed(1)} MB)`,
    );
  }
  if (keys.cursorNote) app.log.warn(keys.cursorNote);
  await app.listen({ port: config.port, host: config.host });
  if (devToken) {
    process.stdout.write(
      [
        '',
        `No SCIM_JWT_SECRET or SCIM_JWT_PUBLIC_KEY set: ${keys.devKeyNote}.`,
        'Bearer token (scopes scim:read scim:write, role globalAdmin, valid 24h):',
        '',
        `  ${devToken}`,
        '',
        `Try: curl -H "Authorization: Bearer <token>" http://localhost:${config.port}/scim/v2/Users`,
        '',
      ].join('\n'),
    );
  }

  closeOnSignals(app, config.operations.shutdownGraceMs);
}

main().catch((err) => {
  // A schema file or stored data the operator must fix: the message names the place; a stack would bury it.
  const plain = err instanceof SchemaFileError || err instanceof StartRefused;
  process.stderr.write(`scim-server: failed to start: ${err instanceof Error ? (plain ? err.message : err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
