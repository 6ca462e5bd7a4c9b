/**
 * Changing the schema of a live directory (issue 27, "Changing the schema of a live directory"), on both stores:
 * the same data directory or database restarted with another SCIM_SCHEMA_DIR.
 *  - an attribute indexed since the users were stored is built in the background, queries stay correct meanwhile,
 *    and once built the plan (LMDB) or explain (MongoDB) uses it;
 *  - a change stored data contradicts stops the start, naming the attribute and how many resources break it;
 *    `schema check` lists them, `schema apply` converts or clears what it can, and the server starts;
 *  - an attribute removed keeps its values (never returned, kept across PUT), back when re-added, purged on request.
 */
import t from 'tap';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { mintToken } from '../../src/cli/mint';
import { runSchemaCommand } from '../../src/cli/schema';
import type { Store } from '../../src/store/store';
import { parseFilter } from '../../src/scim/filter/parse';
import { planFilter } from '../../src/store/lmdb/plan';
import type { LmdbStore } from '../../src/store/lmdb';
import type { MongoStore } from '../../src/store/mongo';
import { directoryOf, storeKinds, type StoreKind } from '../helper';

const EXAMPLES = join(__dirname, '..', '..', 'examples', 'schema');
const HR = 'urn:example:params:scim:schemas:extension:hr:2.0:User';
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
type Json = Record<string, unknown>;

/** A copy of examples/schema, edited: `hr` edits the HR schema, `ext` extensions.json. */
function schemaDir(t: Tap, edit: { hr?: (s: Json) => void; ext?: (e: Json) => void } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'scim-schema-'));
  cpSync(EXAMPLES, dir, { recursive: true });
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const [file, fn] of [
    ['hr.json', edit.hr],
    ['extensions.json', edit.ext],
  ] as const) {
    if (!fn) continue;
    const doc = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Json;
    fn(doc);
    writeFileSync(join(dir, file), JSON.stringify(doc, null, 2));
  }
  return dir;
}
/** What these helpers need of a test: somewhere to clean up. */
type Tap = { teardown(fn: () => unknown): void };

const hrAttribute = (s: Json, name: string) => (s.attributes as Json[]).find((a) => a.name === name)!;
const hrExtension = (e: Json) => (e.extensions as Json[])[0]!;

/** Where one directory lives across restarts, with the schema directory each start names. */
function directory(t: Tap, kind: StoreKind): { env(dir: string): Record<string, string>; open(): Promise<Store> } {
  const d = directoryOf(t, kind, 'schema');
  return { env: (dir) => ({ ...d.env, SCIM_SCHEMA_DIR: dir }), open: d.open };
}

