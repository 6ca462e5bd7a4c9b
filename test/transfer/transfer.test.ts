/**
 * Moving a directory (issue 30): `export`, `import` and `migrate` on both stores and across them. A directory made
 * through the API (users with the enterprise extension, managers, passwords, versions above 1, a deleted user, a
 * group that contains a group created after it) is exported with its audit trail and imported into an empty store
 * of each kind; the two are then equal record by record (ids, versions, meta, password hashes), pair by pair and
 * entry by entry, and an ETag a client stored still matches. Then the faults: a truncated file, an altered one, a
 * resource the schema refuses (with and without --skip-invalid), an import into a store that is not empty, an
 * import stopped half way and run again.
 */
import t from 'tap';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { buildApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { mintToken } from '../../src/cli/mint';
import { runTransfer } from '../../src/cli/transfer';
import type { Store } from '../../src/store/store';
import { SchemaRegistry } from '../../src/scim/schema';
import { Importer, IMPORT_NOTE } from '../../src/transfer/import';
import { canonicalJson, Checksum, memberItem, resourceItem } from '../../src/transfer/format';
import { type Directory, directoryOf, ENTERPRISE, SECRET, type StoreKind, storeKinds, USER } from '../helper';

type Tap = { teardown(fn: () => unknown): void };
type Json = Record<string, unknown>;
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';

const directory = (t: { teardown(fn: () => unknown): void }, kind: StoreKind): Directory => directoryOf(t, kind, 'transfer');

/** Runs a transfer command as the CLI would; returns its exit code and what it wrote. */
async function cli(command: string, args: string[], env: Record<string, string>, stdin?: string): Promise<{ code: number; out: string; err: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  const chunks = { out: [] as Buffer[], err: [] as Buffer[] };
  out.on('data', (c: Buffer) => chunks.out.push(c));
  err.on('data', (c: Buffer) => chunks.err.push(c));
  const code = await runTransfer(command, args, { env, stdin: Readable.from(stdin === undefined ? [] : [stdin]), stdout: out, stderr: err, version: 'test' });
  return { code, out: Buffer.concat(chunks.out).toString(), err: Buffer.concat(chunks.err).toString() };
}

/** Fills a directory through the API; returns the ETags clients would have stored, by user id. */
/** An HR feed that owns job info: the section it writes stays its own (a source of authority). */
const AUTHORITIES = { SCIM_AUTHORITIES: '{"hr-feed":["jobInfo"]}' };

async function populate(d: ReturnType<typeof directory>): Promise<Map<string, string>> {
  const config = loadConfig({ ...d.env, ...AUTHORITIES });
  const app = await buildApp({ config });
  const etags = new Map<string, string>();
  try {
    const authorization = `Bearer ${await mintToken(config.jwt, { scope: 'scim:read scim:write', ttlSeconds: 600, roles: ['globalAdmin'] })}`;
    const req = async (method: string, url: string, payload?: unknown, headers: Record<string, string> = {}) => {
      const res = await app.inject({ method: method as 'GET', url: `/scim/v2${url}`, payload: payload as Json, headers: { authorization, 'content-type': 'application/scim+json', ...headers } });
      if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
      return { body: res.body ? (res.json() as Json) : {}, etag: res.headers.etag as string | undefined };
    };
    const boss = await req('POST', '/Users', { schemas: [USER, ENTERPRISE], userName: 'boss@example.com', name: { givenName: 'Bo', familyName: 'Ss' }, password: 'Secret-pass-1', [ENTERPRISE]: { employeeNumber: '1', department: 'HQ' } });
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) {
      const u = await req('POST', '/Users', {
        schemas: [USER, ENTERPRISE],
        userName: `user${i}@example.com`,
        displayName: `User ${i}`,
        emails: [{ value: `user${i}@example.com`, type: 'work', primary: true }],
        ...(i % 3 === 0 ? { password: `Pass-word-${i}!` } : {}),
        [ENTERPRISE]: { employeeNumber: `${100 + i}`, department: 'Sales', manager: { value: boss.body.id } },
      });
      ids.push(u.body.id as string);
    }
    // Versions above 1.
    for (const id of ids.slice(0, 4)) {
      await req('PATCH', `/Users/${id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'title', value: 'Engineer' }] });
    }
    // The HR feed writes a job title: job info becomes its own section of that user.
    const feed = `Bearer ${await mintToken(config.jwt, { scope: 'scim:read scim:write', ttlSeconds: 600, clientId: 'hr-feed' })}`;
    const owned = await req('PATCH', `/Users/${ids[5]}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'title', value: 'Payroll lead' }] }, { authorization: feed });
    if (!JSON.stringify(owned.body).includes('"source":"hr-feed"')) throw new Error(`the feed does not own job info: ${JSON.stringify(owned.body)}`);
    await req('DELETE', `/Users/${ids.pop()!}`);
    // A group that contains a group created after it (a later id).
    const outer = await req('POST', '/Groups', { schemas: [GROUP], displayName: 'Everyone', members: ids.slice(0, 5).map((value) => ({ value })) });
    const inner = await req('POST', '/Groups', { schemas: [GROUP], displayName: 'Leads', members: [{ value: ids[6] }, { value: boss.body.id }] });
    await req('PATCH', `/Groups/${outer.body.id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'add', path: 'members', value: [{ value: inner.body.id }] }] });
    for (const id of [boss.body.id as string, ...ids]) etags.set(id, (await req('GET', `/Users/${id}`)).etag!);
  } finally {
    await app.close();
  }
  return etags;
}

/** Everything a directory holds, in canonical text: records, pairs, audit entries. */
async function contents(store: Store): Promise<{ records: string[]; pairs: string[]; audit: string[] }> {
  const registry = SchemaRegistry.load({});
  const reader = store.reader();
  const out = { records: [] as string[], pairs: [] as string[], audit: [] as string[] };
  try {
    for (const type of registry.resourceTypes()) {
      const schema = registry.resourceSchema(type.id);
      const records = await reader.records(schema, undefined, 10_000);
      for (const r of records) {
        out.records.push(canonicalJson(resourceItem(r)));
        if (type.id === 'Group') for (const m of await reader.members(r.id, undefined, 10_000)) out.pairs.push(canonicalJson(memberItem(r.id, m)));
      }
    }
    out.audit = (await reader.audit(undefined, 10_000)).map((e) => canonicalJson(e));
  } finally {
    reader.close();
  }
  return out;
}

async function contentsOf(d: ReturnType<typeof directory>) {
  const store = await d.open();
  try {
    return await contents(store);
  } finally {
    await store.close();
  }
}

function tempFile(t: Tap, name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'scim-export-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, name);
}

const kinds = storeKinds();

for (const from of kinds) {
  t.test(`export from ${from}`, async (t) => {
    const source = directory(t, from);
    const etags = await populate(source);
    const file = tempFile(t, 'directory.jsonl');
    const exported = await cli('export', ['--audit', file], source.env);
    t.equal(exported.code, 0, exported.err);
    t.match(exported.err, /exported 12 User, 2 Group/);
    t.notOk(existsSync(`${file}.partial`), 'the partial file was renamed');
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    const header = JSON.parse(lines[0]!) as Json;
    t.match(header, { type: 'header', format: 'scim-server-export', formatVersion: 1, store: from, consistency: from === 'lmdb' ? 'snapshot' : 'live', counts: { User: 12, Group: 2 }, audit: true });
    t.match(JSON.parse(lines[lines.length - 1]!), { type: 'trailer', counts: { User: 12, Group: 2, members: 8 }, lines: lines.length });
    t.ok(lines.some((l) => l.includes('"secrets"')), 'password hashes are exported');
    const before = await contentsOf(source);

    for (const to of kinds) {
      t.test(`into ${to}`, async (t) => {
        const target = directory(t, to);
        const imported = await cli('import', [file], target.env);
        t.equal(imported.code, 0, imported.err);
        t.match(imported.err, /14 created, 0 replaced by a newer version, 0 already stored, 0 kept \(newer in the target\), 0 refused; 8 member pairs, \d+ audit entries; the target read back matches the file/);
        t.same(await contentsOf(target), before, 'the same records, pairs and audit entries');
        // A client's stored ETag still matches, and the group that holds a later group lists it.
        const config = loadConfig({ ...target.env, ...AUTHORITIES });
        const app = await buildApp({ config });
        t.teardown(() => app.close());
        const authorization = `Bearer ${await mintToken(config.jwt, { scope: 'scim:read scim:write', ttlSeconds: 600 })}`;
        // The section the HR feed owned is still its own: another client may not change it.
        const ownedId = [...etags.keys()][6]!;
        const taken = await app.inject({
          method: 'PATCH',
          url: `/scim/v2/Users/${ownedId}`,
          payload: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'title', value: 'Someone else' }] },
          headers: { authorization, 'content-type': 'application/scim+json' },
        });
        t.equal(taken.statusCode, 403, 'the source of authority still owns job info');
        t.match(taken.body, /owned by its source of authority 'hr-feed'/);
        for (const [id, etag] of etags) {
          const res = await app.inject({ method: 'GET', url: `/scim/v2/Users/${id}`, headers: { authorization, 'if-none-match': etag } });
          t.equal(res.statusCode, 304, `user ${id}: the stored ETag matches`);
        }
        const groups = (await app.inject({ method: 'GET', url: '/scim/v2/Groups?filter=displayName eq "Everyone"', headers: { authorization } })).json() as { Resources: { members: { value: string; type: string }[] }[] };
        t.equal(groups.Resources[0]!.members.filter((m) => m.type === 'Group').length, 1, 'the nested group is a member');
        const login = await app.inject({ method: 'GET', url: `/scim/v2/Users?filter=userName eq "boss@example.com"`, headers: { authorization } });
        t.equal((login.json() as { Resources: Json[] }).Resources.length, 1, 'indexes answer filters on the imported users');

        const again = await cli('import', [file], target.env);
        t.equal(again.code, 1, 'a second import into a store that is not empty is refused');
        t.match(again.err, /the target store is not empty/);
        const merged = await cli('import', ['--merge', file], target.env);
        t.equal(merged.code, 0, merged.err);
        t.match(merged.err, /0 created, 0 replaced by a newer version, 14 already stored/);
      });
    }
  });
}

t.test('faults', async (t) => {
  const kind = kinds[kinds.length - 1]!;
  const source = directory(t, 'lmdb');
  await populate(source);
  const file = tempFile(t, 'good.jsonl');
  t.equal((await cli('export', [file], source.env)).code, 0);
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  const write = (name: string, ls: string[]) => {
    const f = tempFile(t, name);
    writeFileSync(f, `${ls.join('\n')}\n`);
    return f;
  };
  const empty = async (d: ReturnType<typeof directory>) => {
    const c = await contentsOf(d);
    return c.records.length === 0 && c.pairs.length === 0 && c.audit.length === 0;
  };

  t.test('a truncated file leaves the target untouched', async (t) => {
    const target = directory(t, kind);
    const r = await cli('import', [write('cut.jsonl', lines.slice(0, 9))], target.env);
    t.equal(r.code, 1);
    t.match(r.err, /the file ends at line 9 without its trailer: it is truncated/);
    t.ok(await empty(target));
  });

  t.test('an altered file leaves the target untouched', async (t) => {
    const target = directory(t, kind);
    const altered = lines.map((l, i) => (i === 3 ? l.replace(/"displayName":"User (\d+)"/, '"displayName":"Someone else"') : l));
    t.not(altered[3], lines[3]);
    const r = await cli('import', [write('altered.jsonl', altered)], target.env);
    t.equal(r.code, 1);
    t.match(r.err, /the User lines do not match the trailer's checksum/);
    t.ok(await empty(target));
  });

  t.test('not an export file', async (t) => {
    const target = directory(t, kind);
    const r = await cli('import', [write('other.jsonl', ['{"schemas":["x"]}'])], target.env);
    t.equal(r.code, 1);
    t.match(r.err, /line 1: unknown line type undefined/);
    const usage = await cli('import', [], target.env);
    t.equal(usage.code, 2);
    t.match(usage.err, /usage: npm run export/);
  });

  /** The file with resource line `i` edited, and the trailer's checksum the exporter would have written for it. */
  const edited = (i: number, edit: (resource: Json) => void): string[] => {
    const line = JSON.parse(lines[i]!) as Json & { resource: Json };
    edit(line.resource);
    const out = [...lines];
    out[i] = JSON.stringify(line);
    const trailer = JSON.parse(lines[lines.length - 1]!) as { checksums: Record<string, string> };
    const sum = BigInt(`0x${trailer.checksums.User}`) - Checksum.digest(resourceItem(JSON.parse(lines[i]!))) + Checksum.digest(resourceItem(line as never));
    trailer.checksums.User = (((sum % (1n << 128n)) + (1n << 128n)) % (1n << 128n)).toString(16).padStart(32, '0');
    out[out.length - 1] = JSON.stringify(trailer);
    return out;
  };
  // A resource the schema refuses: a user whose `active` is a string; only the schema refuses it.
  const refusedLines = edited(2, (r) => (r.active = 'yes'));

  t.test("a resource of another server's schema: an extension this one lacks", async (t) => {
    const target = directory(t, kind);
    const r = await cli('import', [write('foreign.jsonl', edited(4, (r) => (r['urn:example:params:scim:schemas:extension:other:2.0:User'] = { badge: '7' })))], target.env);
    t.equal(r.code, 1, r.err);
    t.match(r.err, /line 5: schema extension 'urn:example:params:scim:schemas:extension:other:2\.0:User' is not one of User's/);
    t.ok(await empty(target));
  });

  t.test('a target that cannot be reached', async (t) => {
    const env = { SCIM_JWT_SECRET: SECRET, MONGODB_URI: 'mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=300&connectTimeoutMS=300', MONGODB_DB: 'unreachable' };
    const r = await cli('import', [file], env);
    t.equal(r.code, 1);
    t.match(r.err, /^import: .*(unavailable|ECONNREFUSED|not reachable|did not answer|connect)/im);
    const m = await cli('migrate', ['--to', env.MONGODB_URI], source.env);
    t.equal(m.code, 1);
  });

  t.test('a resource the schema refuses: named, nothing written', async (t) => {
    const target = directory(t, kind);
    const r = await cli('import', [write('refused.jsonl', refusedLines)], target.env);
    t.equal(r.code, 1, r.err);
    t.match(r.err, /1 resource\(s\) the schema refuses \(nothing was written.*\n {2}line 3: .*active/);
    t.ok(await empty(target));
  });

  t.test('--skip-invalid stores the rest and writes the refused line to a side file', async (t) => {
    const target = directory(t, kind);
    const side = tempFile(t, 'refused.jsonl');
    const r = await cli('import', ['--skip-invalid', side, write('refused.jsonl', refusedLines)], target.env);
    t.equal(r.code, 0, r.err);
    t.match(r.err, /13 created.*1 refused.*the target read back matches the file/s);
    const sideLines = readFileSync(side, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Json);
    t.equal(sideLines.length, 1);
    t.match(sideLines[0], { line: 3, error: /active/ });
    t.equal(sideLines[0]!.text, refusedLines[2]);
  });

  t.test('an import stopped half way finishes when run again, with nothing twice', async (t) => {
    const target = directory(t, kind);
    const store = await target.open();
    try {
      const registry = SchemaRegistry.load({});
      const schemas = ['User', 'Group'].map((id) => registry.resourceSchema(id));
      // A stream that breaks after the users and groups (the users stored, the groups not yet): the import stops
      // with the target written to.
      const broken = async function* () {
        for (const l of lines.slice(0, 15)) yield l;
        throw new Error('connection reset');
      };
      const first = new Importer(store, schemas, { rereadable: false, views: () => undefined });
      await t.rejects(first.run(broken), /connection reset/);
      t.ok(await store.notes.read(IMPORT_NOTE), 'the store notes the import in progress');
      // Another export's file is refused while this one is unfinished.
      const other = lines.map((l, i) => (i === 0 ? l.replace(/"id":"[^"]+"/, '"id":"another"') : l));
      const refused = new Importer(store, schemas, { rereadable: false, views: () => undefined });
      await t.rejects(refused.run(async function* () {
        yield* other;
      }), { message: /unfinished import of another export/ });
    } finally {
      await store.close();
    }
    const r = await cli('import', [write('again.jsonl', lines)], target.env);
    t.equal(r.code, 0, r.err);
    t.match(r.err, /resumed: 2 created, 0 replaced by a newer version, 12 already stored.*the target read back matches the file/s);
    const after = await contentsOf(target);
    t.equal(after.records.length, 14, 'every resource once');
    const reopened = await target.open();
    t.equal(await reopened.notes.read(IMPORT_NOTE), undefined, 'the note is gone once done');
    await reopened.close();
  });

  t.test('a stream (stdin) cut short: the target is resumable', async (t) => {
    const target = directory(t, kind);
    const r = await cli('import', ['-'], target.env, `${lines.slice(0, 10).join('\n')}\n`);
    t.equal(r.code, 3, r.err);
    t.match(r.err, /truncated; what was read is stored, and running the import again with the whole file finishes it/);
    const done = await cli('import', ['-'], target.env, `${lines.join('\n')}\n`);
    t.equal(done.code, 0, done.err);
    t.match(done.err, /resumed/);
  });

  t.test('--merge keeps the higher version', async (t) => {
    const target = directory(t, kind);
    t.equal((await cli('import', [file], target.env)).code, 0);
    // One user newer in the target, one older: the file's newer one replaces it, the target's newer one is kept.
    const store = await target.open();
    const registry = SchemaRegistry.load({});
    const users = registry.resourceSchema('User');
    const [a, b] = (await store.reader().records(users, undefined, 2));
    try {
      const bump = (r: typeof a, v: number) => ({ ...r!, version: v, resource: { ...r!.resource, meta: { ...r!.resource.meta, version: `W/"${v}"` } } });
      t.equal(await store.resources.replace(users, { record: bump(a, a!.version + 5), expectedVersion: a!.version }), 'ok');
      const older = bump(b, b!.version + 1);
      const f = write('merge.jsonl', lines.map((l) => (l.includes(`"id":"${b!.id}"`) && l.includes('"type":"resource"') ? JSON.stringify({ ...JSON.parse(l), version: older.version, resource: older.resource }) : l)));
      // The trailer no longer matches: the merge is refused as an altered file, as any import would.
      const r = await cli('import', ['--merge', f], target.env);
      t.equal(r.code, 1);
    } finally {
      await store.close();
    }
    const r = await cli('import', ['--merge', file], target.env);
    t.equal(r.code, 0, r.err);
    t.match(r.err, /0 created, 0 replaced by a newer version, 13 already stored, 1 kept \(newer in the target\).*merged: the target was not compared as a whole/s);
  });
});

t.test('migrate', async (t) => {
  const source = directory(t, 'lmdb');
  await populate(source);
  const before = await contentsOf(source);
  const to = kinds.includes('mongodb') ? directory(t, 'mongodb') : directory(t, 'lmdb');
  const args = to.kind === 'mongodb' ? ['--audit', '--to', to.env.MONGODB_URI!, '--to-db', to.env.MONGODB_DB!] : ['--audit', '--to', to.env.SCIM_DATA_DIR!];
  const r = await cli('migrate', args, source.env);
  t.equal(r.code, 0, r.err);
  t.match(r.out, to.kind === 'mongodb' ? /MONGODB_URI=.* MONGODB_DB=.* npm start/ : /SCIM_DATA_DIR=.* npm start/);
  t.same(await contentsOf(to), before);
  const same = await cli('migrate', ['--to', source.env.SCIM_DATA_DIR!], source.env);
  t.equal(same.code, 2, 'migrating into the store itself is refused');
  const full = await cli('migrate', args, source.env);
  t.equal(full.code, 1, 'a target that is not empty is refused');
  t.match(full.err, /not empty/);
});
