/**
 * `npm run bench -- soak`: a provisioning client's mixed traffic for minutes on end, watching for what only time shows
 *: memory that keeps growing, latency that creeps up, errors that appear under sustained load.
 *
 * Per store (the embedded store, then MongoDB: the test database unless MONGODB_URI or --mongodb-uri), the built server
 * (dist/src/server.js, JWT on every request, logging at info as `npm start` does, SCIM_RATE_LIMIT=0 so that its rate
 * limit does not throttle the load) is seeded with 20,000 users, then driven by a closed loop of 16 keep-alive
 * connections in this process, each sending its next request when its previous answer is read. The mix:
 *   50% GET /Users/{id} of a seeded user;
 *   20% PATCH of a seeded user's job info (title and the enterprise department), half with If-Match of the ETag last
 *       seen for it, half without;
 *   10% POST of a new user (an HR-shaped payload, a userName of this run's own);
 *    5% a filter `userName eq "…"` of a seeded user, 5% a page of 100 users at a random startIndex;
 *    5% PUT of a user this run created (the whole user, a new title, with If-Match);
 *    5% DELETE of a user this run created.
 * A user the run created is taken out of its pool while a PUT or a DELETE works on it, so the two never race; with
 * none in the pool yet, a PUT or a DELETE is a POST instead. Every answer must have its status (GET 200, PATCH 200,
 * POST 201, list 200 with the user the filter names, PUT 200, DELETE 204); a PATCH with If-Match may also be 412 (another
 * connection changed the user since its ETag was seen) and one without may be 409 (the server gave up retrying a
 * concurrent change): those are counted as conflicts, not errors. Anything else (a 5xx, a 429, a lost connection, a
 * wrong list) is an error; more than 0.1% errors fails the run.
 *
 * After an unmeasured 10 s warm-up (its requests checked and counted in the totals), the run is cut into windows of
 * 10 s; at the end of each, the server's memory is read from /proc (RSS, and its anonymous and file-backed parts) and
 * GET /metrics is scraped once (its size recorded; skipped silently while the server has no such endpoint, 404). The
 * verdict per store: RSS at the last window under 1.2x the first window's, and p99 latency of the last window under
 * 1.5x the first's (the drift), and errors at most 0.1%: PASS, else FAIL (exit 1 unless --no-check).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { mintToken } from '../src/cli/mint';
import { SchemaRegistry, SCHEMA_URNS } from '../src/scim/schema';
import { rssOf } from './embedded';
import { writeReportSection } from './report';
import { seedStore } from './seed-store';
import { HttpClient, percentile, ROOT, startServer } from './support';

export interface SoakBenchOptions {
  /** Users seeded into each store first. */
  size: number;
  /** Measured seconds of load per store (after the warm-up); at least two windows. */
  seconds: number;
  /** Keep-alive connections of the closed loop. */
  connections: number;
  stores: ('lmdb' | 'mongodb')[];
  mongodbUri?: string;
  /** Exit non-zero when a store fails the verdict. */
  check: boolean;
  report?: string;
  argv: string[];
}

export const SOAK_DEFAULTS = { size: 20_000, seconds: 180, connections: 16, stores: ['lmdb', 'mongodb'] as ('lmdb' | 'mongodb')[], check: true };

/** Length of a window, in ms. */
export const WINDOW_MS = 10_000;
/** Unmeasured load before the first window. */
const WARMUP_MS = 10_000;
/** The verdict's bounds: RSS last / first window, p99 last / first window, errors / requests. */
const MAX_RSS_GROWTH = 0.2;
const MAX_P99_DRIFT = 1.5;
const MAX_ERROR_RATE = 0.001;
/** A request with no answer after this long is an error. */
const REQUEST_TIMEOUT_MS = 30_000;

const SECRET = 'bench-soak-secret-long-enough-for-hs256!!';
const EXT = SCHEMA_URNS.enterpriseUser;
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

