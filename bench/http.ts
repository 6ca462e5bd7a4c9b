/**
 * `npm run bench -- http`: the hot path against what Fastify itself can do, side by side in one run.
 *
 * Two processes answer the same shapes of request: the floor (bench/floor.ts, a bare Fastify server with fixed
 * bodies of the same size) and the server (dist/src/server.js, JWT on every request), first on the embedded store,
 * then on MongoDB (the test database unless MONGODB_URI), each seeded with 100,000 users. On the embedded store, a
 * third process, the durable floor (the floor plus one committed, flushed LMDB write per PATCH or POST), runs in the
 * same rounds: the ceiling of any server whose writes are as durable as this one's.
 *
 * The load is wrk's (Debian's package; installed with apt-get when missing and running as root): a process of its
 * own, outside Node, so that the load generator does not take a share of the benchmark's event loop, with one thread
 * (`-t1`) and a fixed number of keep-alive connections (`-c`, 50 by default), closed loop. For each run a few
 * thousand requests of the shape are made up front (random users; for POST, a userName that wrk makes unique per
 * request) and written to a Lua file that bench/wrk.lua sends round and round; any status other than the expected
 * one fails the run; wrk prints req/s, p50 and p99 as one JSON line. Each shape is run against the floor, the server
 * and the durable floor in interleaved rounds after a warm-up, and the medians of the rounds are compared: the
 * server's req/s as a fraction of the floor's and of the durable floor's. The targets of issue 28 (embedded store):
 * GET by id ≥ 0.5x of the floor, PATCH spread over users ≥ 0.5x and POST ≥ 0.7x of the durable floor; the PATCH of
 * one hot user (every request the same user) is measured without a target. On MongoDB the bare driver calls a GET
 * and a PATCH need (findOne; findOne + version-guarded replaceOne) are measured too, at the same concurrency, so the
 * server's p50 can be set against the database's own cost. The server's memory is read from /proc after the run;
 * `--soak` drives GET and PATCH in turn with wrk too, reading it every 10 s.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { accessSync, constants as fsConstants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { mintToken } from '../src/cli/mint';
import { SchemaRegistry, SCHEMA_URNS } from '../src/scim/schema';
import { collectionName, encodeKey, ResourceDocument } from '../src/store/mongo/document';
import type { JsonObject } from '../src/scim/values';
import { open as openLmdb } from 'lmdb';
import { LMDB_OPTIONS, SUB_DATABASES } from '../src/store/lmdb';
import { rssOf } from './embedded';
import { writeReportSection } from './report';
import { seedStore } from './seed-store';
import { freePort, percentile, ROOT, runLoad, startServer, stopProcess } from './support';

export interface HttpBenchOptions {
  size: number;
  connections: number;
  seconds: number;
  rounds: number;
  /** Seconds of mixed GET and PATCH load on the embedded store after the rounds, sampling the server's memory (0: none). */
  soak: number;
  stores: ('lmdb' | 'mongodb')[];
  /** The request shapes to run (HTTP_SHAPES; all when absent). */
  shapes?: string[];
  mongodbUri?: string;
  report?: string;
  argv: string[];
}

/** Every request shape, in the order the rounds run them. */
export const HTTP_SHAPES = ['get', 'patch', 'post', 'patch-hot', 'group-add-hot', 'filter', 'page'];

export const HTTP_DEFAULTS = { size: 100_000, connections: 50, seconds: 4, rounds: 3, soak: 0, stores: ['lmdb', 'mongodb'] as ('lmdb' | 'mongodb')[] };

const SECRET = 'bench-http-secret-long-enough-for-hs256!!';
const EXT = SCHEMA_URNS.enterpriseUser;
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const DEPARTMENTS = ['Engineering', 'Finance', 'Sales', 'Marketing', 'Support', 'Legal', 'People', 'Operations'];

/**
 * The targets of the hot path (issue 28, embedded store, wrk -c50): the server's req/s as a fraction of the bare
 * floor's (GET by id) or of the durable floor's (PATCH spread over users, POST), of the same run.
 */
