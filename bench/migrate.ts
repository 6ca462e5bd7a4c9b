/**
 * `npm run bench -- migrate` (issue 30): moving a directory from the embedded store to MongoDB. An embedded
 * directory of `size` users (bench/embedded.ts seedEmbedded: the query benchmark's users, a manager each) and
 * `groups` groups of size/groups members each (every user in one group) is moved with the commands an operator
 * runs, each as its own process of the built CLI (dist/src/cli/transfer.js), timed, its peak memory (VmHWM) read:
 *
 *   export    the embedded store into a file (one LMDB read transaction)
 *   import    that file into a fresh MongoDB database (checked whole first, then written, then read back)
 *   migrate   the embedded store straight into another fresh database, in one process
 *
 * MongoDB is MONGODB_URI, else the test database (FerretDB 2.5 on PostgreSQL 15 + DocumentDB) started for the run.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { SchemaRegistry } from '../src/scim/schema';
import { LmdbStore } from '../src/store/lmdb';
import type { StoredRecord, ScimResource } from '../src/scim/resource';
import { seedEmbedded } from './embedded';
import { writeReportSection } from './report';
import { ROOT, startFerretDB } from './support';

export interface MigrateBenchOptions {
  size: number;
  groups: number;
  /** Which commands to run: export and import (a file between them), migrate (in one process). */
  phases: ('import' | 'migrate')[];
  uri?: string;
  report?: string;
  argv: string[];
}

export const MIGRATE_DEFAULTS = { size: 1_000_000, groups: 10_000, phases: ['import', 'migrate'] as ('import' | 'migrate')[] };

const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';

interface Phase {
  name: string;
  seconds: number;
  peakMb: number;
  /** The largest anonymous resident memory seen (RssAnon): the process's own, without the file pages it maps. */
  anonMb: number;
  code: number;
  output: string;
}

/** Runs the built CLI; its wall time, exit code, output and peak resident memory (VmHWM, read while it runs). */
function runCli(args: string[], env: Record<string, string>): Promise<Phase> {
  const entry = path.join(ROOT, 'dist', 'src', 'cli', 'transfer.js');
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [entry, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let peak = 0;
    let anon = 0;
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString();
      process.stderr.write(c);
    });
    const timer = setInterval(() => {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        const m = /VmHWM:\s+(\d+) kB/.exec(status);
        if (m) peak = Math.max(peak, Number(m[1]) / 1024);
        const a = /RssAnon:\s+(\d+) kB/.exec(status);
        if (a) anon = Math.max(anon, Number(a[1]) / 1024);
      } catch {
        // exited
      }
    }, 250);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(timer);
      resolve({ name: args[0]!, seconds: (performance.now() - started) / 1000, peakMb: peak, anonMb: anon, code: code ?? -1, output });
    });
  });
}

/** Adds `groups` groups to the seeded directory, the users split among them in id order, as an import stores pairs. */
async function seedGroups(dir: string, ids: readonly string[], groups: number, log: (s: string) => void): Promise<number> {
  const registry = SchemaRegistry.fromDirectory();
  const schema = registry.resourceSchema('Group');
  const store = new LmdbStore({ path: dir });
  await store.init([registry.resourceSchema('User'), schema]);
  const sorted = [...ids].sort();
  const per = Math.ceil(sorted.length / groups);
  const at = '2024-01-01T00:00:00.000Z';
  let pairs = 0;
  try {
    for (let g = 0; g < groups; g += 1000) {
      const records: StoredRecord[] = [];
      for (let i = g; i < Math.min(groups, g + 1000); i++) {
        const id = randomUUID();
        const resource = { schemas: [GROUP], id, displayName: `Group ${i}`, meta: { resourceType: 'Group', created: at, lastModified: at, version: 'W/"1"' } } as unknown as ScimResource;
        records.push({ resourceType: 'Group', id, version: 1, resource });
      }
      await store.resources.createMany(schema, records.map((record) => ({ record })));
      for (const [k, r] of records.entries()) {
        const members = sorted.slice((g + k) * per, (g + k + 1) * per).map((value) => ({ value, display: 'User', type: 'User' as const }));
        if (members.length > 0) await store.memberships.restore(r.id, members);
        pairs += members.length;
      }
      if (g % 10_000 === 0 && g > 0) log(`  groups: ${g.toLocaleString('en')}`);
    }
  } finally {
    await store.close();
  }
  return pairs;
}

