/**
 * `npm run bench -- bulk`: what one RFC 7644 §3.7 Bulk request saves an HR loader that creates users, on the embedded
 * store and on MongoDB (the test database unless MONGODB_URI), each seeded first with 10,000 users so that indexes and
 * unique keys are not empty, behind the built server (dist/src/server.js, JWT on every request, logging at info as
 * `npm start` does) over HTTP on loopback.
 *
 * Three ways of creating 1,000 fresh users (distinct userNames, realistic HR payloads: name, displayName, a work email,
 * title, active and the enterprise extension's employeeNumber, department and costCenter; no password, whose hashing
 * would dominate) are timed end to end, from building the requests to reading the last answer:
 *   - 1,000 POST /Users one after another over one keep-alive connection (what a loader without Bulk does);
 *   - the same with 8 keep-alive connections, each sending its next POST when its previous answer is read;
 *   - one POST /Bulk of 1,000 POST operations; the answer must be 200 with 1,000 operations, each "201" with a location.
 * In every round each runs once on users of its own, the order rotating from round to round, with the floors of the
 * same run in the rotation: a bare Fastify server (bench/floor.ts) answering the same POSTs over the same kind of
 * connections; on the embedded store, the durable floor (the floor plus one committed, flushed LMDB write per POST) and
 * bare LMDB in this process (1,000 committed transactions of one put, one after another, against one transaction of
 * 1,000 puts); on MongoDB, the bare driver (1,000 insertOne one after another, against one insertMany of 1,000).
 * The report gives the medians of the rounds, and the target: 1,000 sequential single POSTs take at least 3x as
 * long as one Bulk of 1,000, on every store measured. The server's Bulk limits are its defaults, or
 * SCIM_BULK_MAX_OPERATIONS / SCIM_BULK_MAX_PAYLOAD_SIZE from the benchmark's environment; a server that answers /Bulk
 * with 501, or advertises limits below the Bulk asked for, stops the benchmark before anything is measured.
 */
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { open as openLmdb } from 'lmdb';
import { MongoClient } from 'mongodb';
import { mintToken } from '../src/cli/mint';
import { SchemaRegistry, SCHEMA_URNS } from '../src/scim/schema';
import { encodeKey } from '../src/store/mongo/document';
import { LMDB_OPTIONS, SUB_DATABASES } from '../src/store/lmdb';
import { rssOf } from './embedded';
import { writeReportSection } from './report';
import { seedStore } from './seed-store';
import { freePort, HttpClient, onInterrupt, percentile, ROOT, startServer, stopProcess } from './support';

export interface BulkBenchOptions {
  /** Users seeded into each store before anything is measured. */
  size: number;
  rounds: number;
  /** Users created per measured run: single POSTs, and operations in the one Bulk request. */
  operations: number;
  /** Keep-alive connections of the concurrent single POSTs. */
  connections: number;
  stores: ('lmdb' | 'mongodb')[];
  mongodbUri?: string;
  /** Exit non-zero when a store misses the target. */
  check: boolean;
  report?: string;
  argv: string[];
}

export const BULK_DEFAULTS = { size: 10_000, rounds: 3, operations: 1000, connections: 8, stores: ['lmdb', 'mongodb'] as ('lmdb' | 'mongodb')[], check: true };

/** Sequential single POSTs over one Bulk request of as many operations. */
const TARGET = 3;
const SECRET = 'bench-bulk-secret-long-enough-for-hs256!!';
const EXT = SCHEMA_URNS.enterpriseUser;
/** Unmeasured users per kind of run before the rounds. */
const WARMUP = 50;

const GIVEN = ['Anna', 'Ben', 'Chiara', 'Dmitri', 'Elif', 'Farid', 'Greta', 'Hiro', 'Ines', 'Jonas', 'Kemal', 'Lea', 'Mateo', 'Nora', 'Olu', 'Priya'];
const FAMILY = ['Andersen', 'Bauer', 'Costa', 'Dubois', 'Eriksen', 'Fischer', 'García', 'Hansen', 'Ivanova', 'Jensen', 'Kowalski', 'López', 'Müller', 'Nakamura', 'Okafor', 'Petrov', 'Rossi'];
const TITLES = ['Software Engineer', 'Senior Accountant', 'Account Executive', 'Support Specialist', 'Product Manager', 'Legal Counsel', 'HR Business Partner', 'Operations Analyst'];
const DEPARTMENTS = ['Engineering', 'Finance', 'Sales', 'Support', 'Product', 'Legal', 'People', 'Operations'];