/** Starts the server on the directory with a schema dir; the store and app are closed by `stop`. */
async function start(d: ReturnType<typeof directory>, dir: string): Promise<{ app: FastifyInstance; store: Store; stop(): Promise<void>; req(method: string, url: string, payload?: unknown): Promise<{ status: number; body: Json }> }> {
  const store = await d.open();
  const config = loadConfig(d.env(dir));
  let app: FastifyInstance;
  try {
    app = await buildApp({ config, store });
  } catch (e) {
    await store.close();
    throw e;
  }
  const token = await mintToken(config.jwt, { scope: 'scim:read scim:write', ttlSeconds: 600, roles: ['globalAdmin'] });
  return {
    app,
    store,
    stop: async () => {
      await store.indexed();
      await app.close();
      await store.close();
    },
    async req(method, url, payload) {
      const res = await app.inject({ method: method as 'GET', url, payload: payload as Json, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' } });
      return { status: res.statusCode, body: res.body ? (res.json() as Json) : {} };
    },
  };
}

const filterUrl = (f: string) => `/scim/v2/Users?count=1000&filter=${encodeURIComponent(f)}`;
const names = (body: Json) => ((body.Resources as Json[] | undefined) ?? []).map((r) => r.userName as string).sort();

for (const kind of storeKinds()) {
  t.test(kind, async (t) => {
    t.test('an attribute indexed since the users were stored: built in the background, correct meanwhile, planned once built', async (t) => {
      const d = directory(t, kind);
      const v1 = schemaDir(t, { ext: (e) => (hrExtension(e).indexed = ['hireDate']) });
      let s = await start(d, v1);
      const N = 3000;
      for (let i = 0; i < N; i += 100) {
        await Promise.all(
          Array.from({ length: 100 }, (_, j) =>
            s.app.users.create({ schemas: [USER, HR], userName: `u${String(i + j).padStart(5, '0')}`, [HR]: { jobCode: `JC-${(i + j) % 50}` } }),
          ),
        );
      }
      await s.stop();
      const v2 = schemaDir(t); // the examples index jobCode
      s = await start(d, v2);
      t.teardown(() => s.stop());
      const during = s.store.indexing();
      t.ok(during.length > 0, `a build is under way right after start: ${JSON.stringify(during)}`);
      const ready = await s.app.inject({ method: 'GET', url: '/readyz' });
      t.equal(ready.statusCode, 200);
      const indexing = (ready.json() as Json).indexing as Json | undefined;
      if (indexing) t.ok(typeof indexing.fraction === 'number' && (indexing.fraction as number) < 1, `/readyz: ${ready.body}`);
      // Correct while the index is built: the evaluator answers.
      let res = await s.req('GET', filterUrl(`${HR}:jobCode eq "jc-7"`));
      t.equal(res.status, 200);
      t.equal(res.body.totalResults, N / 50, 'every match, during the build');
      const write = await s.req('POST', '/scim/v2/Users', { schemas: [USER, HR], userName: 'late', [HR]: { jobCode: 'JC-7' } });
      t.equal(write.status, 201, 'writes go on during the build');
      await s.store.indexed();
      t.same(s.store.indexing(), [], 'build finished');
      t.notOk(((await s.app.inject({ method: 'GET', url: '/readyz' })).json() as Json).indexing, '/readyz without indexing once built');
      res = await s.req('GET', filterUrl(`${HR}:jobCode eq "jc-7"`));
      t.equal(res.body.totalResults, N / 50 + 1, 'every match once built, the write made during the build included');
      const schema = s.app.users.schema;
      const filter = parseFilter(schema, `${HR}:jobCode eq "jc-7"`);
      if (kind === 'lmdb') {
        const queries = (s.store as LmdbStore).resources.queries;
        const plan = planFilter(schema, filter, queries.readyPaths(schema));
        t.equal(plan.kind, 'range', 'the LMDB plan reads the new path');
      } else {
        const coll = (s.store as MongoStore).client.db(d.env('').MONGODB_DB).collection('users');
        const names = (await coll.listIndexes().toArray()).map((i) => i.name as string);
        t.ok(names.includes(`by:${HR}:jobCode`), `index made: ${names.join(', ')}`);
        const explain = JSON.stringify(await coll.find({ [`q.${HR.replace(/\./g, '\uFF0E')}.jobCode`]: 'jc-7' }).explain());
        t.notMatch(explain, /Seq Scan|COLLSCAN/, 'explain: not a scan');
        // PostgreSQL's plan (the test database) or MongoDB's names the index.
        t.match(explain, `"${/Index Name/.test(explain) ? 'Index Name' : 'indexName'}":"by:${HR}:jobCode"`, 'explain names the new index');
      }
    });

    t.test('a change stored data contradicts stops the start; check lists it; apply converts what it can', async (t) => {
      const d = directory(t, kind);
      const v1 = schemaDir(t, { hr: (s) => (hrAttribute(s, 'jobCode').multiValued = false) });
      let s = await start(d, v1);
      const ids: Record<string, string> = {};
      for (const [name, jobCode] of [
        ['a', '12'],
        ['b', 'twelve'],
        ['c', '7'],
      ]) {
        ids[name] = ((await s.req('POST', '/scim/v2/Users', { schemas: [USER, HR], userName: name, [HR]: { jobCode } })).body.id as string) ?? '';
      }
      await s.req('POST', '/scim/v2/Users', { schemas: [USER], userName: 'none' });
      await s.stop();
      // jobCode becomes an integer: 'twelve' cannot be read as one.
      const v2 = schemaDir(t, { hr: (s) => Object.assign(hrAttribute(s, 'jobCode'), { type: 'integer', caseExact: undefined }) });
      await t.rejects(start(d, v2), /User urn:example:params:scim:schemas:extension:hr:2\.0:User:jobCode: type: string -> integer; 3 User resource\(s\) break it/);
      const lines: string[] = [];
      const env = d.env(v2);
      t.equal(await runSchemaCommand(['check'], env, (l) => lines.push(l)), 1, 'check: exit 1 while it blocks');
      t.match(lines.join('\n'), ids.b!);
      lines.length = 0;
      t.equal(await runSchemaCommand(['apply'], env, (l) => lines.push(l)), 0, lines.join('\n'));
      t.match(lines.join('\n'), /User: 2 value\(s\) converted, 1 cleared/);
      s = await start(d, v2);
      t.teardown(() => s.stop());
      t.same((await s.req('GET', `/scim/v2/Users/${ids.a}`)).body[HR], { jobCode: 12 });
      t.notOk((await s.req('GET', `/scim/v2/Users/${ids.b}`)).body[HR], 'unconvertible: cleared');
      t.same(names((await s.req('GET', filterUrl(`${HR}:jobCode gt 10`))).body), ['a'], 'filters compare the converted numbers');
      const audit = await s.req('GET', `/scim/v2/Audit?resourceId=${ids.a}`);
      if (audit.status === 200) t.match(JSON.stringify(audit.body), /jobCode/, 'the conversion is in the audit trail');
    });

    t.test('made unique while values are shared: refused until resolved; made required: refused, apply cannot help', async (t) => {
      const d = directory(t, kind);
      let s = await start(d, schemaDir(t));
      const one = (await s.req('POST', '/scim/v2/Users', { schemas: [USER, HR], userName: 'x1', [HR]: { jobCode: 'SAME' } })).body.id as string;
      await s.req('POST', '/scim/v2/Users', { schemas: [USER, HR], userName: 'x2', [HR]: { jobCode: 'same' } });
      await s.stop();
      const unique = schemaDir(t, { hr: (s) => (hrAttribute(s, 'jobCode').uniqueness = 'server') });
      await t.rejects(start(d, unique), /jobCode: made unique \(server\); 1 User resource\(s\) break it/);
      const lines: string[] = [];
      t.equal(await runSchemaCommand(['apply'], d.env(unique), (l) => lines.push(l)), 1, 'apply cannot choose who keeps it');
      t.match(lines.join('\n'), /shares "same" with/);
      // Resolved by hand (on the old schema), then the new one starts and enforces it.
      s = await start(d, schemaDir(t));
      t.equal((await s.req('PATCH', `/scim/v2/Users/${one}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: `${HR}:jobCode`, value: 'OTHER' }] })).status, 200);
      await s.stop();
      s = await start(d, unique);
      const dup = await s.req('POST', '/scim/v2/Users', { schemas: [USER, HR], userName: 'x3', [HR]: { jobCode: 'Other' } });
      t.equal(dup.status, 409, 'enforced once started');
      await s.stop();
      const required = schemaDir(t, { hr: (s) => (hrAttribute(s, 'hireDate').required = true) });
      await t.rejects(start(d, required), /hireDate: made required; 2 User resource\(s\) break it/);
      t.equal(await runSchemaCommand(['apply'], d.env(required), () => undefined), 1);
    });

    t.test('an attribute removed: kept and never returned, kept across PUT, back when re-added, purged on request', async (t) => {
      const d = directory(t, kind);
      const full = schemaDir(t);
      let s = await start(d, full);
      const id = (await s.req('POST', '/scim/v2/Users', { schemas: [USER, HR], userName: 'r1', [HR]: { jobCode: 'K', workerType: 'Intern' } })).body.id as string;
      await s.stop();
      const without = schemaDir(t, {
        hr: (s) => (s.attributes = (s.attributes as Json[]).filter((a) => a.name !== 'workerType')),
        ext: (e) => {
          const sections = hrExtension(e).sections as Record<string, string[]>;
          sections.employment = sections.employment!.filter((a) => a !== 'workerType');
        },
      });
      s = await start(d, without);
      t.same((await s.req('GET', `/scim/v2/Users/${id}`)).body[HR], { jobCode: 'K' }, 'never returned');
      t.equal((await s.req('GET', filterUrl(`${HR}:workerType eq "Intern"`))).status, 400, 'no longer filterable');
      t.equal((await s.req('PUT', `/scim/v2/Users/${id}`, { schemas: [USER, HR], userName: 'r1', [HR]: { jobCode: 'L' } })).status, 200);
      await s.stop();
      s = await start(d, full);
      t.same((await s.req('GET', `/scim/v2/Users/${id}`)).body[HR], { jobCode: 'L', workerType: 'Intern' }, 'back when re-added, across the PUT');
      await s.stop();
      const lines: string[] = [];
      t.equal(await runSchemaCommand(['apply', '--purge'], d.env(without), (l) => lines.push(l)), 0, lines.join('\n'));
      t.match(lines.join('\n'), /1 purged/);
      s = await start(d, full);
      t.teardown(() => s.stop());
      t.same((await s.req('GET', `/scim/v2/Users/${id}`)).body[HR], { jobCode: 'L' }, 'purged for good');
    });
  });
}
