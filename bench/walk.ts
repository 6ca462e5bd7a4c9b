/**
 * `npm run bench -- walk`: whole-directory walks as importers make them, on both stores (issue 28).
 *
 * Okta imports by index (no cursor): GET /Users?startIndex=1&count=100, then 101, 201, ... to the end, one page at a
 * time. Read by skipping, page k costs k pages and the walk is quadratic; the server reads a walk's next page after
 * the previous page's last result instead (src/service/page-walks.ts). For each store and size, one client walks:
 *
 *   index          startIndex 1, 101, ... in id order (no sortBy), as Okta does
 *   index sorted   the same with sortBy=userName
 *   cursor         RFC 9865 cursors, without and with sortBy=userName (the floor of each index walk: a keyset read
 *                  per page by construction)
 *
 * and a few deep pages asked by another client (no walk, so read by skipping) show what a page would cost without
 * it. On MongoDB the walks start once the database has had a minute to gather statistics after the bulk load. Every
 * walk is checked: each seeded user exactly once, in order. Targets (issue 28): the p99 page of each index walk
 * within 2x of its first pages (p50 of the first ten), and each index walk within 2x of the cursor walk of the same
 * order.
 */
import os from 'node:os';
import { mintToken } from '../src/cli/mint';
import { SchemaRegistry } from '../src/scim/schema';
import { writeReportSection } from './report';
import { seedStore } from './seed-store';
import { percentile, startServer } from './support';

export interface WalkBenchOptions {
  sizes: number[];
  stores: ('lmdb' | 'mongodb')[];
  count: number;
  uri?: string;
  report?: string;
  argv: string[];
}

export const WALK_DEFAULTS = { sizes: [100_000], stores: ['lmdb', 'mongodb'] as ('lmdb' | 'mongodb')[], count: 100 };

const SECRET = 'bench-walk-secret-long-enough-for-hs256!!';
const DEEP_PAGES = 5;

interface WalkResult {
  label: string;
  pages: number;
  seconds: number;
  first: number;
  p50: number;
  p99: number;
  max: number;
  ok: boolean;
  problem?: string;
}

interface Row {
  store: string;
  size: number;
  seedSeconds: number;
  walks: WalkResult[];
  deep: { startIndex: number; ms: number }[];
}

interface Page {
  totalResults: number;
  Resources?: { id: string; userName: string }[];
  nextCursor?: string;
}

