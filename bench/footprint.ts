/**
 * `npm run bench -- footprint`: bytes on disk per user (issue 28: a 1M-user embedded directory in at most 2 GB).
 *
 * For each size, a server on a fresh store is given the users the way a provisioning client gives them: POST /Bulk
 * of 1,000 creates at a time (each create stored with its audit entry, as production stores it), HR-shaped users as
 * the query benchmark seeds them (name, two emails, title, the enterprise extension with a manager, the example
 * operator schemas' HR extension). Then the server is stopped and what the store holds is measured:
 *
 *   embedded   the data file's size (what `du` says the directory costs), and each sub-database's pages (branch +
 *              leaf + overflow pages, from LMDB's own statistics, times the page size); the rest of the file is
 *              LMDB's free pages (pages freed by copy-on-write and not reused yet) and the meta pages.
 *   MongoDB    each collection's storage size and index size as the engine reports them (collStats), and the
 *              database's totals (dbStats); on the test database (FerretDB 2.5 on PostgreSQL + DocumentDB) these
 *              are PostgreSQL's table and index sizes.
 */
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { open } from 'lmdb';
import { mintToken } from '../src/cli/mint';
import { SCHEMA_URNS } from '../src/scim/schema';
import { LMDB_OPTIONS, SUB_DATABASES } from '../src/store/lmdb';
import { writeReportSection } from './report';
import { EXAMPLE_SCHEMA_DIR, HR, hrValues } from './hr';
import { DEPARTMENTS, FAMILY, GIVEN, pad6, rngOf, TITLES } from './query';
import { HttpClient, startFerretDB, startServer } from './support';

export interface FootprintBenchOptions {
  sizes: number[];
  stores: ('lmdb' | 'mongodb')[];
  uri?: string;
  report?: string;
  argv: string[];
}

export const FOOTPRINT_DEFAULTS = { sizes: [10_000, 100_000], stores: ['lmdb', 'mongodb'] as ('lmdb' | 'mongodb')[] };

const SECRET = 'bench-footprint-secret-long-enough-for-hs256!!';
const BULK = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
const EXT = SCHEMA_URNS.enterpriseUser;
const BATCH = 1000;

interface Part {
  name: string;
  bytes: number;
  entries?: number;
}

interface Row {
  store: string;
  size: number;
  seedSeconds: number;
  /** The embedded store's data file, or the MongoDB database's storage + indexes. */
  total: number;
  parts: Part[];
  note?: string;
}

/** User i's body, as bench/query.ts seedUsers makes it (same generator, same fields), its manager by id. */
function userBody(i: number, rnd: () => number, managerId: string | undefined, size: number): Record<string, unknown> {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const given = pick(GIVEN);
  const family = pick(FAMILY);
  const n = pad6(i);
  const externalId = [8, 4, 4, 4, 12].map((len) => Array.from({ length: len }, () => Math.floor(rnd() * 16).toString(16)).join('')).join('-');
  return {
    schemas: [SCHEMA_URNS.user, EXT, HR],
    userName: `user${n}`,
    externalId,
    name: { givenName: given, familyName: family, formatted: `${given} ${family}` },
    displayName: `${given} ${family}`,
    title: pick(TITLES),
    active: true,
    emails: [
      { value: `${given}.${family}.${n}@example.com`.toLowerCase(), type: 'work', primary: true },
      { value: `${given.toLowerCase()}${n}@mail.example.net`, type: 'home' },
    ],
    [EXT]: {
      employeeNumber: `E${n}`,
      department: pick(DEPARTMENTS),
      costCenter: `CC-${100 + Math.floor(rnd() * 50)}`,
      ...(managerId ? { manager: { value: managerId } } : {}),
    },
    [HR]: hrValues(i, size),
  };
}

/**
 * Creates `size` users through POST /Bulk, BATCH at a time. User i reports to user (i - 1) / 8, created before it:
 * a batch never refers to a user of its own (the first batches are smaller for that), so its creates are stored
 * together, as a client's bulk of unrelated users is.
 */