const GIVEN = ['Anna', 'Ben', 'Chiara', 'Dmitri', 'Elif', 'Farid', 'Greta', 'Hiro', 'Ines', 'Jonas', 'Kemal', 'Lea', 'Mateo', 'Nora', 'Olu', 'Priya'];
const FAMILY = ['Andersen', 'Bauer', 'Costa', 'Dubois', 'Eriksen', 'Fischer', 'Hansen', 'Ivanova', 'Jensen', 'Kowalski', 'Nakamura', 'Okafor', 'Petrov', 'Rossi'];
const TITLES = ['Software Engineer', 'Senior Accountant', 'Account Executive', 'Support Specialist', 'Product Manager', 'Legal Counsel', 'HR Business Partner', 'Operations Analyst'];
const DEPARTMENTS = ['Engineering', 'Finance', 'Sales', 'Support', 'Product', 'Legal', 'People', 'Operations'];

type Kind = 'get' | 'patch' | 'post' | 'filter' | 'page' | 'put' | 'delete';

/** The mix, in percent of requests, in report order. */
const MIX: { kind: Kind; percent: number; label: string }[] = [
  { kind: 'get', percent: 50, label: 'GET /Users/{id}' },
  { kind: 'patch', percent: 20, label: 'PATCH job info (If-Match on half)' },
  { kind: 'post', percent: 10, label: 'POST /Users' },
  { kind: 'filter', percent: 5, label: 'filter userName eq' },
  { kind: 'page', percent: 5, label: 'a page of 100' },
  { kind: 'put', percent: 5, label: 'PUT of a user it created (If-Match)' },
  { kind: 'delete', percent: 5, label: 'DELETE of a user it created' },
];

interface Answer {
  status: number;
  body: string;
  etag?: string;
}

/** Requests over keep-alive connections with per-request headers (If-Match) and the answer's ETag. */
class Requester {
  private readonly agent: http.Agent;

  constructor(
    private readonly base: string,
    private readonly headers: Record<string, string>,
    sockets: number,
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: sockets });
  }

  /** One request; status 0 when it got no answer (the error in `body`). */
  send(method: string, p: string, body?: string, extra?: Record<string, string>): Promise<Answer> {
    const payload = body === undefined ? undefined : Buffer.from(body);
    const headers = { ...this.headers, ...extra, ...(payload ? { 'content-type': 'application/scim+json', 'content-length': String(payload.length) } : {}) };
    return new Promise((resolve) => {
      const req = http.request(`${this.base}${p}`, { method, agent: this.agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const etag = res.headers.etag;
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), ...(typeof etag === 'string' ? { etag } : {}) });
        });
        res.on('error', (e) => resolve({ status: 0, body: e.message }));
      });
      req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`no answer after ${REQUEST_TIMEOUT_MS} ms`)));
      req.on('error', (e) => resolve({ status: 0, body: e.message }));
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** A user this run created: what it sent, and the ETag of its last answer. */
interface Own {
  id: string;
  body: Record<string, unknown>;
  etag?: string;
}

interface Tally {
  requests: number;
  errors: number;
  conflicts: number;
  latencies: number[];
}

const tally = (): Tally => ({ requests: 0, errors: 0, conflicts: 0, latencies: [] });

interface Memory {
  rss: number;
  anon: number;
  file: number;
  hwm: number;
}

export interface WindowResult {
  /** Seconds since the first window began, at this window's end. */
  end: number;
  requests: number;
  errors: number;
  conflicts: number;
  rps: number;
  p50: number;
  p99: number;
  /** Bytes, at the window's end. */
  memory: Memory;
  /** Bytes of the /metrics text scraped at the window's end (undefined: no /metrics, or it failed). */
  metricsBytes?: number;
}

interface StoreResult {
  store: 'lmdb' | 'mongodb';
  seedSeconds: number;
  windows: WindowResult[];
  /** Every request of the run, the warm-up's included. */
  total: Tally;
  warmupRequests: number;
  /** Requests in the windows over the windows' seconds. */
  rps: number;
  kinds: Record<Kind, { requests: number; errors: number; conflicts: number; p50: number; p99: number }>;
  /** A few of the wrong answers, for the report. */
  examples: string[];
  created: number;
  deleted: number;
  /** What GET /metrics answered, when not 200 (404: no endpoint yet). */
  metricsStatus?: number;
}

