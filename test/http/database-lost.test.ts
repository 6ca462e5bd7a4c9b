/**
 * The database goes away under write load, abruptly: connections ended under the driver while it writes (a
 * database process dying, a load balancer dropping them), and the database killed with SIGKILL. Every request in
 * flight is answered 201 or 503 with Retry-After, never 500: a provisioning client retries a 503 and gives up on a
 * 500. What was acknowledged is stored.
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { mintToken } from '../../src/cli/mint';
import { SECRET } from '../helper';
import { startFerretDB } from '../support/ferretdb';
import { appBehindProxy, ownTestDatabase } from '../support/databases';
import { proxyTarget } from '../support/freezable-proxy';

const BULK = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';

interface Load {
  statuses: Map<number, number>;
  created: string[];
  /** Answers that were not 201 or 503-with-Retry-After, with their bodies. */
  wrong: string[];
}

/** `writers` clients POSTing users until `stop()`; each answer counted. */
function writeLoad(app: FastifyInstance, auth: Record<string, string>, prefix: string, writers = 8): { stop(): Promise<Load> } {
  const load: Load = { statuses: new Map(), created: [], wrong: [] };
  let running = true;
  let n = 0;
  const writer = async () => {
    while (running) {
      const userName = `${prefix}-${n++}`;
      const res = await app.inject({ method: 'POST', url: '/scim/v2/Users', headers: auth, payload: { userName } });
      load.statuses.set(res.statusCode, (load.statuses.get(res.statusCode) ?? 0) + 1);
      if (res.statusCode === 201) load.created.push(res.json().id as string);
      else if (res.statusCode !== 503 || res.headers['retry-after'] !== '5') load.wrong.push(`${res.statusCode} ${res.body}`);
      // A 503 is retried after a pause, as a client would (shortened: the test has no 5 s to wait).
      if (res.statusCode === 503) await new Promise((r) => setTimeout(r, 20));
    }
  };
  const all = Promise.all(Array.from({ length: writers }, writer));
  return {
    async stop() {
      running = false;
      await all;
      return load;
    },
  };
}

const target = proxyTarget(t, 'connections ended under load');
if (target) {
  t.test('connections ended under the driver while it writes: 201 or 503, never 500', async (t) => {
    const { app, proxy, auth } = await appBehindProxy(t, target, 'severed');
    const load = writeLoad(app, auth, 'severed', 32);
    // Forty times, every connection the driver holds is ended under it, mid-write or idle.
    for (let i = 0; i < 40; i++) {
      await new Promise((r) => setTimeout(r, 25));
      proxy.sever();
    }
    const result = await load.stop();
    t.comment(`answers: ${JSON.stringify(Object.fromEntries(result.statuses))}`);
    t.same(result.wrong, [], 'no answer but 201 or 503 with Retry-After');
    t.ok((result.statuses.get(201) ?? 0) > 0, 'writes went on between the cuts');
    const stored = await app.inject({ method: 'GET', url: `/scim/v2/Users/${result.created.at(-1)}`, headers: auth });
    t.equal(stored.statusCode, 200, 'an acknowledged write is stored');
  });

  t.test('a connection ended while the driver waits to finish writing a large insert: 503, never 500', async (t) => {
    // A write larger than the socket takes at once (a Bulk of creates is one insert of many documents) makes the
    // driver wait for 'drain'; a database that dies then ends the connection under that wait, and the socket's own
    // EPIPE is what the driver throws, unwrapped.
    const { app, proxy, auth } = await appBehindProxy(t, target, 'midwrite', { SCIM_DB_TIMEOUT_MS: '20000' });
    t.equal((await app.inject({ method: 'POST', url: '/scim/v2/Users', headers: auth, payload: { userName: 'before' } })).statusCode, 201);
    const Operations = Array.from({ length: 150 }, (_, i) => ({ method: 'POST', path: '/Users', bulkId: `b${i}`, data: { userName: `large-${i}`, title: 'x'.repeat(25_000) } }));
    proxy.freeze();
    const bulk = app.inject({ method: 'POST', url: '/scim/v2/Bulk', headers: auth, payload: { schemas: [BULK], Operations } });
    await new Promise((r) => setTimeout(r, 1500));
    proxy.sever();
    proxy.thaw();
    const res = await bulk;
    t.equal(res.statusCode, 200, `the Bulk is answered: ${res.body.slice(0, 300)}`);
    const statuses = new Set((res.json().Operations as { status: string }[]).map((o) => o.status));
    t.same([...statuses].filter((s) => s !== '201' && s !== '503'), [], `operations answered 201 or 503 (${[...statuses].join(', ')})`);
    t.ok(statuses.has('503'), 'the insert cut off under the driver is 503');
  });
}

const bin = ownTestDatabase(t, 'database killed under load');
if (bin) {
  t.test('the database killed (SIGKILL) under write load: 201 or 503, never 500', async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'scim-killed-'));
    const db = await startFerretDB({ bin, dataDir });
    const config = loadConfig({
      SCIM_JWT_SECRET: SECRET,
      MONGODB_URI: `${db.uri}?serverSelectionTimeoutMS=1000`,
      MONGODB_DB: 'killed',
      SCIM_DB_TIMEOUT_MS: '2000',
      SCIM_MAX_EVENT_LOOP_DELAY_MS: '0',
    });
    const app = await buildApp({ config });
    t.teardown(async () => {
      await app.close();
      await db.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });
    const auth = { authorization: `Bearer ${await mintToken(config.jwt, { scope: 'scim:read scim:write', ttlSeconds: 600 })}` };
    const load = writeLoad(app, auth, 'killed');
    // Writes under way, then the whole database dies at once.
    await new Promise((r) => setTimeout(r, 1000));
    await db.kill();
    await new Promise((r) => setTimeout(r, 3000));
    const result = await load.stop();
    t.comment(`answers: ${JSON.stringify(Object.fromEntries(result.statuses))}`);
    t.same(result.wrong, [], 'no answer but 201 or 503 with Retry-After');
    t.ok((result.statuses.get(201) ?? 0) > 0, 'writes were acknowledged before the kill');
    t.ok((result.statuses.get(503) ?? 0) > 0, 'writes after it were 503');
  });
}
