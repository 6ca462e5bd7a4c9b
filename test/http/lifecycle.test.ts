/**
 * SIGTERM under load, with a real server process (test/support/server-child.ts, the shutdown of server.ts), its
 * metrics scraped meanwhile: the requests in flight finish and are answered (a Bulk of 500 creates among them), every acknowledged write is there
 * after a restart, no request was applied without its answer reaching the client, and the process exits 0.
 */
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { mintToken } from '../../src/cli/mint';
import { SECRET, tempDataDir } from '../helper';
import { freePort } from '../support/ferretdb';

const CHILD = path.join(__dirname, '..', 'support', 'server-child.ts');
const BULK = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';

async function start(dataDir: string): Promise<{ proc: ChildProcess; base: string }> {
  const proc = spawn(process.execPath, [...process.execArgv, CHILD], {
    env: {
      PATH: process.env.PATH ?? '',
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('TS_NODE_'))),
      SCIM_JWT_SECRET: SECRET,
      SCIM_DATA_DIR: dataDir,
      SCIM_SHUTDOWN_GRACE_MS: '15000',
      LOG_LEVEL: 'silent',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  proc.stderr!.on('data', (d) => (err += String(d)));
  let timer: NodeJS.Timeout | undefined;
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d) => {
      out += String(d);
      const m = /listening (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    proc.once('exit', (code) => reject(new Error(`server exited (${code}): ${err}`)));
    timer = setTimeout(() => reject(new Error(`server did not start: ${err}`)), 60_000);
  }).finally(() => clearTimeout(timer));
  return { proc, base: `http://127.0.0.1:${port}` };
}

t.test('SIGTERM under load: in-flight requests finish, nothing acknowledged is lost, nothing applied unanswered', async (t) => {
  const dataDir = tempDataDir();
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const headers = { authorization: `Bearer ${await mintToken({ secret: SECRET }, { scope: 'scim:read scim:write', ttlSeconds: 600 })}`, 'content-type': 'application/scim+json' };
  const server = await start(dataDir);
  const exited = new Promise<number | null>((resolve) => server.proc.once('exit', (code) => resolve(code)));

  const acknowledged: string[] = [];
  const unanswered: string[] = [];
  const turnedAway: number[] = [];
  let stop = false;
  let n = 0;
  const writer = async () => {
    while (!stop) {
      const userName = `drain-${n++}`;
      try {
        const res = await fetch(`${server.base}/scim/v2/Users`, { method: 'POST', headers, body: JSON.stringify({ userName }) });
        if (res.status === 201) acknowledged.push(userName);
        else turnedAway.push(res.status);
        await res.arrayBuffer();
      } catch {
        unanswered.push(userName);
        stop = true; // the server is gone
      }
    }
  };
  const writers = Array.from({ length: 8 }, writer);
  await new Promise((r) => setTimeout(r, 500));
  // Scraped during the load, as Prometheus would.
  const scrape = await fetch(`${server.base}/metrics`);
  t.equal(scrape.status, 200, '/metrics answers under load');
  const served = /^scim_http_requests_total\{method="POST",route="\/scim\/v2\/Users",status="201"\} (\d+)$/m.exec(await scrape.text());
  t.ok(served && Number(served[1]) > 0, `the creates so far are counted (${served?.[1]})`);
  const bulk = fetch(`${server.base}/scim/v2/Bulk`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ schemas: [BULK], Operations: Array.from({ length: 500 }, (_, i) => ({ method: 'POST', path: '/Users', bulkId: `b${i}`, data: { userName: `bulk-drain-${i}` } })) }),
  }).then(async (res) => ({ status: res.status, body: (await res.json()) as { Operations: { status: string }[] } }));
  await new Promise((r) => setTimeout(r, 30)); // the Bulk is in flight
  server.proc.kill('SIGTERM');
  const answer = await bulk;
  t.equal(answer.status, 200, 'the Bulk in flight was finished and answered');
  t.equal(answer.body.Operations.filter((o) => o.status === '201').length, 500);
  stop = true;
  await Promise.all(writers);
  t.equal(await exited, 0, 'the process exits 0 once drained');
  t.ok(acknowledged.length > 20, `writes were acknowledged under load (${acknowledged.length})`);
  t.ok(turnedAway.every((s) => s === 503), `requests arriving while draining are 503 (${turnedAway.length})`);

  const again = await start(dataDir);
  t.teardown(() => void again.proc.kill('SIGKILL'));
  const exists = async (userName: string) => {
    const res = await fetch(`${again.base}/scim/v2/Users?count=0&filter=${encodeURIComponent(`userName eq "${userName}"`)}`, { headers });
    return ((await res.json()) as { totalResults: number }).totalResults === 1;
  };
  const missing = [];
  for (const userName of acknowledged) if (!(await exists(userName))) missing.push(userName);
  t.same(missing, [], 'every acknowledged create is there after a restart');
  const appliedUnanswered = [];
  for (const userName of unanswered) if (await exists(userName)) appliedUnanswered.push(userName);
  t.same(appliedUnanswered, [], 'no request was applied without its answer reaching the client');
  t.ok(await exists('bulk-drain-499'));
});

t.test('SIGTERM ends the server even when its standard output was closed (`npm start | head`)', async (t) => {
  const SERVER = path.join(__dirname, '..', '..', 'src', 'server.ts');
  // Pretty lines (a terminal's) and JSON lines (a log shipper's), and without a key: the development token is
  // printed to the closed output too.
  const cases: { name: string; env: Record<string, string> }[] = [
    { name: 'pretty lines', env: { LOG_PRETTY: 'true', SCIM_JWT_SECRET: SECRET } },
    { name: 'JSON lines', env: { LOG_PRETTY: 'false', SCIM_JWT_SECRET: SECRET } },
    { name: 'a development key and token', env: { LOG_PRETTY: 'false' } },
  ];
  for (const c of cases) {
    const dataDir = tempDataDir();
    t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
    const proc = spawn(process.execPath, [...process.execArgv, SERVER], {
      env: {
        PATH: process.env.PATH ?? '',
        ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('TS_NODE_'))),
        SCIM_DATA_DIR: dataDir,
        PORT: String(await freePort()),
        HOST: '127.0.0.1',
        // Past this the process exits 1 anyway: a hang would show as that, not as a 0.
        SCIM_SHUTDOWN_GRACE_MS: '60000',
        ...c.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    t.teardown(() => void proc.kill('SIGKILL'));
    let err = '';
    proc.stderr!.on('data', (d) => (err += String(d)));
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      const onData = (d: Buffer) => {
        out += String(d);
        const m = /listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
        if (m) {
          proc.stdout!.off('data', onData);
          resolve(Number(m[1]));
        }
      };
      proc.stdout!.on('data', onData);
      void exited.then((code) => reject(new Error(`server exited (${code}): ${err}`)));
    });
    // The reader goes away, as `head` does after its lines: every later write to standard output fails (EPIPE).
    proc.stdout!.destroy();
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      t.equal(res.status, 200, `${c.name}: serving with its output closed (${i})`);
    }
    proc.kill('SIGTERM');
    t.equal(await exited, 0, `${c.name}: exits 0 after SIGTERM, not stuck behind its log`);
    t.equal(err, '', `${c.name}: nothing on standard error`);
  }
});