export interface Verdict {
  errorRate: number;
  rssGrowth: number;
  p50Drift: number;
  p99Drift: number;
  pass: boolean;
  why: string[];
}

/** The verdict of a store from its windows and totals (see the top of the file). */
export function verdictOf(windows: readonly WindowResult[], requests: number, errors: number): Verdict {
  const first = windows[0]!;
  const last = windows[windows.length - 1]!;
  const errorRate = requests > 0 ? errors / requests : 1;
  // The server's own memory (anonymous pages): the file-mapped part is the embedded store's data, which a mix with
  // more creates than deletes grows by design, and which the kernel may drop at will.
  const rssGrowth = last.memory.anon / first.memory.anon - 1;
  const p50Drift = last.p50 / first.p50;
  const p99Drift = last.p99 / first.p99;
  const why: string[] = [];
  if (!(errorRate <= MAX_ERROR_RATE)) why.push(`errors ${(errorRate * 100).toFixed(3)}% > ${MAX_ERROR_RATE * 100}%`);
  if (!(rssGrowth < MAX_RSS_GROWTH)) why.push(`anonymous memory grew ${(rssGrowth * 100).toFixed(1)}% ≥ ${MAX_RSS_GROWTH * 100}%`);
  if (!(p99Drift < MAX_P99_DRIFT)) why.push(`p99 drift ${p99Drift.toFixed(2)}x ≥ ${MAX_P99_DRIFT}x`);
  return { errorRate, rssGrowth, p50Drift, p99Drift, pass: why.length === 0, why };
}

