'use strict';
/**
 * Starts FerretDB (a MongoDB wire-protocol server on SQLite) for the MongoDB store tests. Plain CommonJS so that
 * both test/run-tap.js (plain node) and the TypeScript tests (through ferretdb.d.ts) use this one implementation.
 *
 * The binary is FERRETDB_BIN or <repo>/.tools/bin/ferretdb, built by scripts/install-ferretdb.sh (a plain
 * `go install` build panics at start-up: see that script).
 */
const { spawn, spawnSync } = require('node:child_process');
const { existsSync, mkdtempSync, rmSync } = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { setTimeout: sleep } = require('node:timers/promises');

const ROOT = path.resolve(__dirname, '..', '..');
const INSTALL_SCRIPT = path.join(ROOT, 'scripts', 'install-ferretdb.sh');
const START_TIMEOUT_MS = 20000;

/** @returns {string} where the FerretDB binary is expected */
function ferretdbBinary() {
  return process.env.FERRETDB_BIN || path.join(ROOT, '.tools', 'bin', 'ferretdb');
}

/** @param {string} cmd @returns {boolean} */
function onPath(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Finds the binary, building it with scripts/install-ferretdb.sh when it is missing and Go is installed.
 * @returns {{ bin: string } | { reason: string }}
 */
function locateFerretDB() {
  const bin = ferretdbBinary();
  if (existsSync(bin)) return { bin };
  if (process.env.FERRETDB_BIN) return { reason: `FERRETDB_BIN=${bin} does not exist` };
  if (!onPath('go')) return { reason: `${bin} is missing and Go is not installed to build it (scripts/install-ferretdb.sh)` };
  console.error(`building FerretDB with ${path.relative(ROOT, INSTALL_SCRIPT)} ...`);
  const built = spawnSync('bash', [INSTALL_SCRIPT], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (built.status !== 0 || !existsSync(bin)) return { reason: `scripts/install-ferretdb.sh failed (exit ${built.status})` };
  return { bin };
}

/** @returns {Promise<number>} a TCP port that was free a moment ago */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** @param {number} port @returns {Promise<boolean>} */
function accepts(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/**
 * @param {import('node:child_process').ChildProcess} child
 * @returns {Promise<void>}
 */
function exited(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Starts FerretDB on a free port (or `options.port`) with its data in a fresh temporary directory (or
 * `options.dataDir`, which then survives `stop()`, so a test can restart the same database).
 * @param {{ port?: number; dataDir?: string; bin?: string }} [options]
 * @returns {Promise<{ uri: string; port: number; dataDir: string; stop(): Promise<void> }>}
 */
async function startFerretDB(options = {}) {
  const bin = options.bin || ferretdbBinary();
  if (!existsSync(bin)) throw new Error(`FerretDB binary not found at ${bin}; run scripts/install-ferretdb.sh`);
  const ownDir = !options.dataDir;
  const dataDir = options.dataDir || mkdtempSync(path.join(os.tmpdir(), 'scim-ferretdb-'));
  const port = options.port || (await freePort());
  const child = spawn(
    bin,
    [
      '--handler=sqlite',
      `--sqlite-url=file:${dataDir}/`,
      `--listen-addr=127.0.0.1:${port}`,
      '--telemetry=disable',
      `--state-dir=${dataDir}`,
      '--log-level=error',
      // The debug HTTP listener defaults to 127.0.0.1:8088, which a second instance cannot bind: off.
      '--debug-addr=-',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.on('error', (e) => {
    stderr += `${e.message}\n`;
  });
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killed = await Promise.race([exited(child).then(() => true), sleep(5000).then(() => false)]);
      if (!killed) {
        child.kill('SIGKILL');
        await exited(child);
      }
    }
    if (ownDir) rmSync(dataDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await accepts(port))) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`FerretDB did not start on port ${port}: ${stderr.trim() || 'no output'}`);
    }
    await sleep(50);
  }
  return { uri: `mongodb://127.0.0.1:${port}/`, port, dataDir, stop };
}

module.exports = { ferretdbBinary, freePort, locateFerretDB, startFerretDB };