type User = Record<string, unknown>;

/** The i-th of a run's new hires: a distinct userName, email and employeeNumber under `prefix`. */
function hire(prefix: string, i: number): User {
  const given = GIVEN[i % GIVEN.length]!;
  const family = FAMILY[(i * 7 + 3) % FAMILY.length]!;
  const n = String(i).padStart(5, '0');
  const role = (i * 5) % TITLES.length;
  return {
    schemas: [SCHEMA_URNS.user, EXT],
    userName: `${prefix}-${n}`,
    name: { givenName: given, familyName: family },
    displayName: `${given} ${family}`,
    emails: [{ value: `${given}.${family}.${prefix}-${n}@example.com`.toLowerCase(), type: 'work', primary: true }],
    title: TITLES[role]!,
    active: true,
    [EXT]: { employeeNumber: `${prefix}-E${n}`, department: DEPARTMENTS[role]!, costCenter: `CC-${String(100 + ((i * 13) % 60))}` },
  };
}

const hires = (prefix: string, n: number): User[] => Array.from({ length: n }, (_, i) => hire(prefix, i));

function bulkRequest(users: User[]): unknown {
  return {
    schemas: [SCHEMA_URNS.bulkRequest],
    Operations: users.map((data, i) => ({ method: 'POST', path: '/Users', bulkId: `u${i + 1}`, data })),
  };
}

/** Thrown when the server does not do Bulk (501), or cannot take a Bulk of the size asked for. */
class BulkUnavailable extends Error {}

/** The answer to a Bulk of `n` creates, as RFC 7644 §3.7.3 has it; throws, naming what is wrong, otherwise. */
function checkBulkResponse(res: { status: number; body: string }, n: number): void {
  if (res.status === 501) throw new BulkUnavailable(`POST /scim/v2/Bulk answered 501 Not Implemented: ${res.body.slice(0, 300)}`);
  if (res.status !== 200) throw new Error(`POST /scim/v2/Bulk: expected 200, got ${res.status}: ${res.body.slice(0, 500)}`);
  let body: { schemas?: unknown; Operations?: unknown };
  try {
    body = JSON.parse(res.body) as typeof body;
  } catch {
    throw new Error(`POST /scim/v2/Bulk: the 200 answer is not JSON: ${res.body.slice(0, 300)}`);
  }
  if (!Array.isArray(body.schemas) || !body.schemas.includes(SCHEMA_URNS.bulkResponse)) throw new Error(`POST /scim/v2/Bulk: schemas is not [${SCHEMA_URNS.bulkResponse}]: ${JSON.stringify(body.schemas)}`);
  const ops = body.Operations;
  if (!Array.isArray(ops) || ops.length !== n) throw new Error(`POST /scim/v2/Bulk: expected ${n} Operations in the answer, got ${Array.isArray(ops) ? ops.length : JSON.stringify(ops)?.slice(0, 200)}`);
  const wrong: string[] = [];
  const seen = new Set<string>();
  for (const [i, op] of (ops as { status?: unknown; location?: unknown; bulkId?: unknown }[]).entries()) {
    const problems: string[] = [];
    if (op?.status !== '201') problems.push(`status ${JSON.stringify(op?.status)}`);
    if (typeof op?.location !== 'string' || op.location === '') problems.push('no location');
    if (op?.bulkId !== undefined) {
      if (typeof op.bulkId !== 'string' || !/^u\d+$/.test(op.bulkId) || Number(op.bulkId.slice(1)) > n || seen.has(op.bulkId)) problems.push(`bulkId ${JSON.stringify(op.bulkId)}`);
      else seen.add(op.bulkId);
    }
    if (problems.length > 0) wrong.push(`#${i}: ${problems.join(', ')}: ${JSON.stringify(op).slice(0, 300)}`);
  }
  if (wrong.length > 0) throw new Error(`POST /scim/v2/Bulk: ${wrong.length} of ${n} operations not created as expected, e.g.\n  ${wrong.slice(0, 5).join('\n  ')}`);
}

