/**
 * `npm run bench -- hardening`: the requests that once froze the server, replayed against the default
 * bounds, each measured in CPU time. The contract: at the defaults no request costs more than 100 ms of CPU.
 *
 * The app runs in this process (buildApp, driven with `inject`), so `process.cpuUsage()` around one request is the
 * CPU the server spent on it: parsing, auth, the PATCH engine or filter, the store, serialisation. The floor is a
 * `GET /healthz` measured the same way in the same run. Each case runs once unmeasured (a production server is
 * warm; the first run of a code path pays for its compilation), then `--repeat` times on fresh data; the report
 * gives the median and the maximum. With `--mongodb-uri` (or MONGODB_URI) the MongoDB store is used, else the
 * embedded one.
 *
 * Cases are the probe figures of the issue: PATCH with k `add emails` operations (1,000 at the bound; 2,000,
 * 4,000 and 10,000 over it), one operation adding 1,000 / 8,000 / 16,000 emails, a POST with 1,000 / 30,000
 * emails, 400 displayName replaces on a user holding the most emails allowed, filters of or-ed `emails.value`
 * comparisons (at and over the bound) against a directory where one user holds the most emails allowed, the worst
 * shape at the bounds (1,000 value-filtered replaces on a user with 1,000 emails), and 2,000 re-adds of 50 emails.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../src/app';
import { loadConfig } from '../src/config';
import { mintToken } from '../src/cli/mint';
import { createStore } from '../src/store';
import type { Store } from '../src/store/store';
import { DEFAULT_LIMITS } from '../src/scim/limits';
import { writeReportSection } from './report';

export interface HardeningOptions {
  repeat: number;
  uri?: string;
  report?: string;
  argv: string[];
}

export const HARDENING_DEFAULTS = { repeat: 3 };

const BUDGET_MS = 100;
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const SECRET = 'bench-secret-that-is-long-enough-for-hs256!';

interface Harness {
  app: FastifyInstance;
  auth: string;
  close(): Promise<void>;
}

interface Request {
  method: 'GET' | 'POST' | 'PATCH';
  url: string;
  payload?: unknown;
}

/** A case: `setup` makes its data (unmeasured) and returns the request to measure. */
interface Case {
  name: string;
  /** The status the bounds should give: 2xx within them, 4xx over them. */
  expect: number;
  setup(h: Harness): Promise<Request>;
}

const emails = (n: number, prefix = 'p') => Array.from({ length: n }, (_, i) => ({ value: `${prefix}${i}@x.test` }));

async function send(h: Harness, r: Request): Promise<{ status: number; body: string }> {
  const res = await h.app.inject({
    method: r.method,
    url: r.url,
    headers: { authorization: h.auth, ...(r.payload !== undefined ? { 'content-type': 'application/scim+json' } : {}) },
    ...(r.payload !== undefined ? { payload: JSON.stringify(r.payload) } : {}),
  });
  return { status: res.statusCode, body: res.body };
}

async function createUser(h: Harness, body: Record<string, unknown>): Promise<string> {
  const res = await send(h, { method: 'POST', url: '/scim/v2/Users', payload: { schemas: [USER], ...body } });
  if (res.status !== 201) throw new Error(`seeding a user failed: ${res.status} ${res.body.slice(0, 300)}`);
  return (JSON.parse(res.body) as { id: string }).id;
}

const unique = () => randomBytes(5).toString('hex');
const MAX = DEFAULT_LIMITS.valuesPerAttribute;
const OPS = DEFAULT_LIMITS.patchOperations;
const NODES = DEFAULT_LIMITS.filterNodes;

function addEmailOps(k: number): Request['payload'] {
  return { schemas: [PATCH_OP], Operations: Array.from({ length: k }, (_, i) => ({ op: 'add', path: 'emails', value: [{ value: `p${i}@x.test` }] })) };
}