export async function walkBenchmark(options: WalkBenchOptions): Promise<void> {
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const started = Date.now();
  const users = SchemaRegistry.fromDirectory().resourceSchema('User');
  const headersFor = async (client: string) => ({
    authorization: `Bearer ${await mintToken({ secret: SECRET }, { scope: 'scim:read', ttlSeconds: 24 * 3600, clientId: client })}`,
  });
  const walker = await headersFor('importer');
  const other = await headersFor('someone-else');
  const rows: Row[] = [];
  for (const store of options.stores) {
    for (const size of options.sizes) {
      const cleanups: (() => Promise<void>)[] = [];
      try {
        log(`${store} ${size.toLocaleString('en')}: seeding`);
        const seeded = await seedStore(store, { size, users, mongodbUri: options.uri, label: 'walk' }, cleanups, log);
        log(`  seeded in ${seeded.seconds.toFixed(1)} s`);
        const seededAt = Date.now();
        // The benchmark measures how long pages take: the database deadline would turn a slow one into a 503.
        const server = await startServer({ ...seeded.env, SCIM_JWT_SECRET: SECRET, SCIM_DB_TIMEOUT_MS: '600000' });
        cleanups.unshift(() => server.stop());
        const get = async (query: string, headers: Record<string, string>): Promise<{ page: Page; ms: number }> => {
          const t0 = performance.now();
          const res = await fetch(`${server.base}/scim/v2/Users?${query}`, { headers });
          const page = (await res.json()) as Page;
          const ms = performance.now() - t0;
          if (res.status !== 200) throw new Error(`${query}: ${res.status} ${JSON.stringify(page)}`);
          return { page, ms };
        };
        const expected = new Set(seeded.ids);
        const walk = async (label: string, next: (n: number, prev: Page | undefined) => string | undefined, order?: (a: string, b: string) => boolean): Promise<WalkResult> => {
          const times: number[] = [];
          const seen = new Set<string>();
          let problem: string | undefined;
          let prevName: string | undefined;
          let prev: Page | undefined;
          const t0 = performance.now();
          for (let n = 0; ; n++) {
            const query = next(n, prev);
            if (query === undefined) break;
            const { page, ms } = await get(query, walker);
            times.push(ms);
            const got = page.Resources ?? [];
            for (const r of got) {
              if (seen.has(r.id)) problem ??= `${r.id} returned twice`;
              seen.add(r.id);
              if (order && prevName !== undefined && !order(prevName, r.userName)) problem ??= `${r.userName} after ${prevName}`;
              prevName = r.userName;
            }
            prev = page;
            if (got.length < options.count) break;
          }
          const seconds = (performance.now() - t0) / 1000;
          for (const id of expected) if (!seen.has(id)) problem ??= `${id} never returned`;
          if (seen.size !== expected.size) problem ??= `${seen.size} returned of ${expected.size}`;
          const sorted = [...times].sort((a, b) => a - b);
          const first = percentile([...times.slice(0, 10)].sort((a, b) => a - b), 50);
          const result = { label, pages: times.length, seconds, first, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? NaN, ok: problem === undefined, problem };
          log(`  ${label}: ${result.pages} pages in ${seconds.toFixed(1)} s; first ${first.toFixed(1)} ms, p50 ${result.p50.toFixed(1)}, p99 ${result.p99.toFixed(1)}, max ${result.max.toFixed(1)}${problem ? `; WRONG: ${problem}` : ''}`);
          return result;
        };
        const c = options.count;
        const byName = (a: string, b: string) => a.toLowerCase() < b.toLowerCase();
        // On the test database, PostgreSQL plans from table statistics that autovacuum's ANALYZE gathers within a
        // minute of a bulk load; until then a range on _id may be planned as a full scan (the first cursor walk
        // measured right after seeding had 870 ms pages). The walks wait for it, as a directory in use would have it.
        if (store === 'mongodb') {
          const wait = Math.max(0, 70_000 - (Date.now() - seededAt));
          log(`  waiting ${(wait / 1000).toFixed(0)} s for the database's statistics`);
          await new Promise((r) => setTimeout(r, wait));
        }
        // Warm-up, unmeasured: the first pages of each walk, by a client of its own (so no walk of the walker's).
        for (const q of ['cursor=&count=', 'startIndex=1&count=', 'sortBy=userName&startIndex=1&count=']) {
          for (let i = 0; i < 20; i++) await get(`${q}${c}`, other);
        }
        const byCursor = (sort: string) => (n: number, prev: Page | undefined) =>
          n === 0 ? `${sort}cursor=&count=${c}` : prev?.nextCursor ? `${sort}cursor=${encodeURIComponent(prev.nextCursor)}&count=${c}` : undefined;
        // Each index walk is compared with the cursor walk of the same order.
        const walks = [
          await walk('cursor (RFC 9865)', byCursor('')),
          await walk('index (startIndex, no sortBy)', (n) => `startIndex=${n * c + 1}&count=${c}`),
          await walk('cursor sorted (sortBy=userName)', byCursor('sortBy=userName&'), byName),
          await walk('index sorted (sortBy=userName)', (n) => `sortBy=userName&startIndex=${n * c + 1}&count=${c}`, byName),
        ];
        // The same pages asked out of the blue: read by skipping.
        const deep: Row['deep'] = [];
        for (let k = 1; k <= DEEP_PAGES; k++) {
          const startIndex = Math.floor((size * k) / (DEEP_PAGES + 1) / c) * c + 1;
          const { ms } = await get(`startIndex=${startIndex}&count=${c}`, other);
          deep.push({ startIndex, ms });
        }
        log(`  pages by skipping (another client): ${deep.map((d) => `${d.startIndex}: ${d.ms.toFixed(0)} ms`).join(', ')}`);
        rows.push({ store, size, seedSeconds: seeded.seconds, walks, deep });
      } finally {
        for (const cleanup of cleanups) await cleanup().catch((e) => log(`cleanup: ${(e as Error).message}`));
      }
    }
  }
  const failures = verdicts(rows).filter((v) => !v.ok).map((v) => v.text);
  const report = render(options, rows, (Date.now() - started) / 1000);
  if (options.report) writeReportSection(options.report, 'walk', `npm run bench -- ${options.argv.join(' ')}`, report);
  else process.stdout.write(`${report}\n`);
  if (failures.length > 0) {
    process.stderr.write(`walk: targets missed: ${failures.join('; ')}\n`);
    process.exitCode = 1;
  }
}