/** POSTs `users` to `url`, `connections` at a time (1: one after another), each answer read and checked; the wall time in ms. */
async function postAll(client: HttpClient, url: string, users: User[], connections: number): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (next < users.length) {
        const user = users[next++]!;
        const res = await client.request('POST', url, user);
        if (res.status !== 201) throw new Error(`POST ${url}: expected 201, got ${res.status}: ${res.body.slice(0, 300)}`);
      }
    }),
  );
  return performance.now() - t0;
}

/** One Bulk request of `users`, from building it to the whole answer read and checked; the wall time in ms. */
async function postBulk(client: HttpClient, users: User[]): Promise<number> {
  const t0 = performance.now();
  const res = await client.request('POST', '/scim/v2/Bulk', bulkRequest(users));
  checkBulkResponse(res, users.length);
  return performance.now() - t0;
}

/** bench/floor.ts as its own process; with `durable`, the durable floor over a directory seeded with that many users. */
async function startFloor(durable?: { dir: string; size: number }): Promise<{ base: string; stop(): Promise<void> }> {
  const port = await freePort();
  const extra = durable ? { FLOOR_LMDB_DIR: durable.dir, FLOOR_LMDB_SIZE: String(durable.size) } : {};
  const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'bench', 'floor.js')], { env: { PATH: process.env.PATH ?? '', PORT: String(port), HOST: '127.0.0.1', ...extra }, stdio: ['ignore', 'ignore', 'inherit'] });
  const forget = onInterrupt(() => stopProcess(child));
  const stop = async () => {
    forget();
    await stopProcess(child);
  };
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(`${base}/floor/Users/x`)).status === 200) return { base, stop };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error('the floor did not start');
}

interface Contestant {
  key: string;
  run(users: User[]): Promise<number>;
}

/** Row labels of the floors, in report order. */
const FLOOR_ROWS: { key: string; label: string }[] = [
  { key: 'floorSeq', label: 'bare Fastify POST (bench/floor.ts), 1 connection, one after another' },
  { key: 'floorConc', label: 'bare Fastify POST, {c} connections' },
  { key: 'durableSeq', label: 'durable floor POST (Fastify + one committed, flushed LMDB write), 1 connection' },
  { key: 'durableConc', label: 'durable floor POST, {c} connections' },
  { key: 'lmdbSeq', label: 'bare LMDB: {n} committed transactions of one put, one after another' },
  { key: 'lmdbBatch', label: 'bare LMDB: one committed transaction of {n} puts' },
  { key: 'mongoSeq', label: 'bare driver: {n} insertOne, one after another' },
  { key: 'mongoBatch', label: 'bare driver: one insertMany of {n}' },
];

interface StoreResult {
  store: 'lmdb' | 'mongodb';
  /** Wall times in ms of every round, by contestant key (seq, conc, bulk and the floors'). */
  samples: Record<string, number[]>;
  /** Bytes of the Bulk request of the first round, and of its answer. */
  requestBytes: number;
  seedSeconds: number;
  anonMb: number;
  created: number;
}

const median = (xs: readonly number[]) => percentile([...xs].sort((a, b) => a - b), 50);
const gc = () => (globalThis as { gc?: () => void }).gc?.();

