/**
 * The database goes away and comes back: requests get a 503 SCIM error meanwhile (never a 500, never a hang),
 * /readyz says so, and both recover without restarting the server.
 */
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { mintToken } from '../../src/cli/mint';
import { startFerretDB } from '../support/ferretdb';
import { ownTestDatabase } from '../support/databases';
import { SECRET, ERROR } from '../helper';

const bin = ownTestDatabase(t, 'outage test');
if (bin) {
  t.test('503 while the database is down, recovery when it returns', async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'scim-outage-'));
    let db = await startFerretDB({ bin, dataDir });
    const config = loadConfig({ SCIM_JWT_SECRET: SECRET, MONGODB_URI: `${db.uri}?serverSelectionTimeoutMS=1000`, MONGODB_DB: 'outage' });
    const app = await buildApp({ config });
    t.teardown(async () => {
      await app.close();
      await db.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });
    const auth = { authorization: `Bearer ${await mintToken(config.jwt, { scope: 'scim:read scim:write', ttlSeconds: 600 })}` };
    const created = await app.inject({ method: 'POST', url: '/scim/v2/Users', headers: auth, payload: { userName: 'survivor' } });
    t.equal(created.statusCode, 201);

    await db.stop();
    for (const [method, url, payload] of [
      ['GET', `/scim/v2/Users/${created.json().id}`, undefined],
      ['GET', '/scim/v2/Users?filter=userName%20eq%20%22survivor%22', undefined],
      ['POST', '/scim/v2/Users', { userName: 'during-outage' }],
    ] as const) {
      const res = await app.inject({ method, url, headers: auth, payload });
      t.equal(res.statusCode, 503, `${method} ${url} during the outage`);
      t.match(res.json(), { schemas: [ERROR], status: '503', detail: /\w/ });
    }
    t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 503);

    db = await startFerretDB({ bin, dataDir, port: db.port });
    let ready = 0;
    for (let i = 0; i < 40 && ready !== 200; i++) {
      ready = (await app.inject({ method: 'GET', url: '/readyz' })).statusCode;
      if (ready !== 200) await new Promise((r) => setTimeout(r, 250));
    }
    t.equal(ready, 200, '/readyz recovers');
    const back = await app.inject({ method: 'GET', url: `/scim/v2/Users/${created.json().id}`, headers: auth });
    t.equal(back.statusCode, 200, 'data written before the outage is there');
    t.equal(back.json().userName, 'survivor');
  });
}
