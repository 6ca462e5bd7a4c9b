/**
 * `npm run bench -- embedded`: the embedded LMDB store at directory sizes (10,000, 100,000 and 1,000,000 users by
 * default), over HTTP on loopback against the built server as its own process, as an operator runs it.
 *
 * Per size: a fresh data directory is seeded through LmdbStore itself (the records, unique keys and index entries
 * the server writes), the server is started on it (start-up time: spawn to the first 200 from /readyz, with no
 * full load into memory), and each query runs in a closed loop. Targets: every indexed query at the
 * largest size within 1.5x of its cost at the smallest; server RSS at the largest size under 300 MB (the data lives
 * in the memory-mapped file, not the JS heap); start-up under 2 s.
 *
 * The server runs with the example operator schemas (SCIM_SCHEMA_DIR=examples/schema) and the users carry the HR
 * extension's values (bench/hr.ts), so that `eq` on the operator's indexed `jobCode` is measured beside the core
 * lookups (issue 27). Every filter query is also planned as the store plans it (plan.ts, on the paths the opened
 * store has ready), and an indexed one that would scan the records fails the run.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { registryFingerprint, Views } from '../src/scim/view';
import { LmdbStore } from '../src/store/lmdb';
import { planFilter, type PlanStep } from '../src/store/lmdb/plan';
import { parseFilter } from '../src/scim/filter/parse';
import { SchemaRegistry, SCHEMA_URNS, type ResourceSchema } from '../src/scim/schema';
import type { ScimResource, StoredRecord } from '../src/scim/resource';
import { CursorCodec } from '../src/scim/cursor';
import { CURSOR_TIMEOUT } from '../src/app';
import { mintToken } from '../src/cli/mint';
import { LoadOptions, runLoad, startServer } from './support';
import { writeReportSection } from './report';
import { EXAMPLE_SCHEMA_DIR, exampleRegistry, HR, hasHr, hrValues, jobCodeHolders, jobCodeOf } from './hr';

export interface EmbeddedBenchOptions {
  sizes: number[];
  load: LoadOptions;
  report?: string;
  argv: string[];
}

export const EMBEDDED_DEFAULTS = {
  sizes: [10_000, 100_000, 1_000_000],
  load: { concurrency: 4, warmup: 20, maxRequests: 2000, seconds: 5, minRequests: 50, slowMs: 2000, slowRequests: 3, slowBudget: 30 },
};

const SECRET = 'bench-embedded-secret-long-enough-for-hs256';
const EXT = SCHEMA_URNS.enterpriseUser;
const pad7 = (i: number) => String(i).padStart(7, '0');
const DEPARTMENTS = ['Engineering', 'Finance', 'Sales', 'Marketing', 'Support', 'Legal', 'People', 'Operations'];

interface Seeded {
  ids: string[];
  externalIds: string[];
  seconds: number;
}

/**
 * A seeded user as ResourceService.create would store it (no password: hashing is not what is measured); with `hr`,
 * the HR extension's values too (bench/hr.ts).
 */
function userAt(i: number, id: string, externalId: string, manager: string | undefined, at: string, hr?: Record<string, unknown>): StoredRecord {
  const n = pad7(i);
  const resource = {
    schemas: hr ? [SCHEMA_URNS.user, EXT, HR] : [SCHEMA_URNS.user, EXT],
    id,
    userName: `user${n}`,
    externalId,
    name: { givenName: 'Given', familyName: `Family${i % 997}`, formatted: `Given Family${i % 997}` },
    displayName: `User ${n}`,
    title: 'Engineer',
    active: true,
    emails: [
      { value: `user${n}@example.com`, type: 'work', primary: true },
      { value: `u${n}@mail.example.net`, type: 'home' },
    ],
    [EXT]: { employeeNumber: `E${n}`, department: DEPARTMENTS[i % DEPARTMENTS.length]!, ...(manager ? { manager: { value: manager, displayName: 'Manager' } } : {}) },
    ...(hr ? { [HR]: hr } : {}),
    meta: { resourceType: 'User', created: at, lastModified: at, version: 'W/"1"' },
  } as unknown as ScimResource;
  return { resourceType: 'User', id, version: 1, resource };
}

/**
 * Seeds `size` users into a fresh data directory through LmdbStore. `registry` is the one the server will run with:
 * the records' views are made against it, and when its User has the operator's HR extension (examples/schema) every
 * user carries HR values.
 */