const TARGETS: Record<string, { of: 'floor' | 'durable' | 'spread'; min: number; text: string }> = {
  get: { of: 'floor', min: 0.5, text: 'GET by id ≥ 0.5x of the bare floor' },
  patch: { of: 'durable', min: 0.5, text: 'PATCH spread over users ≥ 0.5x of the durable floor' },
  post: { of: 'durable', min: 0.7, text: 'POST ≥ 0.7x of the durable floor' },
  'patch-hot': { of: 'spread', min: 0.5, text: 'PATCH of one hot user ≥ 0.5x of the PATCH spread over users' },
  'group-add-hot': { of: 'spread', min: 0.5, text: 'member adds to one hot group ≥ 0.5x of the PATCH spread over users' },
};

interface Shape {
  key: string;
  label: string;
  method: 'GET' | 'PATCH' | 'POST';
  /** The server's path and body for one request. */
  server(): { path: string; body?: string };
  /** The floor's path (the body is the server's). */
  floor: string;
  /** The durable floor's path, for the writes on the embedded store. */
  durable?: () => string;
  status: number;
}

interface Measured {
  rps: number;
  p50: number;
  p99: number;
}

/** How many requests of each kind wrk is given per run: it sends them in order, round and round. */
const WRK_REQUESTS = 4000;
/** In a body, replaced by wrk with a text unique to the request (bench/wrk.lua): a POST's userName and email. */
const UNIQUE = '{{unique}}';
const WRK_SCRIPT = path.join(ROOT, 'bench', 'wrk.lua');

/** A Lua string literal of `s` (its UTF-8 bytes; controls and non-ASCII as decimal escapes). */
function lua(s: string): string {
  let out = '"';
  for (const byte of Buffer.from(s, 'utf8')) {
    if (byte === 0x22 || byte === 0x5c) out += `\\${String.fromCharCode(byte)}`;
    else out += byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : `\\${String(byte).padStart(3, '0')}`;
  }
  return `${out}"`;
}

function onPath(bin: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const file = path.join(dir, bin);
    try {
      accessSync(file, fsConstants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The wrk binary: on PATH, or installed from Debian's package when missing and this runs as root. */
export function ensureWrk(log: (s: string) => void): string {
  const found = onPath('wrk');
  if (found) return found;
  if (process.getuid?.() !== 0) {
    throw new Error('wrk is not installed and this is not root: install it (Debian/Ubuntu: `sudo apt-get install -y wrk`) and run the benchmark again');
  }
  const apt = (args: string[]) => spawnSync('apt-get', args, { stdio: ['ignore', 2, 2], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0;
  log('bench: wrk is not installed; installing it: apt-get install -y wrk');
  if (!apt(['install', '-y', 'wrk'])) {
    log('bench: apt-get install failed; apt-get update, then again');
    if (!apt(['update']) || !apt(['install', '-y', 'wrk'])) throw new Error('wrk is not installed and `apt-get install -y wrk` failed: install wrk and run the benchmark again');
  }
  const installed = onPath('wrk');
  if (!installed) throw new Error('apt-get installed wrk, but it is not on PATH');
  return installed;
}

/** What wrk is to send: requests from `next` (a few thousand, made up front), each answered with `status`. */
interface Load {
  method: string;
  next: () => { path: string; body?: string };
  status: number;
}

/**
 * One contestant driven for `seconds` by wrk (one thread, `connections` keep-alive connections, closed loop), from
 * requests written to a Lua file in `dir` and sent round and round by bench/wrk.lua. Any response of another status,
 * any socket error or timeout fails the run.
 */
async function wrk(bin: string, dir: string, base: string, loads: Load[], headers: Record<string, string>, seconds: number, connections: number): Promise<Measured & { requests: number }> {
  const status = loads[0]!.status;
  if (loads.some((l) => l.status !== status)) throw new Error('wrk: the loads of one run must expect the same status');
  const entry = (method: string, next: Load['next']) => {
    const { path: p, body } = next();
    const b = body === undefined ? 'false' : body.includes(UNIQUE) ? `{ ${body.split(UNIQUE).map(lua).join(', ')} }` : lua(body);
    return `  { ${lua(method)}, ${lua(p)}, ${b} },`;
  };
  // Several loads are interleaved: one request of each in turn.
  const lines: string[] = [];
  for (let i = 0; i < WRK_REQUESTS; i++) for (const l of loads) lines.push(entry(l.method, l.next));
  const file = path.join(dir, 'requests.lua');
  const head = Object.entries(headers)
    .map(([k, v]) => `[${lua(k)}] = ${lua(v)}`)
    .join(', ');
  writeFileSync(file, `return {\n  status = ${status},\n  tag = ${lua(randomUUID())},\n  headers = { ${head} },\n  requests = {\n${lines.join('\n')}\n  },\n}\n`);
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '30s', '-s', WRK_SCRIPT, base, '--', file];
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c) => resolve(c));
  });
  const what = `wrk ${loads.map((l) => l.method).join('+')} ${base}`;
  const line = out
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{"wrk":1'));
  if (code !== 0 || !line) throw new Error(`${what}: exit code ${code}, no result: ${(err || out).trim().slice(-2000)}`);
  const r = JSON.parse(line) as { requests: number; seconds: number; p50: number; p99: number; wrong: number; wrongStatus: number; connect: number; read: number; write: number; timeout: number };
  if (r.wrong + r.connect + r.read + r.write + r.timeout > 0) {
    throw new Error(`${what}: ${r.wrong} of ${r.requests} responses not ${status} (the last: ${r.wrongStatus}); socket errors: ${r.connect} connect, ${r.read} read, ${r.write} write; ${r.timeout} timeouts`);
  }
  if (r.requests === 0) throw new Error(`${what}: no request answered in ${seconds} s`);
  return { rps: r.requests / r.seconds, p50: r.p50, p99: r.p99, requests: r.requests };
}

const median = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 50);