const CASES: Case[] = [
  ...[OPS, 2000, 4000, 10000].map<Case>((k) => ({
    name: `PATCH with ${k.toLocaleString('en')} operations adding one email each`,
    expect: k <= OPS ? 200 : 413,
    setup: async (h) => ({ method: 'PATCH', url: `/scim/v2/Users/${await createUser(h, { userName: `u${unique()}` })}`, payload: addEmailOps(k) }),
  })),
  ...[MAX, 8000, 16000].map<Case>((n) => ({
    name: `PATCH with one operation adding ${n.toLocaleString('en')} emails`,
    expect: n <= MAX ? 200 : 400,
    setup: async (h) => ({
      method: 'PATCH',
      url: `/scim/v2/Users/${await createUser(h, { userName: `u${unique()}` })}`,
      payload: { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'emails', value: emails(n) }] },
    }),
  })),
  ...[MAX, 30000].map<Case>((n) => ({
    name: `POST a user with ${n.toLocaleString('en')} emails`,
    expect: n <= MAX ? 201 : 400,
    setup: async () => ({ method: 'POST', url: '/scim/v2/Users', payload: { schemas: [USER], userName: `u${unique()}`, emails: emails(n) } }),
  })),
  {
    name: `PATCH with 400 displayName replaces on a user with ${MAX.toLocaleString('en')} emails`,
    expect: 200,
    setup: async (h) => ({
      method: 'PATCH',
      url: `/scim/v2/Users/${await createUser(h, { userName: `u${unique()}`, emails: emails(MAX) })}`,
      payload: { schemas: [PATCH_OP], Operations: Array.from({ length: 400 }, (_, i) => ({ op: 'replace', path: 'displayName', value: `Name ${i}` })) },
    }),
  },
  ...[NODES, 300].map<Case>((n) => ({
    name: `GET /Users with ${n} or-ed emails.value comparisons; one user holds ${MAX.toLocaleString('en')} emails, 500 others 2`,
    expect: n <= NODES ? 200 : 400,
    setup: async (h) => {
      const tag = unique();
      await createUser(h, { userName: `big${tag}`, emails: emails(MAX, `b${tag}-`) });
      for (let i = 0; i < 500; i++) await createUser(h, { userName: `o${tag}-${i}`, emails: [{ value: `o${i}@${tag}.test`, type: 'work' }, { value: `h${i}@${tag}.test`, type: 'home' }] });
      // Short literals, so that even the case over the comparison bound fits the length bound.
      const filter = Array.from({ length: n }, (_, i) => `emails.value eq "n${i}"`).join(' or ');
      return { method: 'GET', url: `/scim/v2/Users?filter=${encodeURIComponent(filter)}&count=10` };
    },
  })),
  {
    name: `PATCH with ${OPS.toLocaleString('en')} value-filtered replaces (emails[value eq …].display) on a user with ${MAX.toLocaleString('en')} emails`,
    expect: 200,
    setup: async (h) => ({
      method: 'PATCH',
      url: `/scim/v2/Users/${await createUser(h, { userName: `u${unique()}`, emails: emails(MAX) })}`,
      payload: {
        schemas: [PATCH_OP],
        Operations: Array.from({ length: OPS }, (_, i) => ({ op: 'replace', path: `emails[value eq "p${(i * 7919) % MAX}@x.test"].display`, value: `d${i}` })),
      },
    }),
  },
  {
    name: `PATCH re-adding the same 50 emails in ${OPS.toLocaleString('en')} operations (duplicates are not added)`,
    expect: 200,
    setup: async (h) => ({
      method: 'PATCH',
      url: `/scim/v2/Users/${await createUser(h, { userName: `u${unique()}`, emails: emails(50) })}`,
      payload: { schemas: [PATCH_OP], Operations: Array.from({ length: OPS }, (_, i) => ({ op: 'add', path: 'emails', value: [{ value: `p${i % 50}@x.test`, type: 'work' }] })) },
    }),
  },
];

async function harness(uri: string | undefined): Promise<Harness & { storeKind: string }> {
  const db = `scim_bench_hardening_${unique()}`;
  const config = loadConfig({ SCIM_JWT_SECRET: SECRET, ...(uri ? { MONGODB_URI: uri, MONGODB_DB: db } : {}) });
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'scim-bench-hardening-'));
  const store: Store = await createStore({ mongodbUri: config.mongodbUri, mongodbDb: config.mongodbDb, dbTimeoutMs: config.dbTimeoutMs, dataDir });
  const app = await buildApp({ config, store });
  const token = await mintToken(config.jwt, { scope: 'scim:read scim:write', ttlSeconds: 3600 });
  return {
    app,
    auth: `Bearer ${token}`,
    storeKind: store.kind,
    async close() {
      await app.close();
      await store.close();
      rmSync(dataDir, { recursive: true, force: true });
      if (uri) {
        const client = new MongoClient(uri);
        try {
          await client.db(db).dropDatabase();
        } finally {
          await client.close();
        }
      }
    },
  };
}

function cpuMs(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1000;
}

interface Row {
  name: string;
  expect: number;
  statuses: number[];
  cpu: number[];
  wall: number[];
  detail?: string;
}

async function measure(h: Harness, r: Request): Promise<{ status: number; cpu: number; wall: number; body: string }> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const res = await send(h, r);
  const cpu = cpuMs(c0);
  return { status: res.status, cpu, wall: performance.now() - t0, body: res.body };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (x: number) => (x < 10 ? x.toFixed(2) : x.toFixed(1));

