/**
 * Processes and numbers for the benchmarks: a test database of their own, the server as a child process (so the load
 * generator does not share the server's event loop), a closed-loop load generator and percentiles.
 */
import type { FerretDB } from '../test/support/ferretdb';
import { ChildProcess, spawn } from 'node:child_process';
import http from 'node:http';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** The repository root: bench/*.ts runs compiled as dist/bench/*.js. */
export const ROOT = path.resolve(__dirname, '..', '..');

/**
 * The one FerretDB starter of the repository (with its free-port helper). It is plain JS under test/, outside what
 * tsc compiles into dist/, so it is loaded by path from the package root (typed by its .d.ts).
 */
function starter(): typeof import('../test/support/ferretdb') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(path.join(ROOT, 'test', 'support', 'ferretdb.js')) as typeof import('../test/support/ferretdb');
}

export function freePort(): Promise<number> {
  return starter().freePort();
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopProcess(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const gone = await Promise.race([exited(child).then(() => true), sleep(graceMs).then(() => false)]);
  if (!gone) {
    child.kill('SIGKILL');
    await exited(child);
  }
}

/** Keeps the last few kilobytes a child wrote to stderr, for error messages. */
function tailOf(child: ChildProcess): () => string {
  let tail = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    tail = (tail + chunk.toString()).slice(-4000);
  });
  child.on('error', (e) => {
    tail += `${e.message}\n`;
  });
  return () => tail.trim();
}

/**
 * The test database as the tests start it (test/support/ferretdb.js: FerretDB 2.5 on a private PostgreSQL 15 +
 * DocumentDB cluster, free port, throw-away data directory).
 */
export type Ferret = FerretDB;

/** The test database started the way the tests start it (installed first when missing); stopped on Ctrl-C too. */
export async function startFerretDB(): Promise<Ferret> {
  const found = starter().locateFerretDB();
  if (!('bin' in found)) throw new Error(`no test database: ${found.reason} (or set MONGODB_URI)`);
  const db = await starter().startFerretDB({ bin: found.bin });
  const forget = onInterrupt(() => db.stop());
  return { ...db, stop: async () => { forget(); await db.stop(); } };
}

export interface Server {
  base: string;
  pid: number | undefined;
  stop(): Promise<void>;
}

/** The built server (dist/src/server.js) as its own process, bound to loopback, ready when /readyz says so. */
export async function startServer(env: Record<string, string>): Promise<Server> {
  const entry = path.join(ROOT, 'dist', 'src', 'server.js');
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` (npm run bench does)`);
  const port = await freePort();
  // SCIM_BENCH_SERVER_NODE_ARGS go to the server's node: `--cpu-prof --cpu-prof-dir=/tmp/prof` profiles it under the
  // benchmark's own load (the profile is written when the server closes).
  const nodeArgs = (process.env.SCIM_BENCH_SERVER_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, entry], {
    env: {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'error',
      NODE_ENV: 'production',
      // One load generator is one caller sending thousands of requests a second on purpose: the rate limits of a
      // production server would answer most of them 429. Everything else is production's.
      SCIM_RATE_LIMIT: '0',
      SCIM_RATE_LIMIT_ANONYMOUS: '0',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const tail = tailOf(child);
  let stopping = false;
  // A server that dies mid-run shows as refused connections in the load generator; say why it died.
  child.once('exit', (code, signal) => {
    if (!stopping) process.stderr.write(`bench: the server (pid ${child.pid}) exited unexpectedly (code ${code}, signal ${signal}): ${tail() || 'no output'}\n`);
  });
  const stop = async () => {
    stopping = true;
    forget();
    await stopProcess(child);
  };
  const forget = onInterrupt(stop);
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`the server did not become ready: ${tail() || 'no output'}`);
    }
    try {
      const res = await fetch(`${base}/readyz`);
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  return { base, pid: child.pid, stop };
}

/**
 * GET over keep-alive HTTP/1.1 connections, without the 300 s header/body timeouts of fetch: on a database that
 * reads the whole collection per request, one request can take minutes.
 */
export class HttpClient {
  private readonly agent: http.Agent;