/** The floor; with `durable`, the durable floor over a directory of its own seeded with that many users. */
async function startFloor(durable?: { dir: string; size: number }): Promise<{ base: string; stop(): Promise<void> }> {
  const port = await freePort();
  const extra = durable ? { FLOOR_LMDB_DIR: durable.dir, FLOOR_LMDB_SIZE: String(durable.size) } : {};
  const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'bench', 'floor.js')], { env: { PATH: process.env.PATH ?? '', PORT: String(port), HOST: '127.0.0.1', ...extra }, stdio: ['ignore', 'ignore', 'inherit'] });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(`${base}/floor/Users/x`)).status === 200) return { base, stop: () => stopProcess(child) };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await stopProcess(child);
  throw new Error('the floor did not start');
}

interface StoreResult {
  store: 'lmdb' | 'mongodb';
  rows: { key: string; label: string; floor: Measured; server: Measured; durable?: Measured }[];
  driver?: { get: Measured; patch: Measured };
  /** The embedded store's own floor: bare LMDB calls on the server's data directory, at the same concurrency. */
  bare?: { get: Measured; patch: Measured };
  rss: number;
  anon: number;
  seedSeconds: number;
  /** The server's anonymous memory (MB) sampled every 10 s of the soak, and the requests it served. */
  soak?: { samples: number[]; requests: number };
}