export async function hardeningBenchmark(options: HardeningOptions): Promise<void> {
  const started = Date.now();
  const h = await harness(options.uri);
  const rows: Row[] = [];
  try {
    // A server in production is warm: every case runs once unmeasured first, so the figures are not the JIT's.
    for (const c of CASES) await send(h, await c.setup(h));
    const floor: number[] = [];
    for (let i = 0; i < 200; i++) floor.push((await measure(h, { method: 'GET', url: '/healthz' })).cpu);
    const floorRow: Row = { name: 'floor: GET /healthz', expect: 200, statuses: [200], cpu: floor, wall: [] };
    for (const c of CASES) {
      const row: Row = { name: c.name, expect: c.expect, statuses: [], cpu: [], wall: [] };
      for (let i = 0; i < options.repeat; i++) {
        const request = await c.setup(h);
        // The garbage the setup left (users with a thousand emails) is collected now, not inside the measured
        // request: what is measured is the request's own work, its own garbage included (npm run bench passes
        // --expose-gc).
        global.gc?.();
        const m = await measure(h, request);
        row.statuses.push(m.status);
        row.cpu.push(m.cpu);
        row.wall.push(m.wall);
        if (m.status >= 400) row.detail = (JSON.parse(m.body) as { detail?: string }).detail;
      }
      rows.push(row);
      process.stderr.write(`${c.name}: ${row.statuses.join('/')} cpu median ${fmt(median(row.cpu))} ms, max ${fmt(Math.max(...row.cpu))} ms\n`);
    }
    const failures = rows.filter((r) => Math.max(...r.cpu) > BUDGET_MS || r.statuses.some((s) => s !== r.expect));
    const report = render(options, h.storeKind, floorRow, rows, Date.now() - started);
    process.stdout.write(`${report}\n`);
    // One section per store kind, so a run on one store keeps the other's figures.
    if (options.report) writeReportSection(options.report, `hardening:${h.storeKind}`, 'npm run bench -- hardening', report);
    if (failures.length > 0) {
      process.stderr.write(`bench hardening: ${failures.length} case(s) over the ${BUDGET_MS} ms CPU budget or with an unexpected status\n`);
      process.exitCode = 1;
    }
  } finally {
    await h.close();
  }
}

function render(options: HardeningOptions, storeKind: string, floor: Row, rows: Row[], elapsedMs: number): string {
  const cpus = os.cpus();
  const floorMs = median(floor.cpu);
  const lines = [
    `## Results: ${storeKind} store`,
    '',
    `- Date: ${new Date().toISOString()}`,
    `- Machine: ${cpus.length} cores (${cpus[0]?.model ?? 'unknown'}), Node.js ${process.version}, ${storeKind} store, app in-process (inject)`,
    `- Command: \`npm run bench -- ${options.argv.join(' ')}\``,
    `- Bounds at their defaults: ${OPS} operations per PATCH, ${MAX} values per attribute, filters of ${DEFAULT_LIMITS.filterLength} characters and ${NODES} comparisons`,
    `- Each case once unmeasured (warm-up), then ${options.repeat} times on fresh data, after a full GC${global.gc ? '' : ' (not available: run with --expose-gc)'}; CPU is \`process.cpuUsage()\` (user + system) around one request; budget ${BUDGET_MS} ms`,
    `- Floor: \`GET /healthz\` costs ${fmt(floorMs)} ms CPU (median of ${floor.cpu.length}); the ratio column is the case's median over it`,
    `- Whole run ${(elapsedMs / 1000).toFixed(1)} s`,
    '',
    '| case | status (expected) | CPU ms median | CPU ms max | × floor | wall ms median | within budget? |',
    '| --- | ---: | ---: | ---: | ---: | ---: | :---: |',
    ...rows.map((r) => {
      const ok = Math.max(...r.cpu) <= BUDGET_MS && r.statuses.every((s) => s === r.expect);
      return `| ${r.name} | ${[...new Set(r.statuses)].join('/')} (${r.expect}) | ${fmt(median(r.cpu))} | ${fmt(Math.max(...r.cpu))} | ${Math.round(median(r.cpu) / floorMs)}× | ${fmt(median(r.wall))} | ${ok ? 'yes' : '**no**'} |`;
    }),
    '',
    'Refusals name their bound:',
    '',
    ...rows.filter((r) => r.detail).map((r) => `- ${r.name}: "${r.detail}"`),
  ];
  return lines.join('\n');
}
