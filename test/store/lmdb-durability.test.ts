/**
 * The embedded store with real processes: nothing acknowledged is lost when the server is killed (SIGKILL, no
 * chance to flush anything) right in the middle of a write load, and two server processes on one data directory
 * keep userName unique and lose no update, as LMDB serialises their write transactions.
 */
import t from 'tap';
import { spawn, ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { mintToken } from '../../src/cli/mint';
import { SECRET, tempDataDir } from '../helper';

const CHILD = path.join(__dirname, '..', 'support', 'server-child.ts');
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

interface Child {
  proc: ChildProcess;
  base: string;
}

async function start(dataDir: string): Promise<Child> {
  const proc = spawn(process.execPath, [...process.execArgv, CHILD], {
    env: {
      PATH: process.env.PATH ?? '',
      // The test's TypeScript loader settings (transpile only), so the child starts as fast as the test did.
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('TS_NODE_'))),
      SCIM_JWT_SECRET: SECRET,
      SCIM_DATA_DIR: dataDir,
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

function killed(c: Child, signal: NodeJS.Signals): Promise<void> {
  return new Promise((resolve) => {
    if (c.proc.exitCode !== null || c.proc.signalCode !== null) return resolve();
    c.proc.once('exit', () => resolve());
    c.proc.kill(signal);
  });
}

t.test('kill -9 under write load: every acknowledged write is there after a restart, nothing half-written', async (t) => {
  const dataDir = tempDataDir();
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const auth = { authorization: `Bearer ${await mintToken({ secret: SECRET }, { scope: 'scim:read scim:write', ttlSeconds: 600 })}`, 'content-type': 'application/scim+json' };
  const T0 = Date.now();
  let server = await start(dataDir);
  t.comment(`started at ${Date.now() - T0} ms`);
  const acknowledged = new Map<string, { id: string; title?: string }>();
  let stop = false;
  let i = 0;
  const writer = async () => {
    while (!stop) {
      const n = i++;
      const userName = `durable-${n}`;
      try {
        const res = await fetch(`${server.base}/scim/v2/Users`, { method: 'POST', headers: auth, body: JSON.stringify({ userName, emails: [{ value: `${userName}@x.test` }] }) });
        if (res.status !== 201) continue;
        const id = ((await res.json()) as { id: string }).id;
        acknowledged.set(userName, { id });
        const p = await fetch(`${server.base}/scim/v2/Users/${id}`, {
          method: 'PATCH',
          headers: auth,
          body: JSON.stringify({ schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: `t${n}` }] }),
        });
        if (p.status === 200) acknowledged.set(userName, { id, title: `t${n}` });
      } catch {
        return; // the server is gone
      }
    }
  };
  const writers = Array.from({ length: 4 }, writer);
  while (acknowledged.size < 120) await new Promise((r) => setTimeout(r, 20));
  await killed(server, 'SIGKILL');
  stop = true;
  await Promise.all(writers);
  t.comment(`killed after ${acknowledged.size} at ${Date.now() - T0} ms`);
  t.ok(acknowledged.size >= 120, `${acknowledged.size} creates acknowledged before the kill`);

  server = await start(dataDir);
  t.teardown(() => killed(server, 'SIGKILL'));
  let missing = 0;
  for (const [userName, { id, title }] of acknowledged) {
    const res = await fetch(`${server.base}/scim/v2/Users/${id}`, { headers: auth });
    if (res.status !== 200) {
      missing++;
      continue;
    }
    const body = (await res.json()) as { userName: string; title?: string };
    if (body.userName !== userName || (title !== undefined && body.title !== title)) missing++;
  }
  t.equal(missing, 0, 'every acknowledged create and PATCH survived');
  t.comment(`checked at ${Date.now() - T0} ms`);
  // Index entries and unique keys were written with their records: the filter finds each user, a twin is refused.
  const sample = [...acknowledged.keys()].slice(0, 20);
  for (const userName of sample) {
    const list = await fetch(`${server.base}/scim/v2/Users?filter=${encodeURIComponent(`userName eq "${userName.toUpperCase()}"`)}`, { headers: auth });
    t.equal(((await list.json()) as { totalResults: number }).totalResults, 1, `${userName} is found by its index`);
  }
  const twin = await fetch(`${server.base}/scim/v2/Users`, { method: 'POST', headers: auth, body: JSON.stringify({ userName: sample[0] }) });
  t.equal(twin.status, 409, 'its unique key is there too');
  const all = (await (await fetch(`${server.base}/scim/v2/Users?count=0`, { headers: auth })).json()) as { totalResults: number };
  t.ok(all.totalResults >= acknowledged.size && all.totalResults <= i, `the count (${all.totalResults}) holds every acknowledged user, and no more than were sent`);
});

t.test('two server processes on one data directory: one userName wins, no update is lost', async (t) => {
  const dataDir = tempDataDir();
  t.teardown(() => rmSync(dataDir, { recursive: true, force: true }));
  const auth = { authorization: `Bearer ${await mintToken({ secret: SECRET }, { scope: 'scim:read scim:write', ttlSeconds: 600 })}`, 'content-type': 'application/scim+json' };
  const servers = [await start(dataDir), await start(dataDir)];
  t.teardown(() => Promise.all(servers.map((s) => killed(s, 'SIGKILL'))));
  const creates = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      fetch(`${servers[i % 2]!.base}/scim/v2/Users`, { method: 'POST', headers: auth, body: JSON.stringify({ userName: i % 3 ? 'Shared' : 'shared' }) }),
    ),
  );
  const statuses = creates.map((r) => r.status);
  t.equal(statuses.filter((s) => s === 201).length, 1, 'one 201');
  t.equal(statuses.filter((s) => s === 409).length, 19, 'the rest 409');

  const created = await fetch(`${servers[0]!.base}/scim/v2/Users`, { method: 'POST', headers: auth, body: JSON.stringify({ userName: 'patched-by-two' }) });
  const id = ((await created.json()) as { id: string }).id;
  const n = 40;
  const patches = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      fetch(`${servers[i % 2]!.base}/scim/v2/Users/${id}`, {
        method: 'PATCH',
        headers: auth,
        body: JSON.stringify({ schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'emails', value: [{ value: `p${i}@x.test` }] }] }),
      }),
    ),
  );
  t.same([...new Set(patches.map((r) => r.status))], [200], 'every PATCH 200');
  for (const s of servers) {
    const u = (await (await fetch(`${s.base}/scim/v2/Users/${id}`, { headers: auth })).json()) as { emails: unknown[]; meta: { version: string } };
    t.equal(u.emails.length, n, 'every email is there');
    t.equal(u.meta.version, `W/"${n + 1}"`);
  }
});
