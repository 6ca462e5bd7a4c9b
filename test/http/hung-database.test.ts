/**
 * A database that stops answering (a frozen process, a partition that drops packets) must not hang clients: every
 * request gets a 503 SCIM error with Retry-After within SCIM_DB_TIMEOUT_MS (plus a little), /readyz answers 503
 * within SCIM_READY_TIMEOUT_MS, /healthz is unaffected, and all of it recovers when the database answers again.
 * The database sits behind a proxy that can freeze (test/support/freezable-proxy.ts), so this runs against any
 * MONGODB_URI with a single host.
 */
import t from 'tap';
import type { InjectOptions } from 'fastify';
import { ERROR } from '../helper';
import { proxyTarget } from '../support/freezable-proxy';
import { appBehindProxy } from '../support/databases';

const target = proxyTarget(t, 'hung database');
if (target) {
  t.test('a frozen database: 503 with Retry-After within the deadline, /readyz within its bound, recovery after', async (t) => {
    // The deadlines under test, and a margin past each that holds on a loaded 2-core machine; /readyz's bound plus
    // its margin stays under the database's deadline, so an answer within it did not wait for the database.
    const DB_TIMEOUT = 3000;
    const READY_TIMEOUT = 300;
    const MARGIN = 2000;
    const { app, proxy, auth } = await appBehindProxy(t, target, 'hung', { SCIM_DB_TIMEOUT_MS: String(DB_TIMEOUT), SCIM_READY_TIMEOUT_MS: String(READY_TIMEOUT) });
    const created = await app.inject({ method: 'POST', url: '/scim/v2/Users', headers: auth, payload: { userName: 'frozen-survivor' } });
    t.equal(created.statusCode, 201);
    const id = created.json().id as string;

    proxy.freeze();
    const timed = async (req: InjectOptions) => {
      const start = Date.now();
      const res = await app.inject(req);
      return { res, ms: Date.now() - start };
    };
    const during = await Promise.all([
      timed({ method: 'GET', url: `/scim/v2/Users/${id}`, headers: auth }),
      timed({ method: 'GET', url: '/scim/v2/Users?filter=userName%20eq%20%22frozen-survivor%22', headers: auth }),
      timed({ method: 'PATCH', url: `/scim/v2/Users/${id}`, headers: auth, payload: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'title', value: 'x' }] } }),
      timed({ method: 'POST', url: '/scim/v2/Users', headers: auth, payload: { userName: 'during-freeze' } }),
    ]);
    for (const { res, ms } of during) {
      t.equal(res.statusCode, 503, `503 after ${ms} ms`);
      t.ok(ms < DB_TIMEOUT + MARGIN, `answered at the deadline (${ms} ms)`);
      t.equal(res.headers['retry-after'], '5', 'Retry-After');
      t.match(res.json(), { schemas: [ERROR], status: '503', detail: /did not answer within 3000 ms|unavailable/ });
    }
    const ready = await timed({ method: 'GET', url: '/readyz' });
    t.equal(ready.res.statusCode, 503, '/readyz says not ready');
    t.ok(ready.ms < READY_TIMEOUT + MARGIN, `/readyz answered in ${ready.ms} ms, without waiting for the database`);
    const health = await timed({ method: 'GET', url: '/healthz' });
    t.equal(health.res.statusCode, 200, '/healthz is the process, not the database');
    t.ok(health.ms < READY_TIMEOUT + MARGIN, `/healthz answered in ${health.ms} ms, without waiting for the database`);

    proxy.thaw();
    let status = 0;
    for (let i = 0; i < 80 && status !== 200; i++) {
      status = (await app.inject({ method: 'GET', url: '/readyz' })).statusCode;
      if (status !== 200) await new Promise((r) => setTimeout(r, 250));
    }
    t.equal(status, 200, '/readyz recovers');
    let back = await app.inject({ method: 'GET', url: `/scim/v2/Users/${id}`, headers: auth });
    for (let i = 0; i < 40 && back.statusCode !== 200; i++) {
      await new Promise((r) => setTimeout(r, 250));
      back = await app.inject({ method: 'GET', url: `/scim/v2/Users/${id}`, headers: auth });
    }
    t.equal(back.statusCode, 200, 'reads recover');
    t.equal(back.json().userName, 'frozen-survivor');
    const write = await app.inject({ method: 'PATCH', url: `/scim/v2/Users/${id}`, headers: auth, payload: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'title', value: 'after' }] } });
    t.equal(write.statusCode, 200, 'writes recover');
    t.equal(write.json().title, 'after');
  });
}