export async function migrateBenchmark(options: MigrateBenchOptions): Promise<void> {
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const started = Date.now();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'scim-bench-migrate-'));
  const work = mkdtempSync(path.join(os.tmpdir(), 'scim-bench-migrate-file-'));
  const cleanups: (() => Promise<void>)[] = [async () => rmSync(dir, { recursive: true, force: true }), async () => rmSync(work, { recursive: true, force: true })];
  try {
    log(`seeding ${options.size.toLocaleString('en')} users and ${options.groups.toLocaleString('en')} groups into ${dir}`);
    const seeded = await seedEmbedded(dir, options.size, log);
    const t0 = performance.now();
    const pairs = await seedGroups(dir, seeded.ids, options.groups, log);
    const seedSeconds = seeded.seconds + (performance.now() - t0) / 1000;
    let uri = options.uri;
    if (!uri) {
      const db = await startFerretDB();
      cleanups.unshift(() => db.stop());
      uri = db.uri;
    }
    const dbs = [`scim_bench_import_${randomUUID().slice(0, 8)}`, `scim_bench_migrate_${randomUUID().slice(0, 8)}`];
    const at = uri;
    cleanups.unshift(async () => {
      const client = new MongoClient(at);
      try {
        for (const db of dbs) await client.db(db).dropDatabase();
      } finally {
        await client.close();
      }
    });
    const file = path.join(work, 'directory.jsonl');
    const embedded = { SCIM_DATA_DIR: dir, SCIM_JWT_SECRET: 'bench-migrate-secret-long-enough-for-hs256!!' };
    const phases: Phase[] = [];
    let fileBytes = 0;
    let lines = 0;
    if (options.phases.includes('import')) {
      log('export');
      const exported = await runCli(['export', file], embedded);
      phases.push(exported);
      fileBytes = statSync(file).size;
      lines = Number(/\((\d+) lines;/.exec(exported.output)?.[1] ?? 0);
      log('import');
      phases.push(await runCli(['import', file], { MONGODB_URI: uri, MONGODB_DB: dbs[0]!, SCIM_JWT_SECRET: embedded.SCIM_JWT_SECRET }));
      rmSync(file);
    }
    if (options.phases.includes('migrate')) {
      log('migrate');
      phases.push(await runCli(['migrate', '--to', uri, '--to-db', dbs[1]!], embedded));
    }
    const failed = phases.filter((p) => p.code !== 0);
    const resources = options.size + options.groups;
    const row = (p: Phase) =>
      `| ${p.name} | ${p.seconds.toFixed(1)} s (${(p.seconds / 60).toFixed(1)} min) | ${Math.round(resources / p.seconds).toLocaleString('en')} | ${Math.round(p.peakMb)} MB | ${Math.round(p.anonMb)} MB | ${p.code === 0 ? 'ok' : `**exit ${p.code}**`} |`;
    const report = [
      '## Migrate',
      '',
      '`npm run bench -- migrate` (source: `bench/migrate.ts`) moves an embedded directory to MongoDB with the commands an operator runs, each a process of the built CLI, timed, its peak resident memory (VmHWM) read while it runs (the peak RSS counts the pages of data files a process maps, shared and reclaimable; the anonymous column is its own memory, sampled every 250 ms). `export` writes the embedded store into a file from one LMDB read transaction; `import` checks that file whole, writes it into a fresh database and reads the database back to compare checksums; `migrate` pipes an export into an import in one process (no file, no first check), into another fresh database, and reads it back.',
      '',
      `- Date: ${new Date().toISOString()}`,
      `- Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model.trim().split(' ').slice(0, 2).join(' ')}), Node.js ${process.version}; the CLI, the database and this benchmark on this machine, over loopback; load average at the end ${os.loadavg()[0]!.toFixed(2)}`,
      `- Command: \`npm run bench -- ${options.argv.join(' ')}\``,
      `- Directory: ${options.size.toLocaleString('en')} users (about 0.8 KB of JSON each, the enterprise extension with a manager) and ${options.groups.toLocaleString('en')} groups holding ${pairs.toLocaleString('en')} member pairs (every user in one group); seeded in ${seedSeconds.toFixed(0)} s${fileBytes > 0 ? `; the export file ${(fileBytes / 1048576).toFixed(0)} MB, ${lines.toLocaleString('en')} lines` : ''}`,
      `- MongoDB: ${options.uri ? 'MONGODB_URI' : 'the test database (FerretDB 2.5 on PostgreSQL 15 + DocumentDB), fresh databases'}`,
      `- Whole run ${((Date.now() - started) / 1000).toFixed(0)} s`,
      '',
      '| command | time | resources/s | peak RSS (VmHWM) | peak anonymous memory | exit |',
      '| --- | ---: | ---: | ---: | ---: | --- |',
      ...phases.map(row),
      '',
      failed.length > 0 ? `Failed: ${failed.map((p) => `${p.name}: ${p.output.trim().split('\n').slice(-3).join(' / ')}`).join('; ')}` : '',
    ].join('\n');
    process.stdout.write(`${report}\n`);
    if (options.report) writeReportSection(options.report, 'migrate', `npm run bench -- ${options.argv.join(' ')}`, report);
    if (failed.length > 0) process.exitCode = 1;
  } finally {
    for (const c of cleanups) await c().catch(() => undefined);
  }
}