export async function bulkBenchmark(options: BulkBenchOptions): Promise<void> {
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const started = Date.now();
  const users = SchemaRegistry.fromDirectory().resourceSchema('User');
  const token = await mintToken({ secret: SECRET }, { scope: 'scim:read scim:write', ttlSeconds: 24 * 3600 });
  const auth = { authorization: `Bearer ${token}` };
  const n = options.operations;
  // One tag per run: every userName this run creates starts with it, so no two runs (nor two rounds) collide.
  const tag = `bk${randomBytes(3).toString('hex')}`;
  const results: StoreResult[] = [];
  const floor = await startFloor();
  try {
    for (const store of options.stores) {
      const cleanups: (() => Promise<void>)[] = [];
      try {
        log(`${store}: seeding ${options.size.toLocaleString('en')} users`);
        const { seconds: seedSeconds, env, mongo } = await seedStore(store, { size: options.size, users, mongodbUri: options.mongodbUri, label: 'bulk' }, cleanups, log);
        // The server's own Bulk limits unless SCIM_BULK_MAX_OPERATIONS / SCIM_BULK_MAX_PAYLOAD_SIZE are set for the run.
        const limits = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => /^SCIM_BULK_/.test(e[0]) && e[1] !== undefined));
        const server = await startServer({ ...env, ...limits, SCIM_JWT_SECRET: SECRET, LOG_LEVEL: 'info' });
        cleanups.unshift(() => server.stop());
        // One client per kind of connection, kept for the whole store so every measured run finds its connections open.
        const one = new HttpClient(server.base, auth, 1);
        const many = new HttpClient(server.base, auth, options.connections);
        const floorOne = new HttpClient(floor.base, {}, 1);
        const floorMany = new HttpClient(floor.base, {}, options.connections);
        cleanups.unshift(async () => [one, many, floorOne, floorMany].forEach((c) => c.close()));

        // Does the server do Bulk, and a Bulk this large? Its ServiceProviderConfig, then a Bulk of one user.
        const spc = await one.request('GET', '/scim/v2/ServiceProviderConfig');
        if (spc.status !== 200) throw new Error(`GET /scim/v2/ServiceProviderConfig: ${spc.status} ${spc.body.slice(0, 300)}`);
        const bulk = (JSON.parse(spc.body) as { bulk?: { supported?: boolean; maxOperations?: number; maxPayloadSize?: number } }).bulk;
        log(`  ServiceProviderConfig bulk: ${JSON.stringify(bulk)}`);
        checkBulkResponse(await one.request('POST', '/scim/v2/Bulk', bulkRequest([hire(`${tag}-probe`, 0)])), 1);
        const requestBytes = Buffer.byteLength(JSON.stringify(bulkRequest(hires(`${tag}-r0-bulk`, n))));
        if (bulk?.maxOperations !== undefined && bulk.maxOperations < n) {
          throw new BulkUnavailable(`the server takes at most ${bulk.maxOperations} operations per Bulk request (ServiceProviderConfig bulk.maxOperations); run with --operations ${bulk.maxOperations} or less, or SCIM_BULK_MAX_OPERATIONS=${n}`);
        }
        if (bulk?.maxPayloadSize !== undefined && bulk.maxPayloadSize < requestBytes) {
          throw new BulkUnavailable(`a Bulk of ${n} users is ${requestBytes} bytes, over the server's bulk.maxPayloadSize of ${bulk.maxPayloadSize}; run with fewer --operations, or a larger SCIM_BULK_MAX_PAYLOAD_SIZE`);
        }

        const contestants: Contestant[] = [
          { key: 'seq', run: (u) => postAll(one, '/scim/v2/Users', u, 1) },
          { key: 'bulk', run: (u) => postBulk(one, u) },
          { key: 'conc', run: (u) => postAll(many, '/scim/v2/Users', u, options.connections) },
          { key: 'floorSeq', run: (u) => postAll(floorOne, '/floor/Users', u, 1) },
          { key: 'floorConc', run: (u) => postAll(floorMany, '/floor/Users', u, options.connections) },
        ];
        if (store === 'lmdb') {
          // The durable floor, in a process and directory of its own seeded like the server's.
          const dir = mkdtempSync(path.join(os.tmpdir(), 'scim-bench-bulk-durable-'));
          cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
          const durable = await startFloor({ dir, size: options.size });
          cleanups.unshift(() => durable.stop());
          const durableOne = new HttpClient(durable.base, {}, 1);
          const durableMany = new HttpClient(durable.base, {}, options.connections);
          cleanups.unshift(async () => [durableOne, durableMany].forEach((c) => c.close()));
          contestants.push({ key: 'durableSeq', run: (u) => postAll(durableOne, '/durable/Users', u, 1) }, { key: 'durableConc', run: (u) => postAll(durableMany, '/durable/Users', u, options.connections) });
          // Bare LMDB from this process, in a directory of its own, with the store's options: what committing each user
          // on its own costs against committing them together.
          const bareDir = mkdtempSync(path.join(os.tmpdir(), 'scim-bench-bulk-lmdb-'));
          cleanups.push(async () => rmSync(bareDir, { recursive: true, force: true }));
          const lmdb = openLmdb({ path: bareDir, ...LMDB_OPTIONS } as Parameters<typeof openLmdb>[0]);
          cleanups.unshift(async () => lmdb.close());
          const records = lmdb.openDB<User, [string, string]>({ name: 'records', ...SUB_DATABASES.records });
          contestants.push(
            {
              key: 'lmdbSeq',
              run: async (u) => {
                const t0 = performance.now();
                for (const user of u) {
                  await lmdb.transaction(() => records.put(['User', randomUUID()], { ...user, id: randomUUID() }));
                  await lmdb.flushed;
                }
                return performance.now() - t0;
              },
            },
            {
              key: 'lmdbBatch',
              run: async (u) => {
                const t0 = performance.now();
                await lmdb.transaction(() => {
                  for (const user of u) records.put(['User', randomUUID()], { ...user, id: randomUUID() });
                });
                await lmdb.flushed;
                return performance.now() - t0;
              },
            },
          );
        }
        if (mongo) {
          // The bare driver on the server's database (a collection of its own): a document per user, the extension's
          // key encoded as the store encodes it (no dots in field names).
          const client = new MongoClient(mongo.uri);
          await client.connect();
          cleanups.unshift(async () => client.close());
          const coll = client.db(mongo.dbName).collection<{ _id: string }>('bench_bulk_floor');
          const doc = (user: User) => {
            const { [EXT]: ext, ...rest } = user;
            return { _id: randomUUID(), ...rest, [encodeKey(EXT)]: ext };
          };
          contestants.push(
            {
              key: 'mongoSeq',
              run: async (u) => {
                const t0 = performance.now();
                for (const user of u) await coll.insertOne(doc(user));
                return performance.now() - t0;
              },
            },
            {
              key: 'mongoBatch',
              run: async (u) => {
                const t0 = performance.now();
                const inserted = await coll.insertMany(u.map(doc));
                if (inserted.insertedCount !== u.length) throw new Error(`insertMany: ${inserted.insertedCount} of ${u.length} inserted`);
                return performance.now() - t0;
              },
            },
          );
        }

        // Warm-up, not measured: every contestant once on a few users (the connections opened, the code paths hot).
        let created = 1;
        for (const c of contestants) {
          await c.run(hires(`${tag}-warm-${c.key}`, WARMUP));
          if (c.key === 'seq' || c.key === 'bulk' || c.key === 'conc') created += WARMUP;
        }
        // The rounds: each contestant once on fresh users, the order rotating so that none always follows the same one.
        const samples: Record<string, number[]> = Object.fromEntries(contestants.map((c) => [c.key, [] as number[]]));
        for (let round = 0; round < options.rounds; round++) {
          const line: string[] = [];
          for (let i = 0; i < contestants.length; i++) {
            const c = contestants[(round + i) % contestants.length]!;
            const batch = hires(`${tag}-r${round}-${c.key}`, n);
            gc();
            const ms = await c.run(batch);
            samples[c.key]!.push(ms);
            if (c.key === 'seq' || c.key === 'bulk' || c.key === 'conc') created += n;
            line.push(`${c.key} ${ms.toFixed(0)}`);
          }
          log(`  round ${round + 1}/${options.rounds} (ms for ${n.toLocaleString('en')} users): ${line.join(', ')}`);
        }
        // Every user the server said it created is there, once.
        const found = await one.request('GET', `/scim/v2/Users?filter=${encodeURIComponent(`userName sw "${tag}"`)}&count=0`);
        const total = (JSON.parse(found.body) as { totalResults?: number }).totalResults;
        if (found.status !== 200 || total !== created) throw new Error(`after the run: ${created} users created, but userName sw "${tag}" finds ${total} (${found.status})`);
        const r: StoreResult = { store, samples, requestBytes, seedSeconds, anonMb: rssOf(server.pid).anon / 1048576, created };
        results.push(r);
        const [seq, conc, bk] = ['seq', 'conc', 'bulk'].map((k) => median(samples[k]!)) as [number, number, number];
        log(`  medians: sequential ${seq.toFixed(0)} ms, ${options.connections} connections ${conc.toFixed(0)} ms, bulk ${bk.toFixed(0)} ms; speedup ${(seq / bk).toFixed(2)}x (${seq / bk >= TARGET ? 'PASS' : 'FAIL'}), ${(conc / bk).toFixed(2)}x over concurrent`);
      } catch (e) {
        if (!(e instanceof BulkUnavailable)) throw e;
        log(`bench bulk: ${store}: ${e.message}; nothing measured, no report written`);
        process.exitCode = 1;
        return;
      } finally {
        for (const c of cleanups) await c().catch((e: unknown) => log(`cleanup: ${String(e)}`));
      }
    }
  } finally {
    await floor.stop();
  }
  const report = render(options, results, Date.now() - started);
  process.stdout.write(`${report}\n`);
  if (options.report) writeReportSection(options.report, 'bulk', `npm run bench -- ${options.argv.join(' ')}`, report);
  for (const r of results) {
    const speedup = median(r.samples.seq!) / median(r.samples.bulk!);
    log(`bench bulk: ${r.store}: sequential singles / bulk ${speedup.toFixed(2)}x: ${speedup >= TARGET ? 'PASS' : 'FAIL'} (target ≥ ${TARGET}x)`);
  }
  const missed = results.filter((r) => median(r.samples.seq!) / median(r.samples.bulk!) < TARGET);
  if (missed.length > 0 && options.check) {
    process.stderr.write(`bench bulk: target missed on ${missed.map((r) => r.store).join(', ')} (--no-check to report without failing)\n`);
    process.exitCode = 1;
  }
}