/** mulberry32: the run's choices, reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function memoryOf(pid: number | undefined): Memory {
  try {
    const m = rssOf(pid);
    return { rss: m.rss, anon: m.anon, file: m.file, hwm: m.hwm };
  } catch {
    // The server is gone (its errors say why).
    return { rss: NaN, anon: NaN, file: NaN, hwm: NaN };
  }
}

const sorted = (xs: number[]) => xs.sort((a, b) => a - b);

export async function soakBenchmark(options: SoakBenchOptions): Promise<void> {
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const started = Date.now();
  const users = SchemaRegistry.fromDirectory().resourceSchema('User');
  const token = await mintToken({ secret: SECRET }, { scope: 'scim:read scim:write', ttlSeconds: 24 * 3600 });
  const auth = { authorization: `Bearer ${token}` };
  // Every userName this run creates starts with it, so no two runs collide.
  const tag = `soak${randomBytes(3).toString('hex')}`;
  const windowCount = Math.floor((options.seconds * 1000) / WINDOW_MS);
  if (windowCount < 2) throw new Error(`--seconds ${options.seconds}: at least ${(2 * WINDOW_MS) / 1000} s, for a first and a last window`);
  const results: StoreResult[] = [];
  for (const store of options.stores) {
    const cleanups: (() => Promise<void>)[] = [];
    try {
      log(`${store}: seeding ${options.size.toLocaleString('en')} users`);
      const { ids, seconds: seedSeconds, env } = await seedStore(store, { size: options.size, users, mongodbUri: options.mongodbUri, label: 'soak' }, cleanups, log);
      // No rate limit (the setting is ignored by a server without one); logging as `npm start` does, to /dev/null.
      const server = await startServer({ ...env, SCIM_JWT_SECRET: SECRET, LOG_LEVEL: 'info', SCIM_RATE_LIMIT: '0' });
      cleanups.unshift(() => server.stop());
      const client = new Requester(server.base, auth, options.connections);
      // /metrics on a connection of its own, without the SCIM token (a scraper has none).
      const scraper = new HttpClient(server.base, {}, 1);
      cleanups.unshift(async () => {
        client.close();
        scraper.close();
      });
      results.push(await soakOne(store, options, { ids, seedSeconds, client, scraper, pid: server.pid, tag: `${tag}${store[0]}`, windowCount }, log));
    } finally {
      for (const c of cleanups) await c().catch((e: unknown) => log(`cleanup: ${String(e)}`));
    }
  }
  const verdicts = results.map((r) => verdictOf(r.windows, r.total.requests, r.total.errors));
  const report = render(options, results, verdicts, Date.now() - started);
  process.stdout.write(`${report}\n`);
  if (options.report) {
    // The first time, the section gets the heading of its part of the report above it (writeReportSection appends the
    // section at the end of the file when its markers are not there yet).
    const full = path.isAbsolute(options.report) ? options.report : path.join(ROOT, options.report);
    const text = existsSync(full) ? readFileSync(full, 'utf8') : '';
    if (!text.includes('<!-- bench:soak:begin')) writeFileSync(full, `${text.trimEnd()}${text.trim() ? '\n\n' : ''}# Benchmark report: soak\n`);
    writeReportSection(options.report, 'soak', `npm run bench -- ${options.argv.join(' ')}`, report);
  }
  results.forEach((r, i) => {
    const v = verdicts[i]!;
    log(`bench soak: ${r.store}: ${v.pass ? 'PASS' : `FAIL (${v.why.join('; ')})`}: errors ${(v.errorRate * 100).toFixed(3)}%, anonymous memory ${((v.rssGrowth) * 100).toFixed(1)}%, p99 drift ${v.p99Drift.toFixed(2)}x`);
  });
  const failed = results.filter((_, i) => !verdicts[i]!.pass);
  if (failed.length > 0 && options.check) {
    process.stderr.write(`bench soak: FAIL on ${failed.map((r) => r.store).join(', ')} (--no-check to report without failing)\n`);
    process.exitCode = 1;
  }
}

async function soakOne(
  store: 'lmdb' | 'mongodb',
  options: SoakBenchOptions,
  ctx: { ids: string[]; seedSeconds: number; client: Requester; scraper: HttpClient; pid: number | undefined; tag: string; windowCount: number },
  log: (s: string) => void,
): Promise<StoreResult> {
  const { ids, client, scraper, tag, windowCount } = ctx;
  const random = prng(42);
  const below = (n: number) => Math.floor(random() * n);
  // The embedded seed names users userNNNNNNN (7 digits), the MongoDB seed userNNNNNN (6); user i has ids[i].
  const userName = (i: number) => `user${String(i).padStart(store === 'lmdb' ? 7 : 6, '0')}`;
  /** The ETag last seen of each seeded user. */
  const etags = new Map<string, string>();
  /** Users this run created and has not deleted, not being PUT or deleted right now. */
  const own: Own[] = [];
  let created = 0;
  let deleted = 0;
  let made = 0;

  const hire = (): Record<string, unknown> => {
    const i = made++;
    const given = GIVEN[i % GIVEN.length]!;
    const family = FAMILY[(i * 7 + 3) % FAMILY.length]!;
    const n = String(i).padStart(6, '0');
    const role = (i * 5) % TITLES.length;
    return {
      schemas: [SCHEMA_URNS.user, EXT],
      userName: `${tag}-${n}`,
      name: { givenName: given, familyName: family },
      displayName: `${given} ${family}`,
      emails: [{ value: `${given}.${family}.${tag}-${n}@example.com`.toLowerCase(), type: 'work', primary: true }],
      title: TITLES[role]!,
      active: true,
      [EXT]: { employeeNumber: `${tag}-E${n}`, department: DEPARTMENTS[role]!, costCenter: `CC-${100 + ((i * 13) % 60)}` },
    };
  };
  const idOf = (body: string): string | undefined => /"id"\s*:\s*"([^"]+)"/.exec(body)?.[1];

  const total = tally();
  const kinds = Object.fromEntries(MIX.map((m) => [m.kind, tally()])) as Record<Kind, Tally>;
  const windows: Tally[] = Array.from({ length: windowCount }, tally);
  const examples = new Map<string, string>();
  let warmupRequests = 0;

  const t0 = performance.now() + WARMUP_MS;
  const stopAt = t0 + options.seconds * 1000;

  /** Counts one answer: ok, a conflict the race makes legitimate, or an error. */
  const record = (kind: Kind, what: string, ms: number, outcome: 'ok' | 'conflict' | 'error', answer: Answer, why?: string) => {
    const now = performance.now();
    const w = now < t0 ? undefined : windows[Math.floor((now - t0) / WINDOW_MS)];
    if (now < t0) warmupRequests++;
    for (const t of [total, kinds[kind], ...(w ? [w] : [])]) {
      t.requests++;
      if (outcome === 'error') t.errors++;
      if (outcome === 'conflict') t.conflicts++;
      if (t !== total) t.latencies.push(ms);
    }
    if (outcome === 'error') {
      const key = `${what} → ${answer.status || 'no answer'}`;
      if (!examples.has(key) && examples.size < 8) examples.set(key, `${key}${why ? ` (${why})` : ''}: ${answer.body.replace(/\s+/g, ' ').slice(0, 200)}`);
    }
  };

  const timed = async (method: string, p: string, body?: string, extra?: Record<string, string>): Promise<[Answer, number]> => {
    const t = performance.now();
    const answer = await client.send(method, p, body, extra);
    return [answer, performance.now() - t];
  };

  const post = async () => {
    const body = hire();
    const [a, ms] = await timed('POST', '/scim/v2/Users', JSON.stringify(body));
    const id = a.status === 201 ? idOf(a.body) : undefined;
    if (id) {
      created++;
      own.push({ id, body, ...(a.etag ? { etag: a.etag } : {}) });
    }
    record('post', 'POST /Users', ms, id ? 'ok' : 'error', a, a.status === 201 ? 'no id in the answer' : undefined);
  };

  const one = async (kind: Kind) => {
    switch (kind) {
      case 'get': {
        const id = ids[below(ids.length)]!;
        const [a, ms] = await timed('GET', `/scim/v2/Users/${id}`);
        if (a.status === 200 && a.etag) etags.set(id, a.etag);
        record(kind, 'GET /Users/{id}', ms, a.status === 200 ? 'ok' : 'error', a);
        return;
      }
      case 'patch': {
        const id = ids[below(ids.length)]!;
        const etag = random() < 0.5 ? etags.get(id) : undefined;
        const body = JSON.stringify({
          schemas: [PATCH_OP],
          Operations: [{ op: 'replace', value: { title: TITLES[below(TITLES.length)], [`${EXT}:department`]: DEPARTMENTS[below(DEPARTMENTS.length)] } }],
        });
        const [a, ms] = await timed('PATCH', `/scim/v2/Users/${id}`, body, etag ? { 'if-match': etag } : undefined);
        if (a.status === 200 && a.etag) etags.set(id, a.etag);
        if (a.status === 412) etags.delete(id);
        // 412: another connection changed the user since its ETag was seen; 409: the server gave up retrying a change
        // racing its own (no If-Match).
        const race = etag ? a.status === 412 : a.status === 409;
        record(kind, `PATCH /Users/{id}${etag ? ' If-Match' : ''}`, ms, a.status === 200 ? 'ok' : race ? 'conflict' : 'error', a);
        return;
      }
      case 'post':
        return post();
      case 'filter': {
        const i = below(ids.length);
        const [a, ms] = await timed('GET', `/scim/v2/Users?filter=${encodeURIComponent(`userName eq "${userName(i)}"`)}`);
        const right = a.status === 200 && /"totalResults"\s*:\s*1\b/.test(a.body) && a.body.includes(ids[i]!);
        record(kind, 'GET /Users?filter=userName eq', ms, right ? 'ok' : 'error', a, a.status === 200 ? `not the one user ${userName(i)}` : undefined);
        return;
      }
      case 'page': {
        const start = 1 + below(Math.max(1, ids.length - 100));
        const [a, ms] = await timed('GET', `/scim/v2/Users?startIndex=${start}&count=100`);
        record(kind, 'GET /Users?count=100', ms, a.status === 200 ? 'ok' : 'error', a);
        return;
      }
      case 'put': {
        // Taken out of the pool while it is replaced: no DELETE can race it.
        const user = own.length > 0 ? own.splice(below(own.length), 1)[0]! : undefined;
        if (!user) return post();
        user.body = { ...user.body, title: TITLES[below(TITLES.length)] };
        const [a, ms] = await timed('PUT', `/scim/v2/Users/${user.id}`, JSON.stringify(user.body), user.etag ? { 'if-match': user.etag } : undefined);
        if (a.etag) user.etag = a.etag;
        own.push(user);
        record(kind, 'PUT /Users/{id} If-Match', ms, a.status === 200 ? 'ok' : 'error', a);
        return;
      }
      case 'delete': {
        const user = own.length > 0 ? own.splice(below(own.length), 1)[0]! : undefined;
        if (!user) return post();
        const [a, ms] = await timed('DELETE', `/scim/v2/Users/${user.id}`);
        if (a.status === 204) deleted++;
        else own.push(user);
        record(kind, 'DELETE /Users/{id}', ms, a.status === 204 ? 'ok' : 'error', a);
        return;
      }
    }
  };

  const pickKind = (): Kind => {
    let r = random() * 100;
    for (const m of MIX) {
      if (r < m.percent) return m.kind;
      r -= m.percent;
    }
    return 'get';
  };

  // Memory and /metrics at the end of each window.
  const memory: Memory[] = [];
  const metrics: (number | undefined)[] = [];
  let metricsStatus: number | undefined;
  const scrapes: Promise<void>[] = [];
  const scrape = async (k: number) => {
    try {
      const res = await scraper.get('/metrics');
      if (res.status === 200) metrics[k] = Buffer.byteLength(res.body);
      else if (metricsStatus === undefined) {
        metricsStatus = res.status;
        if (res.status !== 404) log(`  GET /metrics answered ${res.status}; not scraped again: ${res.body.slice(0, 200)}`);
      }
    } catch (e) {
      log(`  GET /metrics: ${String(e)}`);
    }
  };
  const sampler = (async () => {
    for (let k = 0; k < windowCount; k++) {
      await sleep(Math.max(0, t0 + (k + 1) * WINDOW_MS - performance.now()));
      memory[k] = memoryOf(ctx.pid);
      if (metricsStatus === undefined) scrapes.push(scrape(k));
      const w = windows[k]!;
      const l = sorted([...w.latencies]);
      log(
        `  ${store} window ${k + 1}/${windowCount}: ${w.requests} requests (${(w.requests / (WINDOW_MS / 1000)).toFixed(0)}/s), errors ${w.errors}, conflicts ${w.conflicts}, ` +
          `p50 ${percentile(l, 50).toFixed(1)} ms, p99 ${percentile(l, 99).toFixed(1)} ms, RSS ${(memory[k]!.rss / 1048576).toFixed(0)} MB (anonymous ${(memory[k]!.anon / 1048576).toFixed(0)} MB)`,
      );
    }
  })();

  log(`  ${store}: ${(WARMUP_MS / 1000).toFixed(0)} s warm-up, then ${options.seconds} s of mixed load on ${options.connections} connections`);
  await Promise.all(
    Array.from({ length: options.connections }, async () => {
      while (performance.now() < stopAt) await one(pickKind());
    }),
  );
  await sampler;
  await Promise.all(scrapes);

  const seconds = (windowCount * WINDOW_MS) / 1000;
  const windowResults: WindowResult[] = windows.map((w, k) => {
    const l = sorted(w.latencies);
    return {
      end: ((k + 1) * WINDOW_MS) / 1000,
      requests: w.requests,
      errors: w.errors,
      conflicts: w.conflicts,
      rps: w.requests / (WINDOW_MS / 1000),
      p50: percentile(l, 50),
      p99: percentile(l, 99),
      memory: memory[k]!,
      ...(metrics[k] !== undefined ? { metricsBytes: metrics[k] } : {}),
    };
  });
  const kindResults = Object.fromEntries(
    MIX.map(({ kind }) => {
      const t = kinds[kind];
      const l = sorted(t.latencies);
      return [kind, { requests: t.requests, errors: t.errors, conflicts: t.conflicts, p50: percentile(l, 50), p99: percentile(l, 99) }];
    }),
  ) as StoreResult['kinds'];
  const inWindows = windowResults.reduce((a, w) => a + w.requests, 0);
  log(`  ${store}: ${total.requests} requests (${warmupRequests} in the warm-up), ${total.errors} errors, ${total.conflicts} conflicts; ${created} users created, ${deleted} deleted`);
  return {
    store,
    seedSeconds: ctx.seedSeconds,
    windows: windowResults,
    total: { ...total, latencies: [] },
    warmupRequests,
    rps: inWindows / seconds,
    kinds: kindResults,
    examples: [...examples.values()],
    created,
    deleted,
    ...(metricsStatus !== undefined ? { metricsStatus } : {}),
  };
}

