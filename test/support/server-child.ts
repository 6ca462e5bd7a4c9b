/**
 * A server process for the tests that need real processes (kill -9, two processes on one data directory): builds
 * the app from the environment as server.ts does, listens on a free loopback port and prints `listening <port>`,
 * and shuts down on SIGTERM as server.ts does.
 * Run with the test's own loaders: spawn(process.execPath, [...process.execArgv, this file]).
 */
import { buildApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { closeOnSignals } from '../../src/lifecycle';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const app = await buildApp({ config });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : 0}\n`);
  closeOnSignals(app, config.operations.shutdownGraceMs);
}

main().catch((e) => {
  process.stderr.write(`server-child: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