export async function seedEmbedded(dir: string, size: number, log: (s: string) => void, registry: SchemaRegistry = SchemaRegistry.fromDirectory()): Promise<Seeded> {
  const users = registry.resourceSchema('User');
  const withHr = hasHr(users);
  // Records get the view the server makes when it writes one (src/scim/view.ts).
  const views = new Views(users, (t) => registry.resourceType(t)?.endpoint, registryFingerprint(registry));
  const store = new LmdbStore({ path: dir });
  await store.init([users]);
  const t0 = performance.now();
  const ids: string[] = [];
  const externalIds: string[] = [];
  const epoch = Date.parse('2024-01-01T00:00:00Z');
  for (let start = 0; start < size; start += 1000) {
    const batch: Promise<void>[] = [];
    for (let i = start; i < Math.min(size, start + 1000); i++) {
      const id = randomUUID();
      const externalId = randomUUID();
      ids.push(id);
      externalIds.push(externalId);
      const at = new Date(epoch + ((i * 7919) % size) * 60_000).toISOString();
      // Writes issued together commit together (the lmdb package batches them into one transaction).
      const record = userAt(i, id, externalId, i > 0 ? ids[Math.floor((i - 1) / 8)] : undefined, at, withHr ? hrValues(i, size) : undefined);
      record.view = views.make(record.resource);
      batch.push(store.resources.create(users, record));
    }
    await Promise.all(batch);
    if (start % 100_000 === 0 && start > 0) log(`  seeded ${start.toLocaleString('en')}`);
  }
  await store.close();
  return { ids, externalIds, seconds: (performance.now() - t0) / 1000 };
}

interface QueryDef {
  key: string;
  label: string;
  indexed: boolean;
  one(): Promise<void>;
}

/** How the store serves one filter query: what plan.ts makes of a sample of it. */
interface PlanNote {
  filter: string;
  summary: string;
  scan: boolean;
}

const RANK_NAMES = ['eq', 'sw', 'range', 'pr'];

/**
 * Plans a sample of each filter query the way LmdbQueries.query does: the filter parsed against the schema, then
 * planFilter over the paths the opened store has ready (a path still being built is left out, as the server would).
 * Run on the seeded directory before the server starts.
 */
async function planAll(dir: string, users: ResourceSchema, filters: [string, string][]): Promise<Map<string, PlanNote>> {
  const store = new LmdbStore({ path: dir });
  try {
    await store.init([users]);
    const paths = store.resources.queries.readyPaths(users);
    const bySlot = new Map(paths.map((p) => [p.slot, p.path]));
    const describe = (step: PlanStep): string => {
      switch (step.kind) {
        case 'scan':
          return 'scan of every record';
        case 'range':
          return `index key range of ${bySlot.get(step.slot) ?? `slot ${step.slot}`} (${RANK_NAMES[step.rank] ?? step.rank})`;
        case 'union':
          return `union of ${step.parts.map(describe).join(' and ')}`;
        case 'ids':
          return `${step.ids.size} ids by key`;
      }
    };
    const out = new Map<string, PlanNote>();
    for (const [key, filter] of filters) {
      const step = planFilter(users, parseFilter(users, filter), paths);
      out.set(key, { filter, summary: describe(step), scan: step.kind === 'scan' });
    }
    return out;
  } finally {
    await store.close();
  }
}

function expect(ok: boolean, what: string): void {
  if (!ok) throw new Error(`wrong answer: ${what}`);
}

/**
 * The server's memory from /proc: the resident set and its peak, split into anonymous memory (the JS heap and
 * everything the process allocated) and file pages (the memory-mapped data file, and the program's code). File pages
 * are the kernel's page cache mapped into the process: Linux maps up to 16 neighbouring cached pages on each fault,
 * so they grow with the data touched, are shared, and are reclaimed under memory pressure. The process's own
 * memory is the anonymous part, and that is what the 300 MB target is about.
 */
export function rssOf(pid: number | undefined): { rss: number; hwm: number; file: number; anon: number } {
  if (!pid) return { rss: NaN, hwm: NaN, file: NaN, anon: NaN };
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS') * 1024, hwm: kb('VmHWM') * 1024, file: kb('RssFile') * 1024, anon: kb('RssAnon') * 1024 };
}

interface SizeResult {
  size: number;
  seedSeconds: number;
  startupMs: number;
  rss: number;
  hwm: number;
  /** The part of the RSS that is mapped file pages (the data file, the program's own code). */
  file: number;
  /** The largest anonymous part of the RSS seen after any query. */
  anon: number;
  bytes: number;
  /** The plan of each filter query at this size. */
  plans: Map<string, PlanNote>;
  p50: Map<string, number>;
  p99: Map<string, number>;
  n: Map<string, number>;
}