export async function seedThroughBulk(base: string, size: number, log: (s: string) => void): Promise<number> {
  const token = await mintToken({ secret: SECRET }, { scope: 'scim:read scim:write', ttlSeconds: 24 * 3600, roles: ['globalAdmin'], clientId: 'footprint' });
  const client = new HttpClient(base, { authorization: `Bearer ${token}` }, 1);
  const rnd = rngOf(42);
  const ids: string[] = [];
  const t0 = performance.now();
  let reported = t0;
  try {
    for (let a = 0; a < size; ) {
      const b = Math.min(size, a + BATCH, 8 * a + 1);
      const Operations = [];
      for (let i = a; i < b; i++) {
        Operations.push({ method: 'POST', path: '/Users', bulkId: `u${i}`, data: userBody(i, rnd, i > 0 ? ids[Math.floor((i - 1) / 8)] : undefined, size) });
      }
      const res = await client.request('POST', '/scim/v2/Bulk', { schemas: [BULK], Operations });
      if (res.status !== 200) throw new Error(`POST /Bulk: ${res.status} ${res.body.slice(0, 300)}`);
      const results = (JSON.parse(res.body) as { Operations: { status: string; location?: string; response?: unknown }[] }).Operations;
      for (const r of results) {
        if (r.status !== '201' || !r.location) throw new Error(`a create failed: ${JSON.stringify(r).slice(0, 300)}`);
        ids.push(r.location.slice(r.location.lastIndexOf('/') + 1));
      }
      a = b;
      if (performance.now() - reported > 10_000) {
        reported = performance.now();
        log(`  ${a.toLocaleString('en')} users after ${((reported - t0) / 1000).toFixed(0)} s`);
      }
    }
  } finally {
    client.close();
  }
  return (performance.now() - t0) / 1000;
}

interface DbStats {
  pageSize: number;
  treeBranchPageCount: number;
  treeLeafPageCount: number;
  overflowPages: number;
  entryCount: number;
}

/** The data file and each sub-database's pages, read with the store's own options (the server is stopped). */
async function measureLmdb(dir: string): Promise<{ total: number; parts: Part[] }> {
  const env = open({ path: dir, ...LMDB_OPTIONS } as Parameters<typeof open>[0]);
  try {
    const parts: Part[] = [];
    let used = 0;
    for (const [name, options] of Object.entries(SUB_DATABASES)) {
      const s = env.openDB({ name, ...options }).getStats() as DbStats;
      const bytes = (s.treeBranchPageCount + s.treeLeafPageCount + s.overflowPages) * s.pageSize;
      used += bytes;
      parts.push({ name, bytes, entries: s.entryCount });
    }
    const total = statSync(path.join(dir, 'data.mdb')).size;
    parts.push({ name: 'free and meta pages', bytes: total - used });
    return { total, parts };
  } finally {
    await env.close();
  }
}

/** Each collection's storage and index sizes (collStats), through the driver. */
async function measureMongo(uri: string, dbName: string): Promise<{ total: number; parts: Part[]; note: string }> {
  const client = new MongoClient(uri);
  try {
    const db = client.db(dbName);
    const parts: Part[] = [];
    let total = 0;
    for (const { name } of await db.listCollections({}, { nameOnly: true }).toArray()) {
      const s = (await db.command({ collStats: name })) as { count?: number; size?: number; storageSize?: number; totalIndexSize?: number };
      const storage = s.storageSize ?? s.size ?? 0;
      const indexes = s.totalIndexSize ?? 0;
      parts.push({ name: `${name} (documents)`, bytes: storage, entries: s.count }, { name: `${name} (indexes)`, bytes: indexes });
      total += storage + indexes;
    }
    const d = (await db.command({ dbStats: 1 })) as { dataSize?: number; storageSize?: number; indexSize?: number; totalSize?: number };
    const note = `dbStats: dataSize ${mb(d.dataSize ?? NaN)}, storageSize ${mb(d.storageSize ?? NaN)}, indexSize ${mb(d.indexSize ?? NaN)}${d.totalSize !== undefined ? `, totalSize ${mb(d.totalSize)}` : ''}`;
    return { total, parts: parts.filter((p) => p.bytes > 0 || p.entries), note };
  } finally {
    await client.close();
  }
}

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

