'use strict';
/**
 * Starts the test database of the MongoDB store: a private PostgreSQL 15 cluster with the DocumentDB extension and
 * FerretDB 2.5 in front of it (the MongoDB wire protocol), on free loopback ports. Plain CommonJS so that
 * test/run-tap.js (plain node), the TypeScript tests and bench/ (through ferretdb.d.ts) share this one
 * implementation. scripts/install-test-db.sh installs the engine (once per machine) and runs `node
 * test/support/ferretdb.js check`.
 *
 * Machine-level locations (see scripts/install-test-db.sh):
 *   SCIM_TESTDB_HOME  /opt/scim-testdb as root, else ${XDG_CACHE_HOME:-~/.cache}/scim-testdb; holds bin/ferretdb
 *                     and template-<key>/, a cluster with the extension created, copied by each start (initdb and
 *                     CREATE EXTENSION take seconds, a copy a fraction of one)
 *   FERRETDB_BIN      the FerretDB 2.5 binary (default $SCIM_TESTDB_HOME/bin/ferretdb)
 *   SCIM_TESTDB_PGBIN PostgreSQL 15's bin directory (default /usr/lib/postgresql/15/bin); SCIM_TESTDB_PGSHARE its
 *                     share directory (default /usr/share/postgresql/15)
 *
 * An instance lives in one directory: pgdata/ (the cluster), state/ (FerretDB's), run/ (PostgreSQL's socket and
 * the logs). PostgreSQL listens on a Unix socket only, so only FerretDB needs a TCP port. PostgreSQL refuses to
 * run as root; as root it runs as the `postgres` user.
 */
const { spawn, spawnSync } = require('node:child_process');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { setInterval } = require('node:timers');
const { setTimeout: sleep } = require('node:timers/promises');

const ROOT = path.resolve(__dirname, '..', '..');
const INSTALL_SCRIPT = path.join(ROOT, 'scripts', 'install-test-db.sh');
const PGBIN = process.env.SCIM_TESTDB_PGBIN || '/usr/lib/postgresql/15/bin';
const PGSHARE = process.env.SCIM_TESTDB_PGSHARE || '/usr/share/postgresql/15';
const PG_SOCKET_PORT = 5432; // names the socket file in the instance's own directory; no TCP port
const START_TIMEOUT_MS = 60000;

/**
 * The cluster's postgresql.conf additions: what FerretDB 2.5 needs from DocumentDB (as shared/documentdb's
 * ferretdb-stack.sh sets it), and durability traded for speed (a test database is thrown away). With 1 MB WAL
 * segments (initdb --wal-segsize=1) and little WAL kept, a copy of the template is about half as big.
 */
const CLUSTER_CONF = `
shared_preload_libraries = 'pg_cron,pg_documentdb_core,pg_documentdb'
cron.database_name = 'postgres'
documentdb.enableCompact = true
documentdb.enableLetAndCollationForQueryMatch = true
documentdb.enableNowSystemVariable = true
documentdb.enableSortbyIdPushDownToPrimaryKey = true
documentdb.enableSchemaValidation = true
documentdb.enableBypassDocumentValidation = true
documentdb.enableUserCrud = true
documentdb.maxUserLimit = 100
documentdb_core.enableCollation = true
documentdb.useNewElemMatchIndexPushdown = true
documentdb.defaultUseCompositeOpClass = true
listen_addresses = ''
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
logging_collector = off
# DocumentDB enforces unique indexes with exclusion constraints, and concurrent inserts of one value then deadlock
# (the store retries the loser): find those in 0.1 s rather than PostgreSQL's default 1 s.
deadlock_timeout = 100ms
wal_level = minimal
max_wal_senders = 0
min_wal_size = 2MB
`;

/** @returns {string} machine-level state: bin/ferretdb and the cluster templates */
function testdbHome() {
  if (process.env.SCIM_TESTDB_HOME) return process.env.SCIM_TESTDB_HOME;
  if (process.getuid && process.getuid() === 0) return '/opt/scim-testdb';
  return path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'scim-testdb');
}

/** @returns {string} where the FerretDB 2.5 binary is expected */
function ferretdbBinary() {
  return process.env.FERRETDB_BIN || path.join(testdbHome(), 'bin', 'ferretdb');
}