export async function httpBenchmark(options: HttpBenchOptions): Promise<void> {
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const started = Date.now();
  const users = SchemaRegistry.fromDirectory().resourceSchema('User');
  const token = await mintToken({ secret: SECRET }, { scope: 'scim:read scim:write', ttlSeconds: 24 * 3600 });
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' };
  const wrkBin = ensureWrk(log);
  const wrkDir = mkdtempSync(path.join(os.tmpdir(), 'scim-bench-wrk-'));
  const floor = await startFloor();
  const results: StoreResult[] = [];
  try {
    for (const store of options.stores) {
      const cleanups: (() => Promise<void>)[] = [];
      try {
        log(`${store}: seeding ${options.size.toLocaleString('en')} users`);
        const { ids, seconds: seedSeconds, env, mongo } = await seedStore(store, { size: options.size, users, mongodbUri: options.mongodbUri, label: 'http' }, cleanups, log);
        let coll: import('mongodb').Collection<ResourceDocument> | undefined;
        if (mongo) {
          // The bare driver's floor, on the database the server uses.
          const client = new MongoClient(mongo.uri);
          await client.connect();
          cleanups.unshift(async () => client.close());
          coll = client.db(mongo.dbName).collection<ResourceDocument>(collectionName(users));
        }
        // The server logs as `npm start` does (info: a line per request), to /dev/null.
        const server = await startServer({ ...env, SCIM_JWT_SECRET: SECRET, LOG_LEVEL: 'info' });
        cleanups.unshift(() => server.stop());
        // The durable floor (embedded store only): the floor's PATCH and POST plus one committed, flushed LMDB write
        // each, in a directory and a process of its own. What a server that did no SCIM at all would reach.
        let durable: { base: string } | undefined;
        if (store === 'lmdb') {
          const dir = mkdtempSync(path.join(os.tmpdir(), 'scim-bench-durable-'));
          cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
          const started = await startFloor({ dir, size: options.size });
          cleanups.unshift(() => started.stop());
          durable = started;
        }
        let k = 1;
        const next = () => (k = (k * 1103515245 + 12345) % 2147483648) % ids.length;
        const pick = () => ids[next()]!;
        // The embedded seed names users userNNNNNNN (7 digits), the MongoDB seed userNNNNNN (6).
        const userName = (i: number) => `user${String(i).padStart(store === 'lmdb' ? 7 : 6, '0')}`;
        // Each body comes after a next(): the title and department vary from one request to the next, so that
        // successive PATCHes of one user change it.
        const job = () =>
          JSON.stringify({
            schemas: [PATCH_OP],
            Operations: [{ op: 'replace', value: { title: `Title ${k % 97}`, [`${EXT}:department`]: DEPARTMENTS[k % DEPARTMENTS.length] } }],
          });
        // The hot user: every request of the hot shape PATCHes the same one (on the durable floor, record 0).
        const hot = ids[0]!;
        // The hot group: every request of its shape adds a user to it (a user already in it is a change of nothing).
        const created = await fetch(`${server.base}/scim/v2/Groups`, { method: 'POST', headers, body: JSON.stringify({ schemas: [SCHEMA_URNS.group], displayName: 'bench hot group' }) });
        if (created.status !== 201) throw new Error(`POST /Groups answered ${created.status}: ${await created.text()}`);
        const hotGroup = ((await created.json()) as { id: string }).id;
        const shapes: Shape[] = [
          { key: 'get', label: 'GET /Users/{id}', method: 'GET', server: () => ({ path: `/scim/v2/Users/${pick()}` }), floor: '/floor/Users/x', status: 200 },
          { key: 'patch', label: 'PATCH job info (title + enterprise department)', method: 'PATCH', server: () => ({ path: `/scim/v2/Users/${pick()}`, body: job() }), floor: '/floor/Users/x', durable: () => `/durable/Users/${next()}`, status: 200 },
          {
            key: 'post',
            label: 'POST /Users',
            method: 'POST',
            // wrk puts a text unique to each request in place of UNIQUE.
            server: () => ({ path: '/scim/v2/Users', body: JSON.stringify({ schemas: [SCHEMA_URNS.user], userName: `bench-${UNIQUE}`, emails: [{ value: `${UNIQUE}@x.test`, type: 'work' }] }) }),
            floor: '/floor/Users',
            durable: () => '/durable/Users',
            status: 201,
          },
          {
            key: 'patch-hot',
            label: 'PATCH job info of one hot user (every request the same user)',
            method: 'PATCH',
            server: () => {
              next();
              return { path: `/scim/v2/Users/${hot}`, body: job() };
            },
            floor: '/floor/Users/x',
            durable: () => '/durable/Users/0',
            status: 200,
          },
          {
            // Asks for an attribute so that the answer is a 200 with a body, as the floor's is (an answer without one
            // is 204, for Entra ID).
            key: 'group-add-hot',
            label: 'PATCH add a member to one hot group (every request the same group)',
            method: 'PATCH',
            server: () => ({ path: `/scim/v2/Groups/${hotGroup}?attributes=displayName`, body: JSON.stringify({ schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: pick() }] }] }) }),
            floor: '/floor/Users/x',
            durable: () => '/durable/Users/0',
            status: 200,
          },
          {
            key: 'filter',
            label: 'filter userName eq',
            method: 'GET',
            server: () => ({ path: `/scim/v2/Users?filter=${encodeURIComponent(`userName eq "${userName(next())}"`)}` }),
            floor: '/floor/Users?filter=x',
            status: 200,
          },
          { key: 'page', label: 'a page of 100 users', method: 'GET', server: () => ({ path: '/scim/v2/Users?count=100' }), floor: '/floor/Users?count=100', status: 200 },
        ];
        const rows: StoreResult['rows'] = [];
        for (const shape of shapes) {
          if (options.shapes && !options.shapes.includes(shape.key)) continue;
          const f: Measured[] = [];
          const s: Measured[] = [];
          const d: Measured[] = [];
          const drive = (base: string, next: Load['next']) => (seconds: number) => wrk(wrkBin, wrkDir, base, [{ method: shape.method, next, status: shape.status }], headers, seconds, options.connections);
          const runServer = drive(server.base, shape.server);
          const runFloor = drive(floor.base, () => ({ path: shape.floor, body: shape.server().body }));
          const toDurable = durable && shape.durable;
          const runDurable = drive(durable?.base ?? '', () => ({ path: shape.durable!(), body: shape.server().body }));
          // Each round runs every contestant once; the order rotates, so that none always runs on a machine another
          // just warmed or tired. The warm-up is one short run of each, not counted.
          const contestants: [Measured[], (seconds: number) => Promise<Measured>][] = [[f, runFloor], [s, runServer], ...(toDurable ? [[d, runDurable] as [Measured[], (seconds: number) => Promise<Measured>]] : [])];
          for (const [, run] of contestants) await run(1);
          for (let round = 0; round < options.rounds; round++) {
            for (let i = 0; i < contestants.length; i++) {
              const [into, run] = contestants[(round + i) % contestants.length]!;
              into.push(await run(options.seconds));
            }
          }
          const mid = (xs: Measured[]): Measured => ({ rps: median(xs.map((x) => x.rps)), p50: median(xs.map((x) => x.p50)), p99: median(xs.map((x) => x.p99)) });
          rows.push({ key: shape.key, label: shape.label, floor: mid(f), server: mid(s), ...(toDurable ? { durable: mid(d) } : {}) });
          const r = rows[rows.length - 1]!;
          const durableNote = r.durable ? `, durable floor ${r.durable.rps.toFixed(0)}/s (${(r.durable.rps / r.floor.rps).toFixed(2)}x of the floor; server ${(r.server.rps / r.durable.rps).toFixed(2)}x of it)` : '';
          log(`  ${shape.label}: floor ${r.floor.rps.toFixed(0)}/s, server ${r.server.rps.toFixed(0)}/s (${(r.server.rps / r.floor.rps).toFixed(2)}x), p50 ${ms(r.server.p50)} ms${durableNote}`);
        }
        let driver: StoreResult['driver'];
        if (coll) {
          const load = { concurrency: options.connections, warmup: 20, maxRequests: 1e9, seconds: options.seconds, minRequests: 50, slowMs: 1e9, slowRequests: 1, slowBudget: 1 };
          const EXT_KEY = encodeKey(EXT);
          // The resource, as a server that keeps no representation reads it (the view is the server's own shortcut).
          const get = await runLoad(async () => {
            await coll!.findOne({ _id: pick() }, { projection: { q: 0, view: 0 } });
          }, load);
          const patch = await runLoad(async () => {
            const id = pick();
            for (;;) {
              const doc = await coll!.findOne({ _id: id });
              if (!doc) throw new Error(`no user ${id}`);
              const { _id, v, ...rest } = doc;
              rest.res.title = 'Title';
              rest.q.title = 'title';
              (rest.res[EXT_KEY] as JsonObject).department = 'Finance';
              (rest.q[EXT_KEY] as JsonObject).department = 'finance';
              if ((await coll!.replaceOne({ _id, v }, { ...rest, v: v + 1 })).matchedCount === 1) return;
            }
          }, load);
          driver = { get: { rps: get.rps, p50: get.p50, p99: get.p99 }, patch: { rps: patch.rps, p50: patch.p50, p99: patch.p99 } };
          log(`  driver findOne p50 ${get.p50.toFixed(2)} ms, findOne + replaceOne p50 ${patch.p50.toFixed(2)} ms`);
        }
        let bare: StoreResult['bare'];
        if (store === 'lmdb') {
          // What a durable PATCH cannot do without: read the record and commit it back, in a transaction, by the lmdb
          // package from this process (LMDB shares a directory between processes). The value written is the one read,
          // so the server's data is unchanged.
          const lmdb = openLmdb({ path: env.SCIM_DATA_DIR!, ...LMDB_OPTIONS } as Parameters<typeof openLmdb>[0]);
          try {
            const records = lmdb.openDB<unknown, [string, string]>({ name: 'records', ...SUB_DATABASES.records });
            const load = { concurrency: options.connections, warmup: 20, maxRequests: 1e9, seconds: options.seconds, minRequests: 50, slowMs: 1e9, slowRequests: 1, slowBudget: 1 };
            const get = await runLoad(async () => {
              if (records.get(['User', pick()]) === undefined) throw new Error('bare LMDB: no such user');
            }, load);
            const patch = await runLoad(async () => {
              const key: [string, string] = ['User', pick()];
              await lmdb.transaction(() => records.put(key, records.get(key)));
            }, load);
            bare = { get: { rps: get.rps, p50: get.p50, p99: get.p99 }, patch: { rps: patch.rps, p50: patch.p50, p99: patch.p99 } };
            log(`  bare LMDB get ${get.rps.toFixed(0)}/s, get + transaction put ${patch.rps.toFixed(0)}/s (p50 ${patch.p50.toFixed(2)} ms)`);
          } finally {
            await lmdb.close();
          }
        }
        let soak: StoreResult['soak'];
        if (options.soak > 0 && store === 'lmdb') {
          // A leak shows as anonymous memory that keeps growing under steady load; the file pages of the data are the
          // kernel's page cache and are left out.
          const samples = [rssOf(server.pid).anon / 1048576];
          const timer = setInterval(() => samples.push(rssOf(server.pid).anon / 1048576), 10_000);
          const [get, patch] = [shapes[0]!, shapes[1]!];
          // wrk too: GET and PATCH in turn in the stream of requests.
          const result = await wrk(wrkBin, wrkDir, server.base, [get, patch].map((shape) => ({ method: shape.method, next: shape.server, status: shape.status })), headers, options.soak, options.connections).finally(() => clearInterval(timer));
          samples.push(rssOf(server.pid).anon / 1048576);
          soak = { samples, requests: result.requests };
          log(`  soak: ${result.requests} requests; anonymous memory ${samples.map((m) => m.toFixed(0)).join(' ')} MB`);
        }
        const mem = rssOf(server.pid);
        results.push({ store, rows, driver, bare, rss: mem.rss, anon: mem.anon, seedSeconds, soak });
      } finally {
        for (const c of cleanups) await c().catch((e: unknown) => log(`cleanup: ${String(e)}`));
      }
    }
  } finally {
    await floor.stop();
    rmSync(wrkDir, { recursive: true, force: true });
  }
  const report = render(options, results, Date.now() - started);
  process.stdout.write(`${report}\n`);
  if (options.report) writeReportSection(options.report, 'http', `npm run bench -- ${options.argv.join(' ')}`, report);
}