function render(options: BulkBenchOptions, results: StoreResult[], ms: number): string {
  const n = options.operations;
  const c = options.connections;
  const N = n.toLocaleString('en');
  const ms0 = (x: number) => `${x.toFixed(0)} ms`;
  const per = (x: number) => `${(x / n).toFixed(3)} ms`;
  const storeName = (s: StoreResult['store']) => (s === 'lmdb' ? 'embedded (LMDB)' : 'MongoDB (the test database unless MONGODB_URI)');
  const lines = [
    '## Bulk',
    '',
    `\`npm run bench -- bulk\` (source: \`bench/bulk.ts\`) times what an HR loader pays to create ${N} users without Bulk`,
    `(${N} POST /Users one after another over one keep-alive connection, and over ${c} connections) and with it (one`,
    `POST /Bulk of ${N} POST operations, RFC 7644 §3.7), end to end: from building the requests to the last answer read.`,
    'Every run creates fresh users (distinct userNames: name, displayName, a work email, title, active, the enterprise',
    "extension's employeeNumber, department and costCenter; no password). The Bulk answer is checked: 200, and every",
    'operation "201" with a location; after the rounds a filter counts that every user created is there.',
    '',
    `- Date: ${new Date().toISOString()}`,
    `- Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model.split(' ').slice(0, 2).join(' ') ?? '?'}), Node.js ${process.version}; floor, server, database and client on this machine, over loopback; load average at the end ${os.loadavg()[0]!.toFixed(2)}`,
    `- Command: \`npm run bench -- ${options.argv.join(' ')}\``,
    `- ${options.size.toLocaleString('en')} users seeded per store first; the server logs at info (a line per request, to /dev/null), as \`npm start\` does; one unmeasured run of ${WARMUP} users of each kind, then ${options.rounds} round(s), each running every contestant once on ${N} users of its own, the order rotating from round to round; medians of the rounds`,
    `- Whole run ${(ms / 1000).toFixed(0)} s`,
    '',
    `| store | ${N} single POSTs, 1 connection | ${N} single POSTs, ${c} connections | one Bulk of ${N} | sequential / bulk | concurrent / bulk | target: sequential / bulk ≥ ${TARGET}x |`,
    '| --- | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const r of results) {
    const [seq, conc, bulk] = ['seq', 'conc', 'bulk'].map((k) => median(r.samples[k]!)) as [number, number, number];
    const pass = seq / bulk >= TARGET;
    lines.push(
      `| ${storeName(r.store)} | ${ms0(seq)} (${per(seq)} a user) | ${ms0(conc)} (${per(conc)}) | ${ms0(bulk)} (${per(bulk)}) | ${(seq / bulk).toFixed(2)}x | ${(conc / bulk).toFixed(2)}x | ${pass ? 'PASS' : '**FAIL**'} |`,
    );
  }
  for (const r of results) {
    const [seq, conc, bulk] = ['seq', 'conc', 'bulk'].map((k) => median(r.samples[k]!)) as [number, number, number];
    const m = (k: string) => (r.samples[k] ? median(r.samples[k]) : undefined);
    lines.push('', `### Floors of the same run: ${storeName(r.store)}`, '', `| floor (${N} users) | median | a user |`, '| --- | ---: | ---: |');
    for (const row of FLOOR_ROWS) {
      const v = m(row.key);
      if (v !== undefined) lines.push(`| ${row.label.replace('{c}', String(c)).replace('{n}', N)} | ${ms0(v)} | ${per(v)} |`);
    }
    const floorSeq = m('floorSeq')!;
    const floorConc = m('floorConc')!;
    const [bareSeq, bareBatch, bareName] = r.store === 'lmdb' ? [m('lmdbSeq')!, m('lmdbBatch')!, 'bare LMDB'] : [m('mongoSeq')!, m('mongoBatch')!, 'the bare driver'];
    lines.push(
      '',
      `- Server over floor: sequential single POSTs ${(seq / floorSeq).toFixed(1)}x the bare Fastify POSTs over one connection, concurrent ${(conc / floorConc).toFixed(1)}x over ${c}; the Bulk took ${(bulk / floorSeq).toFixed(2)}x the time of ${N} bare POSTs over one connection.`,
      `- Batching in the store itself: ${bareName} wrote ${N} users one by one in ${ms0(bareSeq)} and all at once in ${ms0(bareBatch)} (${(bareSeq / bareBatch).toFixed(1)}x); the Bulk took ${(bulk / bareBatch).toFixed(1)}x the batched write, and the sequential single POSTs ${(seq / bareSeq).toFixed(1)}x the one-by-one writes.`,
      `- Every round (ms): sequential ${r.samples.seq!.map((x) => x.toFixed(0)).join(', ')}; ${c} connections ${r.samples.conc!.map((x) => x.toFixed(0)).join(', ')}; bulk ${r.samples.bulk!.map((x) => x.toFixed(0)).join(', ')}.`,
      `- The Bulk request is ${(r.requestBytes / 1024).toFixed(0)} KB; ${r.created.toLocaleString('en')} users created through the server, all found after the run; seeding ${r.seedSeconds.toFixed(1)} s; the server's own (anonymous) memory after the run ${r.anonMb.toFixed(0)} MB.`,
    );
  }
  lines.push(
    '',
    `**Reading the results.** A loader without Bulk pays, for every user, a round trip, the request's parsing, its`,
    'token check and log line, and (on these stores) a durable write of its own; with 1 connection nothing overlaps. The',
    'floors set what each part costs on this machine: the bare Fastify POSTs are the round trips and parsing alone, the',
    "bare store's one-by-one against batched writes what committing users together can save at most. Concurrent",
    "connections recover part of the difference without Bulk, by overlapping round trips and letting the store group",
    `commits; "concurrent / bulk" says what Bulk still saves then. The target is the first ratio: ${N} sequential single`,
    `POSTs at least ${TARGET}x one Bulk of ${N}, on every store.`,
    '',
  );
  return lines.join('\n');
}