/** @returns {string[]} what of the engine is missing (PostgreSQL 15 and its extensions) */
function missingEngine() {
  const wanted = [
    path.join(PGBIN, 'postgres'),
    path.join(PGBIN, 'initdb'),
    path.join(PGBIN, '..', 'lib', 'pg_documentdb.so'),
    path.join(PGSHARE, 'extension', 'documentdb.control'),
  ];
  return wanted.filter((f) => !fs.existsSync(f));
}

/**
 * Finds the engine, installing it with scripts/install-test-db.sh when something is missing (that script says
 * what to provide when it cannot).
 * @returns {{ bin: string } | { reason: string }}
 */
function locateFerretDB() {
  const bin = ferretdbBinary();
  const missing = () => [...missingEngine(), ...(fs.existsSync(bin) ? [] : [bin])];
  if (missing().length === 0) return { bin };
  if (process.env.FERRETDB_BIN && !fs.existsSync(bin)) return { reason: `FERRETDB_BIN=${bin} does not exist` };
  console.error(`installing the test database with ${path.relative(ROOT, INSTALL_SCRIPT)} (missing: ${missing().join(', ')}) ...`);
  // Its output goes to stderr: stdout may be the URI that `serve` prints.
  const built = spawnSync('bash', [INSTALL_SCRIPT], { stdio: ['ignore', 2, 2] });
  if (built.status !== 0 || missing().length > 0) {
    return { reason: `scripts/install-test-db.sh failed (exit ${built.status}); missing: ${missing().join(', ')}` };
  }
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

/** @param {import('node:child_process').ChildProcess} child @returns {boolean} */
function running(child) {
  return child.exitCode === null && child.signalCode === null;
}

/** @param {import('node:child_process').ChildProcess} child @returns {Promise<void>} */
function exited(child) {
  if (!running(child)) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Signals `soft`, then `hard` after `graceMs`; resolves once the process is gone. */
async function stopChild(
  /** @type {import('node:child_process').ChildProcess} */ child,
  /** @type {NodeJS.Signals} */ soft,
  /** @type {NodeJS.Signals} */ hard,
  graceMs = 10000,
) {
  if (!running(child)) return;
  child.kill(soft);
  const gone = await Promise.race([exited(child).then(() => true), sleep(graceMs, undefined, { ref: false }).then(() => false)]);
  if (!gone) {
    child.kill(hard);
    await exited(child);
  }
}

/** @returns {{ uid: number; gid: number } | undefined} whom PostgreSQL runs as: `postgres` when we are root */
function pgUser() {
  if (!process.getuid || process.getuid() !== 0) return undefined;
  const id = (/** @type {string} */ flag) => {
    const out = spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' });
    if (out.status !== 0) throw new Error('running as root, but there is no `postgres` user to run PostgreSQL as');
    return Number(out.stdout.trim());
  };
  return { uid: id('-u'), gid: id('-g') };
}

/** Runs a PostgreSQL program to completion as the PostgreSQL user; throws with its output on failure. */
function pgRun(/** @type {string} */ program, /** @type {string[]} */ args, /** @type {ReturnType<typeof pgUser>} */ user) {
  const out = spawnSync(path.join(PGBIN, program), args, { encoding: 'utf8', ...(user || {}) });
  if (out.status !== 0) throw new Error(`${program} ${args.join(' ')} failed: ${(out.stderr || out.stdout || String(out.error)).trim()}`);
  return out.stdout;
}

/** Makes `dir` (created when missing) belong to the PostgreSQL user. */
function ownedByPg(/** @type {string} */ dir, /** @type {ReturnType<typeof pgUser>} */ user, mode = 0o700) {
  fs.mkdirSync(dir, { recursive: true, mode });
  if (user) fs.chownSync(dir, user.uid, user.gid);
  fs.chmodSync(dir, mode);
}

/**
 * Starts PostgreSQL on `pgdata` (socket in `runDir`) and resolves once it accepts connections (postmaster.pid says
 * "ready").
 * @returns {Promise<import('node:child_process').ChildProcess>}
 */
async function startPostgres(/** @type {string} */ pgdata, /** @type {string} */ runDir, /** @type {ReturnType<typeof pgUser>} */ user) {
  const log = fs.openSync(path.join(runDir, 'postgres.log'), 'a');
  const child = spawn(
    path.join(PGBIN, 'postgres'),
    [
      ...['-D', pgdata, '-p', String(PG_SOCKET_PORT), '-k', runDir],
      // pg_cron's jobs and DocumentDB (which creates a collection on first insert over a connection of its own)
      // connect back to the server: through the socket, as there is no TCP listener.
      ...['-c', `cron.host=${runDir}`, '-c', `documentdb.localhost_connection_string=host=${runDir}`],
    ],
    { stdio: ['ignore', log, log], ...(user || {}) },
  );
  fs.closeSync(log);
  let spawnError = '';
  child.on('error', (e) => {
    spawnError = e.message;
  });
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    let status = '';
    try {
      status = (fs.readFileSync(path.join(pgdata, 'postmaster.pid'), 'utf8').split('\n')[7] || '').trim();
    } catch {
      // not written yet
    }
    if (status === 'ready' && running(child)) return child;
    if (!running(child) || spawnError || Date.now() > deadline) {
      await stopChild(child, 'SIGINT', 'SIGKILL');
      let tail = '';
      try {
        tail = fs.readFileSync(path.join(runDir, 'postgres.log'), 'utf8').slice(-2000);
      } catch {
        // no log
      }
      throw new Error(`PostgreSQL did not start on ${pgdata}: ${spawnError || tail.trim() || 'no output'}`);
    }
    await sleep(20);
  }
}

/**
 * A fresh cluster with the DocumentDB extension created: initdb, our settings, start, CREATE EXTENSION, stop.
 * @returns {Promise<void>}
 */
async function initCluster(/** @type {string} */ pgdata, /** @type {string} */ runDir, /** @type {ReturnType<typeof pgUser>} */ user) {
  ownedByPg(pgdata, user);
  pgRun('initdb', ['-D', pgdata, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C.UTF-8', '--no-sync', '--wal-segsize=1'], user);
  fs.appendFileSync(path.join(pgdata, 'postgresql.conf'), CLUSTER_CONF);
  const pg = await startPostgres(pgdata, runDir, user);
  try {
    pgRun(
      'psql',
      ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', runDir, '-p', String(PG_SOCKET_PORT), '-U', 'postgres', '-d', 'postgres',
        '-c', 'SET client_min_messages = warning', '-c', 'CREATE EXTENSION IF NOT EXISTS documentdb CASCADE'],
      undefined,
    );
  } finally {
    await stopChild(pg, 'SIGINT', 'SIGQUIT');
  }
}

/** @returns {string} identifies what a template was made from: PostgreSQL, the extension build and our settings */
function templateKey() {
  const hash = createHash('sha256');
  hash.update(pgRun('postgres', ['--version'], undefined));
  for (const f of [path.join(PGBIN, '..', 'lib', 'pg_documentdb.so'), path.join(PGBIN, '..', 'lib', 'pg_documentdb_core.so')]) {
    const st = fs.statSync(f);
    hash.update(`${f}:${st.size}:${st.mtimeMs}`);
  }
  hash.update(CLUSTER_CONF);
  return hash.digest('hex').slice(0, 16);
}

/**
 * The cluster template under SCIM_TESTDB_HOME, made on first use. Concurrent makers each build their own and
 * rename it into place; one rename wins. Undefined when SCIM_TESTDB_HOME is not writable.
 * @returns {Promise<string | undefined>}
 */
async function clusterTemplate(/** @type {ReturnType<typeof pgUser>} */ user) {
  const home = testdbHome();
  const template = path.join(home, `template-${templateKey()}`);
  if (fs.existsSync(path.join(template, 'PG_VERSION'))) return template;
  let scratch;
  try {
    fs.mkdirSync(home, { recursive: true });
    scratch = fs.mkdtempSync(path.join(home, '.making-'));
  } catch {
    return undefined;
  }
  try {
    fs.chmodSync(scratch, 0o711);
    const pgdata = path.join(scratch, 'pgdata');
    const runDir = path.join(scratch, 'run');
    ownedByPg(runDir, user);
    await initCluster(pgdata, runDir, user);
    try {
      fs.renameSync(pgdata, template);
    } catch (e) {
      if (!fs.existsSync(path.join(template, 'PG_VERSION'))) throw e;
    }
    // Old templates (another PostgreSQL, extension build or settings) are of no further use.
    for (const name of fs.readdirSync(home)) {
      if (name.startsWith('template-') && path.join(home, name) !== template) fs.rmSync(path.join(home, name), { recursive: true, force: true });
    }
    return template;
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/** Every instance this process started, stopped at once if the process exits without stopping them. */
/** @type {Set<() => void>} */
const onExit = new Set();
process.on('exit', () => {
  for (const kill of onExit) kill();
});

/**
 * Starts PostgreSQL + FerretDB with the data in a fresh temporary directory (or `options.dataDir`, which then
 * survives `stop()`, so a test can restart the same database) and FerretDB on a free port (or `options.port`).
 * @param {{ port?: number; dataDir?: string; bin?: string }} [options]
 * @returns {Promise<{ uri: string; port: number; dataDir: string; stop(): Promise<void> }>}
 */
async function startFerretDB(options = {}) {
  const bin = options.bin || ferretdbBinary();
  if (!fs.existsSync(bin)) throw new Error(`FerretDB binary not found at ${bin}; run scripts/install-test-db.sh`);
  const missing = missingEngine();
  if (missing.length) throw new Error(`PostgreSQL 15 + DocumentDB not installed (${missing.join(', ')}); run scripts/install-test-db.sh`);
  const user = pgUser();
  const ownDir = !options.dataDir;
  const dataDir = options.dataDir || fs.mkdtempSync(path.join(os.tmpdir(), 'scim-testdb-'));
  fs.mkdirSync(dataDir, { recursive: true });
  /** @type {import('node:child_process').ChildProcess | undefined} */
  let pg;
  /** @type {import('node:child_process').ChildProcess | undefined} */
  let ferret;
  const killNow = () => {
    if (ferret && running(ferret)) ferret.kill('SIGKILL');
    if (pg && running(pg)) pg.kill('SIGQUIT');
  };
  onExit.add(killNow);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (ferret) await stopChild(ferret, 'SIGTERM', 'SIGKILL', 5000);
    if (pg) await stopChild(pg, 'SIGINT', 'SIGQUIT');
    onExit.delete(killNow);
    if (ownDir) fs.rmSync(dataDir, { recursive: true, force: true });
  };
  /**
   * The database dies at once, as under an OOM killer or a power cut: FerretDB, PostgreSQL and its backends get
   * SIGKILL. What stays is the data directory (removed here if this instance made it).
   */
  const kill = async () => {
    if (stopped) return;
    stopped = true;
    const children = [ferret, pg].filter((c) => c !== undefined && running(c));
    // The backends are the postmaster's children: killed first, so none outlives it.
    if (pg && pg.pid && running(pg)) spawnSync('pkill', ['-KILL', '-P', String(pg.pid)]);
    for (const child of children) child.kill('SIGKILL');
    await Promise.all(children.map(exited));
    onExit.delete(killNow);
    if (ownDir) fs.rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    // The PostgreSQL user must reach into the directory (a mkdtemp directory is root's, mode 0700).
    if (user) fs.chmodSync(dataDir, fs.statSync(dataDir).mode | 0o711);
    const pgdata = path.join(dataDir, 'pgdata');
    const runDir = path.join(dataDir, 'run');
    const stateDir = path.join(dataDir, 'state');
    ownedByPg(runDir, user);
    fs.mkdirSync(stateDir, { recursive: true });
    if (!fs.existsSync(path.join(pgdata, 'PG_VERSION'))) {
      fs.rmSync(pgdata, { recursive: true, force: true });
      const template = await clusterTemplate(user);
      if (template) {
        // cp -a keeps the owner (the postgres user) and the modes PostgreSQL insists on.
        const cp = spawnSync('cp', ['-a', template, pgdata], { encoding: 'utf8' });
        if (cp.status !== 0) throw new Error(`cp -a ${template} ${pgdata} failed: ${cp.stderr.trim()}`);
      } else {
        await initCluster(pgdata, runDir, user);
      }
    }
    pg = await startPostgres(pgdata, runDir, user);

    const fixedPort = options.port;
    for (let attempt = 1; ; attempt++) {
      const port = fixedPort || (await freePort());
      const log = fs.openSync(path.join(runDir, 'ferretdb.log'), 'a');
      const child = spawn(
        bin,
        [
          `--listen-addr=127.0.0.1:${port}`,
          `--postgresql-url=postgres://postgres@/postgres?host=${encodeURIComponent(runDir)}&port=${PG_SOCKET_PORT}`,
          '--no-auth',
          '--telemetry=disable',
          `--state-dir=${stateDir}`,
          '--log-level=error',
          // The debug HTTP listener defaults to 127.0.0.1:8088, which a second instance cannot bind: off.
          '--debug-addr=-',
        ],
        { stdio: ['ignore', log, log] },
      );
      fs.closeSync(log);
      ferret = child;
      let spawnError = '';
      child.on('error', (e) => {
        spawnError = e.message;
      });
      const deadline = Date.now() + START_TIMEOUT_MS;
      while (!(await accepts(port)) && running(child) && !spawnError && Date.now() < deadline) await sleep(20);
      if (running(child) && !spawnError && (await accepts(port))) return { uri: `mongodb://127.0.0.1:${port}/`, port, dataDir, stop, kill };
      await stopChild(child, 'SIGTERM', 'SIGKILL', 5000);
      // Another process may have taken the port between freePort() and the bind: try another one.
      if (fixedPort || attempt >= 3) {
        let tail = '';
        try {
          tail = fs.readFileSync(path.join(runDir, 'ferretdb.log'), 'utf8').slice(-2000);
        } catch {
          // no log
        }
        throw new Error(`FerretDB did not start on port ${port}: ${spawnError || tail.trim() || 'no output'}`);
      }
    }
  } catch (e) {
    await stop();
    throw e;
  }
}

module.exports = { ferretdbBinary, freePort, locateFerretDB, startFerretDB, testdbHome };

// Command line (plain node, no build step):
//   node test/support/ferretdb.js check   start an instance, run a few commands through it, stop it (what
//                                         scripts/install-test-db.sh ends with; the first run makes the template)
//   node test/support/ferretdb.js serve [--data-dir DIR]
//                                         start an instance, print its mongodb:// URI on stdout, and stop it on
//                                         SIGTERM or SIGINT (.ci/conformance uses this)
if (require.main === module) {
  const [command, ...rest] = process.argv.slice(2);
  if (command === 'check') {
    check().catch(fail);
  } else if (command === 'serve' && (rest.length === 0 || (rest.length === 2 && rest[0] === '--data-dir'))) {
    serve(rest[1]).catch(fail);
  } else {
    console.error('usage: node test/support/ferretdb.js check | serve [--data-dir DIR]');
    process.exit(2);
  }
}

function fail(/** @type {unknown} */ e) {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
}

async function check() {
  const started = Date.now();
  const db = await startFerretDB();
  const up = Date.now() - started;
  try {
    /** @type {typeof import('mongodb') | undefined} */
    let mongodb;
    try {
      mongodb = require('mongodb');
    } catch {
      // before `npm ci`: starting is check enough
    }
    if (mongodb) {
      const client = new mongodb.MongoClient(db.uri, { serverSelectionTimeoutMS: 10000 });
      try {
        const info = await client.db('admin').command({ buildInfo: 1 });
        const users = client.db('check').collection('users');
        await users.createIndex({ name: 1 }, { unique: true });
        await users.insertOne({ name: 'x' });
        if (!(await users.findOne({ name: 'x' }))) throw new Error('inserted document not found');
        console.log(`FerretDB answers at ${db.uri} (reports MongoDB ${info.version}); an indexed insert and find work`);
      } finally {
        await client.close();
      }
    } else {
      console.log(`FerretDB accepts connections at ${db.uri}`);
    }
  } finally {
    await db.stop();
  }
  console.log(`started in ${up} ms`);
}

async function serve(/** @type {string | undefined} */ dataDir) {
  const found = locateFerretDB();
  if ('reason' in found) throw new Error(`no test database: ${found.reason}`);
  const db = await startFerretDB({ bin: found.bin, ...(dataDir ? { dataDir } : {}) });
  const shutdown = () => {
    db.stop().then(
      () => process.exit(0),
      (e) => fail(e),
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  process.stdout.write(`${db.uri}\n`);
  // Keep the event loop alive until a signal arrives.
  setInterval(() => {}, 1 << 30);
}