/** Milliseconds of latency as the report prints them. */
const ms = (x: number) => (x < 10 ? x.toFixed(2) : x.toFixed(1));

/** A row's target, its ratio and whether it is met (embedded store only: the targets are set on it). */
function targetOf(store: StoreResult['store'], row: StoreResult['rows'][number], spread?: StoreResult['rows'][number]): { text: string; min: number; ratio: number; met: boolean } | undefined {
  const target = TARGETS[row.key];
  if (!target || (store !== 'lmdb' && target.of !== 'spread')) return undefined;
  const against = target.of === 'floor' ? row.floor : target.of === 'durable' ? row.durable : spread?.server;
  if (!against) return undefined;
  const ratio = row.server.rps / against.rps;
  return { text: target.text, min: target.min, ratio, met: ratio >= target.min };
}

/** The PATCH spread over users, which the hot resources' rows are measured against. */
function spreadOf(r: StoreResult): StoreResult['rows'][number] | undefined {
  return r.rows.find((row) => row.key === 'patch');
}

function render(options: HttpBenchOptions, results: StoreResult[], elapsed: number): string {
  const lines = [
    '## Results',
    '',
    `- Date: ${new Date().toISOString()}`,
    `- Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model.split(' ').slice(0, 2).join(' ') ?? '?'}), Node.js ${process.version}; floor, server, database and load generator on this machine, over loopback; load average at the end ${os.loadavg()[0]!.toFixed(2)}`,
    `- Command: \`npm run bench -- ${options.argv.join(' ')}\``,
    `- ${options.size.toLocaleString('en')} users per store; wrk (\`wrk -t1 -c${options.connections}\`, its own process: one thread, ${options.connections} keep-alive connections, closed loop) sending ${WRK_REQUESTS.toLocaleString('en')} pre-made requests per shape round and round (random users; a unique userName per POST); per request shape a 1 s warm-up of each contestant, then ${options.rounds} rounds of ${options.seconds} s each, floor, server and durable floor interleaved; medians of the rounds`,
    `- Whole run ${(elapsed / 1000).toFixed(0)} s`,
    '',
  ];
  for (const r of results) {
    lines.push(`### ${r.store === 'lmdb' ? 'Embedded store (LMDB)' : 'MongoDB store (the test database unless MONGODB_URI)'}`, '');
    const durable = r.rows.some((row) => row.durable);
    if (durable) {
      lines.push(
        '| request | floor req/s | server req/s | server / floor | target | server p50 ms | server p99 ms | durable floor req/s | durable floor / floor | server / durable floor |',
        '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      );
    } else {
      lines.push('| request | floor req/s | server req/s | server / floor | target | server p50 ms | server p99 ms |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    }
    for (const row of r.rows) {
      const ratio = row.server.rps / row.floor.rps;
      const t = targetOf(r.store, row, spreadOf(r));
      const of = TARGETS[row.key]?.of;
      const mark = !t ? '' : `≥ ${t.min}x of the ${of === 'floor' ? 'floor' : of === 'durable' ? 'durable floor' : 'spread PATCH'}: ${t.met ? 'met' : '**missed**'}`;
      const tail = !durable ? '' : row.durable ? ` ${row.durable.rps.toFixed(0)} | ${(row.durable.rps / row.floor.rps).toFixed(2)}x | ${(row.server.rps / row.durable.rps).toFixed(2)}x |` : ' | | |';
      lines.push(`| ${row.label} | ${row.floor.rps.toFixed(0)} | ${row.server.rps.toFixed(0)} | ${ratio.toFixed(2)}x | ${mark} | ${ms(row.server.p50)} | ${ms(row.server.p99)} |${tail}`);
    }
    const targets = r.rows.map((row) => targetOf(r.store, row, spreadOf(r))).filter((t) => t !== undefined);
    if (targets.length > 0) {
      lines.push('', `Targets (issue 28, wrk -c${options.connections}, this store): ${targets.map((t) => `${t.text}: ${t.met ? 'met' : '**missed**'} (${t.ratio.toFixed(2)}x)`).join('; ')}.`);
    }
    if (durable) {
      lines.push(
        '',
        'The durable floor is the floor plus one committed LMDB write per PATCH or POST (read a user and commit it back; commit a new user), answered once flushed, in a process and directory of its own: what a server that did no SCIM work at all would reach with writes as durable as the server\'s. For the hot user it reads and commits back one and the same record.',
      );
    }
    const get = r.rows.find((x) => x.key === 'get');
    const patch = r.rows.find((x) => x.key === 'patch');
    if (r.driver && get && patch) {
      lines.push(
        '',
        `Bare driver at ${options.connections} concurrent calls: findOne p50 ${r.driver.get.p50.toFixed(2)} ms (${r.driver.get.rps.toFixed(0)}/s), findOne + replaceOne p50 ${r.driver.patch.p50.toFixed(2)} ms (${r.driver.patch.rps.toFixed(0)}/s). Server p50 over the driver's: GET ${(get.server.p50 / r.driver.get.p50).toFixed(2)}x, PATCH ${(patch.server.p50 / r.driver.patch.p50).toFixed(2)}x (target ≤ 1.5x).`,
      );
    }
    if (r.bare && patch && r.rows.some((x) => x.key === 'post')) {
      const row = (k: string) => r.rows.find((x) => x.key === k)!.server.rps;
      lines.push(
        '',
        `Bare LMDB on the server's data directory, ${options.connections} concurrent calls from the benchmark's process: get ${r.bare.get.rps.toFixed(0)}/s; get + put in a committed transaction (the least a durable PATCH does) ${r.bare.patch.rps.toFixed(0)}/s, p50 ${r.bare.patch.p50.toFixed(2)} ms. The server's PATCH is ${(row('patch') / r.bare.patch.rps).toFixed(2)}x and its POST ${(row('post') / r.bare.patch.rps).toFixed(2)}x of that.`,
      );
    }
    lines.push('', `Seeding ${r.seedSeconds.toFixed(1)} s; server RSS after the run ${(r.rss / 1048576).toFixed(0)} MB (its own, anonymous memory ${(r.anon / 1048576).toFixed(0)} MB).`, '');
    if (r.soak) {
      const s = r.soak.samples;
      const settled = s.slice(Math.floor(s.length / 3));
      lines.push(
        `Soak: ${options.soak} s of GET and PATCH in turn in wrk's stream of requests, ${r.soak.requests.toLocaleString('en')} requests; the server's anonymous memory every 10 s: ${s.map((m) => m.toFixed(0)).join(', ')} MB. Drift over the last two thirds: ${(settled[settled.length - 1]! - settled[0]!).toFixed(0)} MB (max ${Math.max(...settled).toFixed(0)} MB).`,
        '',
      );
    }
  }
  return lines.join('\n');
}