/** The index walks (the odd entries), each with the cursor walk of the same order before it. */
function pairs(r: Row): { cursor: WalkResult; w: WalkResult }[] {
  return [1, 3].flatMap((i) => (r.walks[i] ? [{ cursor: r.walks[i - 1]!, w: r.walks[i]! }] : []));
}

function verdicts(rows: Row[]): { ok: boolean; text: string }[] {
  return rows.flatMap((r) => {
    return pairs(r).flatMap(({ cursor, w }) => [
      { ok: w.ok, text: `${r.store} ${r.size}: ${w.label} ${w.problem ?? 'correct'}` },
      { ok: w.p99 <= 2 * w.first, text: `${r.store} ${r.size}: ${w.label} p99 page ${(w.p99 / w.first).toFixed(2)}x its first pages` },
      { ok: w.seconds <= 2 * cursor.seconds, text: `${r.store} ${r.size}: ${w.label} ${(w.seconds / cursor.seconds).toFixed(2)}x the cursor walk` },
    ]);
  });
}

function render(options: WalkBenchOptions, rows: Row[], seconds: number): string {
  const cpus = os.cpus();
  const f = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));
  const out = [
    '## Results',
    '',
    `- Date: ${new Date().toISOString()}`,
    `- Machine: ${cpus.length} cores (${cpus[0]?.model ?? 'unknown'}), Node.js ${process.version}; server, database and client on this machine, over loopback; load average at the end ${os.loadavg()[0]!.toFixed(2)}`,
    `- Command: \`npm run bench -- ${options.argv.join(' ')}\``,
    `- One client, one page at a time, count=${options.count}; the MongoDB store on ${options.uri ? 'MONGODB_URI' : 'the test database (FerretDB 2.5 on PostgreSQL 15 + DocumentDB)'}; whole run ${seconds.toFixed(0)} s`,
    '',
    '| store | users | walk | pages | whole walk | vs the cursor walk of the same order | first pages p50 ms | p50 ms | p99 ms | max ms | p99 / first | every user once, in order |',
    '| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: |',
    ...rows.flatMap((r) =>
      r.walks.map(
        (w, i) =>
          `| ${r.store} | ${r.size.toLocaleString('en')} | ${w.label} | ${w.pages} | ${w.seconds.toFixed(1)} s | ${(w.seconds / r.walks[i - (i % 2)]!.seconds).toFixed(2)}x | ${f(w.first)} | ${f(w.p50)} | ${f(w.p99)} | ${f(w.max)} | ${(w.p99 / w.first).toFixed(2)}x | ${w.ok ? 'yes' : `**no**: ${w.problem}`} |`,
      ),
    ),
    '',
    'Pages asked by another client (no walk of its own, so read by skipping), ms:',
    '',
    ...rows.map((r) => `- ${r.store} ${r.size.toLocaleString('en')}: ${r.deep.map((d) => `startIndex ${d.startIndex.toLocaleString('en')} ${f(d.ms)}`).join('; ')}`),
    '',
  ];
  const missed = verdicts(rows).filter((v) => !v.ok);
  out.push(missed.length === 0 ? 'Targets met: every index walk correct, its p99 page within 2x of its first pages, and the walk within 2x of the cursor walk of the same order.' : `**Targets missed:** ${missed.map((v) => v.text).join('; ')}.`);
  return out.join('\n');
}
