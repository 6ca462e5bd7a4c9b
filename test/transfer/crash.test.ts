/**
 * An import killed half way (kill -9, issue 30) and run again: complete, nothing twice. The file is made here
 * (format.ts: 20,000 users with a correct trailer), the import runs as a real process of the CLI
 * (src/cli/transfer.ts) on an embedded store and is killed once its progress passes a third; the same import run
 * again finishes the job, and the target, read back, matches the file.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { runTransfer } from '../../src/cli/transfer';
import { createStore } from '../../src/store';
import { SchemaRegistry } from '../../src/scim/schema';
import { Checksums, FORMAT, FORMAT_VERSION, resourceItem, type ResourceLine } from '../../src/transfer/format';
import { IMPORT_NOTE } from '../../src/transfer/import';
import { SECRET, tempDataDir, USER } from '../helper';

const CLI = join(__dirname, '..', '..', 'src', 'cli', 'transfer.ts');
const USERS = 20_000;

function exportFile(dir: string): string {
  const sums = new Checksums();
  sums.of('Group');
  sums.of('members');
  const lines: string[] = [JSON.stringify({ type: 'header', format: FORMAT, formatVersion: FORMAT_VERSION, id: randomUUID(), server: 'test', store: 'lmdb', consistency: 'snapshot', at: new Date().toISOString(), counts: { User: USERS, Group: 0 }, audit: false })];
  const at = '2026-01-01T00:00:00.000Z';
  for (let i = 0; i < USERS; i++) {
    const id = `0190${i.toString(16).padStart(4, '0')}-0000-7000-8000-${i.toString(16).padStart(12, '0')}`;
    const line: ResourceLine = {
      type: 'resource',
      resourceType: 'User',
      id,
      version: 1 + (i % 3),
      resource: { schemas: [USER], id, userName: `crash${i}@example.com`, displayName: `Crash ${i}`, meta: { resourceType: 'User', created: at, lastModified: at, version: `W/"${1 + (i % 3)}"` } },
    };
    sums.of('User').add(resourceItem(line));
    lines.push(JSON.stringify(line));
  }
  lines.push(JSON.stringify({ type: 'trailer', counts: sums.counts(), checksums: sums.hexes(), lines: lines.length + 1 }));
  const file = join(dir, 'crash.jsonl');
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

t.test('kill -9 in the middle of an import, then the same import again', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'scim-crash-'));
  const dataDir = tempDataDir();
  t.teardown(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  });
  const file = exportFile(dir);
  const env = { ...process.env, SCIM_JWT_SECRET: SECRET, SCIM_DATA_DIR: dataDir, MONGODB_URI: '' };
  const child = spawn(process.execPath, [...process.execArgv, CLI, 'import', file], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const killed = await new Promise<boolean>((resolve) => {
    child.stderr!.on('data', (c: Buffer) => {
      err += c.toString();
      // The import's progress, a line a tenth: kill it once a third is written.
      if (/import: [3-9]0%/.test(err) && child.exitCode === null && !child.killed) child.kill('SIGKILL');
    });
    child.on('exit', (_code, signal) => resolve(signal === 'SIGKILL'));
  });
  t.ok(killed, `the import was killed half way (${err.trim().split('\n').pop()})`);
  const store = await createStore({ mongodbDb: 'unused', dataDir });
  const users = SchemaRegistry.load({}).resourceSchema('User');
  const stored = (await store.resources.query(users, { startIndex: 1, count: 0 })).totalResults;
  t.ok(stored > 0 && stored < USERS, `part of the users are stored (${stored})`);
  t.ok(await store.notes.read(IMPORT_NOTE), 'the store notes the import in progress');
  await store.close();

  const out = new PassThrough();
  const errs: Buffer[] = [];
  const errStream = new PassThrough();
  errStream.on('data', (c: Buffer) => errs.push(c));
  const code = await runTransfer('import', [file], { env: { SCIM_JWT_SECRET: SECRET, SCIM_DATA_DIR: dataDir }, stdin: Readable.from([]), stdout: out, stderr: errStream, version: 'test' });
  const text = Buffer.concat(errs).toString();
  t.equal(code, 0, text);
  t.match(text, new RegExp(`resumed: ${USERS - stored} created, 0 replaced by a newer version, ${stored} already stored.*the target read back matches the file`, 's'));
  const after = await createStore({ mongodbDb: 'unused', dataDir });
  t.equal((await after.resources.query(users, { startIndex: 1, count: 0 })).totalResults, USERS, 'every user once');
  t.equal(await after.notes.read(IMPORT_NOTE), undefined);
  await after.close();
});