export async function footprintBenchmark(options: FootprintBenchOptions): Promise<void> {
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const started = Date.now();
  const rows: Row[] = [];
  for (const store of options.stores) {
    const cleanups: (() => Promise<void>)[] = [];
    try {
      let uri = options.uri;
      if (store === 'mongodb' && !uri) {
        const db = await startFerretDB();
        cleanups.push(() => db.stop());
        uri = db.uri;
      }
      for (const size of options.sizes) {
        log(`${store} ${size.toLocaleString('en')}: seeding through /Bulk`);
        const env: Record<string, string> = { SCIM_JWT_SECRET: SECRET, SCIM_SCHEMA_DIR: EXAMPLE_SCHEMA_DIR, SCIM_DB_TIMEOUT_MS: '600000' };
        let dir: string | undefined;
        const dbName = `scim_bench_footprint_${randomUUID().slice(0, 8)}`;
        if (store === 'lmdb') {
          dir = mkdtempSync(path.join(os.tmpdir(), 'scim-bench-footprint-'));
          env.SCIM_DATA_DIR = dir;
        } else {
          env.MONGODB_URI = uri!;
          env.MONGODB_DB = dbName;
        }
        try {
          const server = await startServer(env);
          let seedSeconds: number;
          try {
            seedSeconds = await seedThroughBulk(server.base, size, log);
          } finally {
            await server.stop();
          }
          const measured = store === 'lmdb' ? await measureLmdb(dir!) : await measureMongo(uri!, dbName);
          rows.push({ store, size, seedSeconds, ...measured });
          log(`  ${(measured.total / size).toFixed(0)} bytes per user (${mb(measured.total)}) after ${seedSeconds.toFixed(0)} s: ${measured.parts.map((p) => `${p.name} ${(p.bytes / size).toFixed(0)}`).join(', ')}`);
        } finally {
          if (dir && existsSync(dir)) rmSync(dir, { recursive: true, force: true });
          if (store === 'mongodb') {
            const client = new MongoClient(uri!);
            await client.db(dbName).dropDatabase().catch(() => undefined);
            await client.close();
          }
        }
      }
    } finally {
      for (const cleanup of cleanups) await cleanup().catch((e) => log(`cleanup: ${(e as Error).message}`));
    }
  }
  const report = render(options, rows, (Date.now() - started) / 1000);
  if (options.report) writeReportSection(options.report, 'footprint', `npm run bench -- ${options.argv.join(' ')}`, report);
  else process.stdout.write(`${report}\n`);
}

function render(options: FootprintBenchOptions, rows: Row[], seconds: number): string {
  const cpus = os.cpus();
  const out = [
    '## Results',
    '',
    `- Date: ${new Date().toISOString()}`,
    `- Machine: ${cpus.length} cores (${cpus[0]?.model ?? 'unknown'}), Node.js ${process.version}; whole run ${seconds.toFixed(0)} s`,
    `- Command: \`npm run bench -- ${options.argv.join(' ')}\``,
    `- Users created through POST /Bulk of ${BATCH.toLocaleString('en')}, each with its audit entry; the MongoDB store on ${options.uri ? 'MONGODB_URI' : 'the test database (FerretDB 2.5 on PostgreSQL + DocumentDB)'}`,
    '',
    '| store | users | bytes per user | total | seeded in | part: bytes per user (entries) |',
    '| --- | ---: | ---: | ---: | ---: | --- |',
    ...rows.map(
      (r) =>
        `| ${r.store} | ${r.size.toLocaleString('en')} | **${(r.total / r.size).toFixed(0)}** | ${mb(r.total)} | ${r.seedSeconds.toFixed(0)} s | ${r.parts
          .map((p) => `${p.name} ${(p.bytes / r.size).toFixed(0)}${p.entries !== undefined ? ` (${p.entries.toLocaleString('en')})` : ''}`)
          .join('; ')} |`,
    ),
    '',
    ...rows.filter((r) => r.note).map((r) => `- ${r.store} ${r.size.toLocaleString('en')}: ${r.note}`),
  ];
  return out.join('\n');
}