export async function embeddedBenchmark(options: EmbeddedBenchOptions): Promise<void> {
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const started = Date.now();
  const token = await mintToken({ secret: SECRET }, { scope: 'scim:read scim:write', ttlSeconds: 24 * 3600 });
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' };
  const codec = new CursorCodec(SECRET, CURSOR_TIMEOUT);
  // The server runs with the example operator schemas (SCIM_SCHEMA_DIR), and the seeding with the same registry.
  const registry = exampleRegistry();
  const users = registry.resourceSchema('User');
  const results: SizeResult[] = [];
  const defs: { key: string; label: string; indexed: boolean }[] = [];
  for (const size of options.sizes) {
    const dir = mkdtempSync(path.join(os.tmpdir(), `scim-bench-embedded-${size}-`));
    try {
      log(`size ${size.toLocaleString('en')}: seeding`);
      const data = await seedEmbedded(dir, size, log, registry);
      // The filters, as functions of a seeded user's number (of a block of 100 for the prefix).
      const filters = {
        userName: (i: number) => `userName eq "USER${pad7(i)}"`,
        externalId: (i: number) => `externalId eq "${data.externalIds[i]}"`,
        emails: (i: number) => `emails.value eq "u${pad7(i)}@mail.example.net"`,
        // The operator's indexed attribute (issue 27): a code three users hold at every size, asked in lower case.
        jobCode: (i: number) => `${HR}:jobCode eq "${jobCodeOf(i, size).toLowerCase()}"`,
        userNameSw: (h: number) => `userName sw "user${pad7(h * 100).slice(0, 5)}"`,
      };
      const sampleUser = 4711 % size;
      const plans = await planAll(dir, users, [
        ['userName-eq', filters.userName(sampleUser)],
        ['externalId-eq', filters.externalId(sampleUser)],
        ['emails-eq', filters.emails(sampleUser)],
        ['jobCode-eq', filters.jobCode(sampleUser)],
        ['userName-sw', filters.userNameSw(Math.floor(sampleUser / 100))],
      ]);
      for (const [key, note] of plans) log(`  plan of ${key}: ${note.summary}`);
      log(`  ${data.seconds.toFixed(1)} s; starting the server`);
      const t0 = performance.now();
      const server = await startServer({ SCIM_DATA_DIR: dir, SCIM_JWT_SECRET: SECRET, SCIM_SCHEMA_DIR: EXAMPLE_SCHEMA_DIR });
      const startupMs = performance.now() - t0;
      try {
        const ready = (await (await fetch(`${server.base}/readyz`)).json()) as { data?: { records: number; bytes: number } };
        expect(ready.data?.records === size, `/readyz counts ${size} records`);
        let k = 0;
        const pick = () => {
          k = (k * 1103515245 + 12345) % 2147483648;
          return k % size;
        };
        const get = async (p: string) => {
          const res = await fetch(`${server.base}${p}`, { headers });
          const body = (await res.json()) as Record<string, unknown>;
          expect(res.status === 200, `${p}: ${res.status} ${JSON.stringify(body).slice(0, 200)}`);
          return body;
        };
        const list = (q: string, check: (b: { totalResults: number; Resources: { id: string; userName: string }[] }) => void) => async () =>
          check((await get(`/scim/v2/Users?${q}`)) as never);
        const byId = [...data.ids].sort();
        const queries: QueryDef[] = [
          {
            key: 'userName-eq', label: 'userName eq', indexed: true,
            one: async () => {
              const i = pick();
              await list(`filter=${encodeURIComponent(filters.userName(i))}`, (b) => expect(b.Resources[0]?.id === data.ids[i], 'the user'))();
            },
          },
          {
            key: 'externalId-eq', label: 'externalId eq', indexed: true,
            one: async () => {
              const i = pick();
              await list(`filter=${encodeURIComponent(filters.externalId(i))}`, (b) => expect(b.Resources[0]?.id === data.ids[i], 'the user'))();
            },
          },
          {
            key: 'emails-eq', label: 'emails.value eq', indexed: true,
            one: async () => {
              const i = pick();
              await list(`filter=${encodeURIComponent(filters.emails(i))}`, (b) => expect(b.Resources[0]?.id === data.ids[i], 'the user'))();
            },
          },
          {
            key: 'jobCode-eq', label: 'HR jobCode eq (operator attribute)', indexed: true,
            one: async () => {
              const i = pick();
              const holders = jobCodeHolders(i, size).map((j) => data.ids[j]!).sort();
              await list(`filter=${encodeURIComponent(filters.jobCode(i))}`, (b) =>
                expect(b.totalResults === holders.length && b.Resources.length === holders.length && b.Resources.every((r, k) => r.id === holders[k]), `the ${holders.length} holders of the code, got ${b.totalResults}`),
              )();
            },
          },
          {
            key: 'userName-sw', label: 'userName sw (100 matches)', indexed: true,
            one: async () => {
              const h = Math.floor(pick() / 100) % Math.floor(size / 100);
              await list(`filter=${encodeURIComponent(filters.userNameSw(h))}&count=100`, (b) => expect(b.totalResults === 100, `100 matches, got ${b.totalResults}`))();
            },
          },
          {
            key: 'sorted', label: 'sorted first page (sortBy=meta.lastModified, 100)', indexed: true,
            one: list('sortBy=meta.lastModified&sortOrder=ascending&count=100', (b) => expect(b.Resources.length === 100 && b.totalResults === size, 'a full page')),
          },
          {
            key: 'cursor', label: 'cursor page from the middle (RFC 9865)', indexed: true,
            one: async () => {
              const after = byId[Math.floor(size * 0.4) + (pick() % Math.floor(size * 0.2))]!;
              const cursor = codec.encode({ position: { direction: 'after', key: { id: after } }, count: 100 }, 'User\0\0');
              await list(`cursor=${encodeURIComponent(cursor)}&count=100`, (b) => expect(b.Resources.length === 100 && b.Resources[0]!.id > after, 'the next 100 by id'))();
            },
          },
          {
            key: 'get', label: 'GET /Users/{id}', indexed: true,
            one: async () => {
              const i = pick();
              const b = await get(`/scim/v2/Users/${data.ids[i]}`);
              expect(b.id === data.ids[i], 'the user');
            },
          },
          {
            key: 'post', label: 'POST /Users', indexed: false,
            one: async () => {
              const res = await fetch(`${server.base}/scim/v2/Users`, { method: 'POST', headers, body: JSON.stringify({ userName: `new-${randomUUID()}`, emails: [{ value: `${randomUUID()}@x.test` }] }) });
              await res.arrayBuffer();
              expect(res.status === 201, `201, got ${res.status}`);
            },
          },
          {
            key: 'patch', label: 'PATCH job info (title + enterprise department)', indexed: false,
            one: async () => {
              const i = pick();
              const res = await fetch(`${server.base}/scim/v2/Users/${data.ids[i]}`, {
                method: 'PATCH',
                headers,
                body: JSON.stringify({
                  schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
                  Operations: [{ op: 'replace', value: { title: `Title ${k}`, [`${EXT}:department`]: DEPARTMENTS[k % DEPARTMENTS.length] } }],
                }),
              });
              await res.arrayBuffer();
              expect(res.status === 200, `200, got ${res.status}`);
            },
          },
        ];
        if (defs.length === 0) defs.push(...queries.map(({ key, label, indexed }) => ({ key, label, indexed })));
        const r: SizeResult = { size, seedSeconds: data.seconds, startupMs, rss: NaN, hwm: NaN, file: NaN, anon: 0, bytes: ready.data?.bytes ?? NaN, plans, p50: new Map(), p99: new Map(), n: new Map() };
        for (const q of queries) {
          const res = await runLoad(q.one, options.load);
          r.p50.set(q.key, res.p50);
          r.p99.set(q.key, res.p99);
          r.n.set(q.key, res.requests);
          r.anon = Math.max(r.anon, rssOf(server.pid).anon);
          log(`  ${q.label}: p50 ${res.p50.toFixed(2)} ms, p99 ${res.p99.toFixed(2)} ms, ${res.rps.toFixed(0)}/s (${res.requests})`);
        }
        const mem = rssOf(server.pid);
        Object.assign(r, { rss: mem.rss, hwm: mem.hwm, file: mem.file, anon: Math.max(r.anon, mem.anon) });
        log(`  RSS ${(r.rss / 1048576).toFixed(0)} MB (peak ${(r.hwm / 1048576).toFixed(0)} MB; anonymous at most ${(r.anon / 1048576).toFixed(0)} MB), start-up ${startupMs.toFixed(0)} ms`);
        results.push(r);
      } finally {
        await server.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const report = render(options, defs, results, Date.now() - started);
  process.stdout.write(`${report}\n`);
  if (options.report) writeReportSection(options.report, 'embedded', 'npm run bench -- embedded', report);
  const first = results[0]!;
  const last = results[results.length - 1]!;
  const failures = [
    ...defs.filter((d) => d.indexed && last.p50.get(d.key)! > 1.5 * first.p50.get(d.key)!).map((d) => `${d.label}: ${(last.p50.get(d.key)! / first.p50.get(d.key)!).toFixed(2)}x`),
    ...scansOf(defs, results),
    ...(last.anon > 300 * 1048576 ? [`anonymous memory ${(last.anon / 1048576).toFixed(0)} MB`] : []),
    ...(last.startupMs > 2000 ? [`start-up ${last.startupMs.toFixed(0)} ms`] : []),
  ];
  if (failures.length > 0) {
    process.stderr.write(`bench embedded: targets missed: ${failures.join('; ')}\n`);
    process.exitCode = 1;
  }
}

/** Indexed filter queries the store would serve by reading every record, at any size. */
function scansOf(defs: { key: string; label: string; indexed: boolean }[], results: SizeResult[]): string[] {
  return results.flatMap((r) =>
    defs.filter((d) => d.indexed && r.plans.get(d.key)?.scan).map((d) => `${d.label} at ${r.size.toLocaleString('en')} planned as a scan: ${r.plans.get(d.key)!.filter}`),
  );
}

function render(options: EmbeddedBenchOptions, defs: { key: string; label: string; indexed: boolean }[], results: SizeResult[], ms: number): string {
  const cpus = os.cpus();
  const first = results[0]!;
  const last = results[results.length - 1]!;
  const mb = (b: number) => `${(b / 1048576).toFixed(0)} MB`;
  const sizes = results.map((r) => r.size.toLocaleString('en'));
  return [
    '## Results',
    '',
    `- Date: ${new Date().toISOString()}`,
    `- Machine: ${cpus.length} cores (${cpus[0]?.model ?? 'unknown'}), Node.js ${process.version}; server, data and load generator on this machine, over loopback; load average at the end ${os.loadavg()[0]!.toFixed(2)}`,
    `- Command: \`npm run bench -- ${options.argv.join(' ')}\``,
    `- Closed loop of ${options.load.concurrency} clients, ${options.load.warmup} warm-up requests, then up to ${options.load.maxRequests} requests or ${options.load.seconds} s per query (at least ${options.load.minRequests})`,
    '- Schemas: the built-in ones and the example operator schemas (the server with SCIM_SCHEMA_DIR=examples/schema, the seeding with the same registry); ' +
      'every user also carries HR values (bench/hr.ts: a jobCode three users hold, hireDate, workLocation, a unique badgeNumber)',
    `- Whole run ${(ms / 1000).toFixed(0)} s`,
    '',
    `| query | ${sizes.map((s) => `p50 ms @${s}`).join(' | ')} | p99 ms @${sizes[sizes.length - 1]} | p50 ratio ${sizes[sizes.length - 1]}/${sizes[0]} | ≤ 1.5x? |`,
    `| --- | ${sizes.map(() => '---:').join(' | ')} | ---: | ---: | :---: |`,
    ...defs.map((d) => {
      const ratio = last.p50.get(d.key)! / first.p50.get(d.key)!;
      return `| ${d.label} | ${results.map((r) => r.p50.get(d.key)!.toFixed(2)).join(' | ')} | ${last.p99.get(d.key)!.toFixed(2)} | ${ratio.toFixed(2)}x | ${d.indexed ? (ratio <= 1.5 ? 'yes' : '**no**') : '(write)'} |`;
    }),
    '',
    '| size | seeding | data file | start-up (spawn to ready) | anonymous memory (max) | RSS after the run | of which data file and code pages | peak RSS |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...results.map((r) => `| ${r.size.toLocaleString('en')} | ${r.seedSeconds.toFixed(1)} s | ${mb(r.bytes)} | ${r.startupMs.toFixed(0)} ms | ${mb(r.anon)} | ${mb(r.rss)} | ${mb(r.file)} | ${mb(r.hwm)} |`),
    '',
    `### What the store does with each filter (plan.ts at ${last.size.toLocaleString('en')} users, on the paths the opened store has ready)`,
    '',
    '| query | sample filter | plan |',
    '| --- | --- | --- |',
    ...defs.flatMap((d) => {
      const note = last.plans.get(d.key);
      return note ? [`| ${d.label} | \`${note.filter}\` | ${note.summary} |`] : [];
    }),
    '',
    scansOf(defs, results).length === 0
      ? `No indexed filter query was planned as a scan at any size (${results.map((r) => r.size.toLocaleString('en')).join(', ')}).`
      : `**Planned as scans:** ${scansOf(defs, results).join('; ')}.`,
    '',
    `Targets at ${last.size.toLocaleString('en')}: the server's own (anonymous) memory under 300 MB (${last.anon <= 300 * 1048576 ? 'met' : '**missed**'}; the total RSS, page cache of the data file included, peaked at ${mb(last.hwm)}), start-up under 2 s (${last.startupMs <= 2000 ? 'met' : '**missed**'}).`,
  ].join('\n');
}