  constructor(
    private readonly base: string,
    private readonly headers: Record<string, string>,
    sockets: number,
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: sockets });
  }

  get(path: string): Promise<{ status: number; body: string }> {
    return this.request('GET', path);
  }

  /** One request; a body is sent as application/scim+json. */
  request(method: string, path: string, body?: unknown): Promise<{ status: number; body: string }> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers = payload ? { ...this.headers, 'content-type': 'application/scim+json', 'content-length': String(payload.length) } : this.headers;
    return new Promise((resolve, reject) => {
      const req = http.request(`${this.base}${path}`, { method, agent: this.agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** Nearest-rank percentile of ascending `sorted` (p in 0..100). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export interface LoadOptions {
  concurrency: number;
  /** Requests made first and not measured (the first of them is the probe, see `slowMs`). */
  warmup: number;
  /** At most this many measured requests… */
  maxRequests: number;
  /** …and no new request after this many seconds, once `minRequests` are done. */
  seconds: number;
  minRequests: number;
  /**
   * A query whose first (probe) request takes longer than this is measured in slow mode: the probe counts as the
   * first sample, and up to `slowRequests` - 1 more follow one at a time while they fit in `slowBudget`, so that a
   * query that reads the whole collection at every request cannot make the run last hours. Latency is then measured without queueing; requests per
   * second is 1 / mean latency of that single client.
   */
  slowMs: number;
  slowRequests: number;
  /** In slow mode, no further sample once the samples so far plus one more would exceed this many seconds. */
  slowBudget: number;
}

export interface LoadResult {
  requests: number;
  /** Clients actually used: `concurrency`, or 1 in slow mode. */
  concurrency: number;
  slow: boolean;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  mean: number;
  max: number;
}

function summarise(latencies: number[], seconds: number, concurrency: number, slow: boolean): LoadResult {
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    concurrency,
    slow,
    seconds,
    rps: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    mean: latencies.reduce((a, b) => a + b, 0) / latencies.length,
    max: latencies[latencies.length - 1]!,
  };
}

async function timed(one: () => Promise<void>): Promise<number> {
  const t = performance.now();
  await one();
  return performance.now() - t;
}

/**
 * A closed loop: `concurrency` workers, each sending its next request when the previous answer is read. `one()`
 * makes one request and returns when its body has been read and checked (it throws on a wrong answer).
 */
export async function runLoad(one: () => Promise<void>, opts: LoadOptions): Promise<LoadResult> {
  const probe = await timed(one);
  if (probe > opts.slowMs) {
    const latencies = [probe];
    let seconds = probe / 1000;
    while (latencies.length < opts.slowRequests && seconds + latencies[latencies.length - 1]! / 1000 <= opts.slowBudget) {
      const l = await timed(one);
      latencies.push(l);
      seconds += l / 1000;
    }
    return summarise(latencies, seconds, 1, true);
  }
  let warm = 1;
  await Promise.all(
    Array.from({ length: Math.min(opts.concurrency, Math.max(1, opts.warmup - 1)) }, async () => {
      while (warm < opts.warmup) {
        warm++;
        await one();
      }
    }),
  );
  const latencies: number[] = [];
  let started = 0;
  const t0 = performance.now();
  const mayStart = () => {
    if (started >= opts.maxRequests) return false;
    const elapsed = (performance.now() - t0) / 1000;
    return elapsed < opts.seconds || started < opts.minRequests;
  };
  await Promise.all(
    Array.from({ length: opts.concurrency }, async () => {
      while (mayStart()) {
        started++;
        latencies.push(await timed(one));
      }
    }),
  );
  return summarise(latencies, (performance.now() - t0) / 1000, opts.concurrency, false);
}

/**
 * Two kinds of request measured together, for a ratio between them: every client alternates them (`a`, then `b`),
 * so both see the same load from the rest of the machine. At most `maxRequests` pairs, or `seconds`.
 */
export async function runPair(a: () => Promise<void>, b: () => Promise<void>, opts: LoadOptions): Promise<[LoadResult, LoadResult]> {
  for (let i = 0; i < Math.max(1, opts.warmup); i++) {
    await a();
    await b();
  }
  const la: number[] = [];
  const lb: number[] = [];
  let started = 0;
  const t0 = performance.now();
  const mayStart = () => started < opts.maxRequests && ((performance.now() - t0) / 1000 < opts.seconds || started < opts.minRequests);
  await Promise.all(
    Array.from({ length: opts.concurrency }, async (_, k) => {
      // Half the clients start with `b`, so that neither kind always follows the other.
      const [first, second, l1, l2] = k % 2 === 0 ? [a, b, la, lb] : [b, a, lb, la];
      while (mayStart()) {
        started++;
        l1.push(await timed(first));
        l2.push(await timed(second));
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  return [summarise(la, seconds, opts.concurrency, false), summarise(lb, seconds, opts.concurrency, false)];
}

/** Cleanups to run if the benchmark is interrupted (SIGINT/SIGTERM), so no child process outlives it. */
const cleanups = new Set<() => Promise<void>>();
let trapped = false;

export function onInterrupt(cleanup: () => Promise<void>): () => void {
  if (!trapped) {
    trapped = true;
    const handler = (signal: NodeJS.Signals) => {
      process.stderr.write(`\nbench: ${signal}, stopping the processes it started\n`);
      void Promise.allSettled([...cleanups].map((c) => c())).then(() => process.exit(130));
    };
    process.once('SIGINT', handler);
    process.once('SIGTERM', handler);
  }
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}