function render(options: SoakBenchOptions, results: StoreResult[], verdicts: Verdict[], ms: number): string {
  const mb = (b: number) => (b / 1048576).toFixed(0);
  const ms1 = (x: number) => (x < 10 ? x.toFixed(2) : x.toFixed(1));
  const storeName = (s: StoreResult['store']) => (s === 'lmdb' ? 'embedded (LMDB)' : 'MongoDB (the test database unless MONGODB_URI)');
  const mix = MIX.map((m) => `${m.percent}% ${m.label}`).join(', ');
  const lines = [
    '## Soak',
    '',
    '`npm run bench -- soak` (source: `bench/soak.ts`) drives the built server with a provisioning client\'s mixed traffic',
    `for minutes on end, per store, and watches what only time shows: memory that keeps growing, latency that creeps`,
    'up, errors under sustained load. A closed loop of keep-alive connections in the benchmark\'s process, each sending',
    `its next request when its previous answer is read; the mix: ${mix}.`,
    'Every answer is checked (GET 200, PATCH 200, POST 201, a filter 200 naming its one user, a page 200, PUT 200, DELETE',
    '204); a PATCH with a stale If-Match may be 412 and one without may be 409 (the server gave up retrying a racing',
    'change): conflicts, counted apart. Anything else is an error.',
    '',
    `- Date: ${new Date().toISOString()}`,
    `- Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model.split(' ').slice(0, 2).join(' ') ?? '?'}), Node.js ${process.version}; server, database and load generator on this machine, over loopback; load average at the end ${os.loadavg()[0]!.toFixed(2)}`,
    `- Command: \`npm run bench -- ${options.argv.join(' ')}\``,
    `- ${options.size.toLocaleString('en')} users seeded per store; ${options.connections} connections; ${WARMUP_MS / 1000} s warm-up (checked, counted in the totals, not in the windows), then ${options.seconds} s measured in windows of ${WINDOW_MS / 1000} s; the server logs at info (a line per request, to /dev/null) as \`npm start\` does, with SCIM_RATE_LIMIT=0`,
    `- Verdict per store: errors ≤ ${MAX_ERROR_RATE * 100}% of requests, the server's anonymous memory (its RSS less the store's file-mapped pages) at the last window under ${1 + MAX_RSS_GROWTH}x the first window's, p99 of the last window under ${MAX_P99_DRIFT}x the first's`,
    `- Whole run ${(ms / 1000).toFixed(0)} s`,
    '',
    '| store | requests | errors | conflicts (412/409) | req/s | RSS first → last window (max) | anonymous first → last | anonymous growth | p50 first → last | p99 first → last | p99 drift | verdict |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  results.forEach((r, i) => {
    const v = verdicts[i]!;
    const first = r.windows[0]!;
    const last = r.windows[r.windows.length - 1]!;
    const max = Math.max(...r.windows.map((w) => w.memory.rss));
    lines.push(
      `| ${storeName(r.store)} | ${r.total.requests.toLocaleString('en')} | ${r.total.errors} (${(v.errorRate * 100).toFixed(3)}%) | ${r.total.conflicts} | ${r.rps.toFixed(0)} | ` +
        `${mb(first.memory.rss)} → ${mb(last.memory.rss)} MB (${mb(max)}) | ${mb(first.memory.anon)} → ${mb(last.memory.anon)} MB | ${v.rssGrowth >= 0 ? '+' : ''}${(v.rssGrowth * 100).toFixed(1)}% | ` +
        `${ms1(first.p50)} → ${ms1(last.p50)} ms | ${ms1(first.p99)} → ${ms1(last.p99)} ms | ${v.p99Drift.toFixed(2)}x | ${v.pass ? 'PASS' : `**FAIL** (${v.why.join('; ')})`} |`,
    );
  });
  for (const r of results) {
    const metrics = r.windows.some((w) => w.metricsBytes !== undefined);
    lines.push('', `### Windows: ${storeName(r.store)}`, '');
    lines.push(
      `| window | ends at s | requests | req/s | errors | conflicts | p50 ms | p99 ms | RSS MB | anonymous MB | file MB |${metrics ? ' /metrics bytes |' : ''}`,
      `| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |${metrics ? ' ---: |' : ''}`,
    );
    r.windows.forEach((w, k) => {
      lines.push(
        `| ${k + 1} | ${w.end} | ${w.requests.toLocaleString('en')} | ${w.rps.toFixed(0)} | ${w.errors} | ${w.conflicts} | ${ms1(w.p50)} | ${ms1(w.p99)} | ${mb(w.memory.rss)} | ${mb(w.memory.anon)} | ${mb(w.memory.file)} |${metrics ? ` ${w.metricsBytes ?? ''} |` : ''}`,
      );
    });
    lines.push('', '| request | share | requests | errors | conflicts | p50 ms | p99 ms |', '| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const m of MIX) {
      const k = r.kinds[m.kind];
      lines.push(`| ${m.label} | ${m.percent}% | ${k.requests.toLocaleString('en')} | ${k.errors} | ${k.conflicts} | ${ms1(k.p50)} | ${ms1(k.p99)} |`);
    }
    const last = r.windows[r.windows.length - 1]!;
    const metricsNote = metrics
      ? `/metrics text ${r.windows.find((w) => w.metricsBytes !== undefined)!.metricsBytes} → ${[...r.windows].reverse().find((w) => w.metricsBytes !== undefined)!.metricsBytes} bytes`
      : r.metricsStatus === 404 || r.metricsStatus === undefined
        ? 'no /metrics (404)'
        : `/metrics answered ${r.metricsStatus}, not scraped`;
    lines.push(
      '',
      `- ${r.warmupRequests.toLocaleString('en')} of the requests in the warm-up; ${r.created.toLocaleString('en')} users created, ${r.deleted.toLocaleString('en')} deleted (the directory grew by ${(r.created - r.deleted).toLocaleString('en')}); seeding ${r.seedSeconds.toFixed(1)} s; server peak RSS (VmHWM) ${mb(last.memory.hwm)} MB; ${metricsNote}.`,
    );
    if (r.examples.length > 0) lines.push(`- Wrong answers, first of each kind: ${r.examples.map((e) => `\`${e.replace(/`/g, "'")}\``).join('; ')}`);
  }
  lines.push(
    '',
    '**Reading the results.** The first window is the baseline, after the warm-up has made the code hot. A server that',
    'leaks shows RSS that keeps rising window after window; one that settles shows RSS flat after the first windows. RSS',
    "is the server's own (anonymous) memory plus the file pages it maps: on the embedded store those are the LMDB data",
    "file's pages it touched (the kernel's page cache, shared and reclaimable), and they grow with the directory, which",
    'this mix grows (10% creates against 5% deletes); the anonymous column is what a leak would raise. p99 drift compares',
    'the slowest requests of the last window with the first\'s: queues, caches or indexes that degrade with time or size',
    'show there first. On a machine of few cores the load generator, the server (and the database) share the CPUs, so',
    'single windows are noisy; a trend over many windows says more than one ratio.',
    '',
  );
  return lines.join('\n');
}
