/**
 * `npm run export`, `npm run import` and `npm run migrate` (issue 30): moving a directory between stores, or keeping
 * a copy of it, through the export file of ../transfer/format.ts. One entry point, three commands, reading the
 * server's own settings (MONGODB_URI or SCIM_DATA_DIR, MONGODB_DB, SCIM_SCHEMA_DIR).
 *
 *   export [--audit] <file | ->            the configured store into a file (written as <file>.partial, then renamed)
 *   import [--merge] [--skip-invalid F] <file | ->   a file into the configured store
 *   migrate [--audit] --to <mongodb://… | directory> [--to-db NAME]   the configured store straight into another
 *
 * Exit codes: 0 done; 1 refused or failed, the target untouched; 2 usage; 3 failed with the target written to (run
 * the same import again to finish it); 4 an export from a store without snapshots that changed while it was read.
 */
import { createReadStream, createWriteStream, existsSync, readFileSync, renameSync, statSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { loadConfig } from '../config';
import { packageRoot, SchemaRegistry } from '../scim/schema';
import { membersAttribute } from '../scim/members';
import { registryFingerprint, Views } from '../scim/view';
import type { ResourceSchema } from '../scim/schema';
import { createStore } from '../store';
import type { Store } from '../store/store';
import { exportDirectory, type ExportResult } from '../transfer/export';
import { ImportError, Importer, type ImportResult } from '../transfer/import';
import { LineError } from '../transfer/format';

export const USAGE = [
  'usage: npm run export -- [--audit] <file | ->',
  '       npm run import -- [--merge] [--skip-invalid <file>] <file | ->',
  '       npm run migrate -- [--audit] --to <mongodb://… | directory> [--to-db <name>]',
].join('\n');

class UsageError extends Error {}

interface Io {
  env: Record<string, string | undefined>;
  stdin: Readable;
  stdout: Writable;
  /** Messages and progress. */
  stderr: Writable & { isTTY?: boolean };
  version: string;
}

interface Setup {
  schemas: ResourceSchema[];
  views: (schema: ResourceSchema) => Views | undefined;
}

function setup(env: Record<string, string | undefined>): Setup {
  const config = loadConfig(env);
  const registry = SchemaRegistry.load({ operatorDir: config.schemaDir, unknownAttributes: config.unknownAttributes });
  // Users before groups: a group's members are resources stored before it.
  const schemas = registry.resourceTypes().map((t) => registry.resourceSchema(t.id));
  schemas.sort((a, b) => Number(Boolean(membersAttribute(a))) - Number(Boolean(membersAttribute(b))));
  const fingerprint = registryFingerprint(registry);
  const endpoints = (id: string) => registry.resourceType(id)?.endpoint;
  const views = new Map(schemas.map((s) => [s, membersAttribute(s) ? undefined : new Views(s, endpoints, fingerprint)]));
  return { schemas, views: (s) => views.get(s) };
}

async function openStore(env: Record<string, string | undefined>, target?: { uri?: string; db?: string; dir?: string }): Promise<Store> {
  const config = loadConfig(env);
  const timeout = Math.max(config.dbTimeoutMs, 60_000);
  const store = target
    ? await createStore({ mongodbUri: target.uri, mongodbDb: target.db ?? config.mongodbDb, dbTimeoutMs: timeout, dataDir: target.dir })
    : await createStore({ mongodbUri: config.mongodbUri, mongodbDb: config.mongodbDb, dbTimeoutMs: timeout, dataDir: config.dataDir });
  await store.ping();
  return store;
}

/**
 * Progress on stderr: on a terminal a bar redrawn in place with the rate and the time left; otherwise a line at
 * each tenth, so that a log stays short.
 */
export function progress(stderr: Io['stderr'], label: string, now: () => number = Date.now): (done: number, total: number) => void {
  const started = now();
  let lastTenth = 0;
  let lastDraw = 0;
  return (done, total) => {
    const t = now();
    const rate = done / Math.max(0.001, (t - started) / 1000);
    if (stderr.isTTY) {
      if (t - lastDraw < 200 && done < total) return;
      lastDraw = t;
      const share = total > 0 ? Math.min(1, done / total) : 0;
      const bar = total > 0 ? `[${'#'.repeat(Math.round(share * 30)).padEnd(30, '.')}] ${(share * 100).toFixed(0).padStart(3)}% ` : '';
      const eta = total > 0 && rate > 0 ? ` ETA ${Math.ceil((total - done) / rate)} s` : '';
      stderr.write(`\r${label}: ${bar}${done.toLocaleString('en')} lines, ${Math.round(rate).toLocaleString('en')}/s${eta}   `);
      if (total > 0 && done >= total) stderr.write('\n');
    } else if (total > 0) {
      const tenth = Math.floor((done / total) * 10);
      if (tenth > lastTenth) {
        lastTenth = tenth;
        stderr.write(`${label}: ${tenth * 10}% (${done.toLocaleString('en')} of ${total.toLocaleString('en')} lines, ${Math.round(rate).toLocaleString('en')}/s)\n`);
      }
    }
  };
}

function lines(input: () => Readable): () => AsyncIterable<string> {
  return () => createInterface({ input: input(), crlfDelay: Infinity });
}

function describeExport(result: ExportResult): string {
  const counts = Object.entries(result.trailer.counts)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
  return `exported ${counts} (${result.trailer.lines} lines; ${result.header.consistency === 'snapshot' ? 'one snapshot' : 'read live'})`;
}

function describeImport(r: ImportResult): string {
  return [
    `imported export ${r.header.id} (${r.header.store}, ${r.header.at})${r.resumed ? ', resumed' : ''}:`,
    `${r.created} created, ${r.replaced} replaced by a newer version, ${r.unchanged} already stored, ${r.kept} kept (newer in the target), ${r.refused} refused;`,
    `${r.members} member pairs, ${r.audit} audit entries;`,
    r.verified ? 'the target read back matches the file' : 'merged: the target was not compared as a whole',
  ].join(' ');
}

function flag(args: string[], name: string): boolean {
  const i = args.indexOf(name);
  if (i < 0) return false;
  args.splice(i, 1);
  return true;
}

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const value = args[i + 1];
  if (value === undefined || value.startsWith('--')) throw new UsageError(`${name} needs a value`);
  args.splice(i, 2);
  return value;
}

function single(args: string[]): string {
  if (args.length !== 1 || (args[0]!.startsWith('--') && args[0] !== '-')) throw new UsageError(args.length === 0 ? 'a file (or -) is needed' : `unexpected ${args.join(' ')}`);
  return args[0]!;
}

async function runExport(args: string[], io: Io): Promise<number> {
  const audit = flag(args, '--audit');
  const file = single(args);
  const { schemas } = setup(io.env);
  const store = await openStore(io.env);
  let out: Writable = io.stdout;
  let partial: string | undefined;
  if (file !== '-') {
    if (existsSync(file)) throw new UsageError(`${file} exists: choose a new file`);
    partial = `${file}.partial`;
    out = createWriteStream(partial, { mode: 0o600 });
  }
  try {
    const show = progress(io.stderr, 'export');
    const result = await exportDirectory(store, schemas, out, { audit, server: io.version, onProgress: (p) => show(p.resources, p.total) });
    if (partial) {
      (out as WriteStream).end();
      await finished(out);
      renameSync(partial, file);
    }
    io.stderr.write(`${describeExport(result)}${file === '-' ? '' : ` to ${file}`}\n`);
    if (result.changedDuring > 0) {
      io.stderr.write(
        `warning: ${result.changedDuring} resource(s) were created, changed or deleted while the export read the store, which offers no snapshot: the file holds each as it was when read. For one consistent moment, stop writes (stop the server) and export again.\n`,
      );
      return 4;
    }
    return 0;
  } finally {
    await store.close();
  }
}

async function runImport(args: string[], io: Io): Promise<number> {
  const merge = flag(args, '--merge');
  const sideFile = option(args, '--skip-invalid');
  const file = single(args);
  if (file !== '-' && !(existsSync(file) && statSync(file).isFile())) throw new UsageError(`no file at ${file}`);
  const { schemas, views } = setup(io.env);
  const store = await openStore(io.env);
  let side: WriteStream | undefined;
  try {
    const importer = new Importer(store, schemas, {
      merge,
      rereadable: file !== '-',
      views,
      onRefused: sideFile
        ? async (n, text, reason) => {
            side ??= createWriteStream(sideFile, { mode: 0o600 });
            if (!side.write(`${JSON.stringify({ line: n, error: reason, text })}\n`)) await once(side, 'drain');
            io.stderr.write(`line ${n} refused: ${reason}\n`);
          }
        : undefined,
      onPhase: (phase) => io.stderr.write(`import: ${phase}\n`),
      onProgress: progress(io.stderr, 'import'),
    });
    const result = await importer.run(lines(() => (file === '-' ? io.stdin : createReadStream(file))));
    io.stderr.write(`${describeImport(result)}\n`);
    if (result.refused > 0) io.stderr.write(`${result.refused} refused line(s) written to ${sideFile}\n`);
    return 0;
  } finally {
    if (side) {
      side.end();
      await finished(side);
    }
    await store.close();
  }
}

async function runMigrate(args: string[], io: Io): Promise<number> {
  const audit = flag(args, '--audit');
  const to = option(args, '--to');
  const toDb = option(args, '--to-db');
  if (!to || args.length > 0) throw new UsageError(args.length > 0 ? `unexpected ${args.join(' ')}` : '--to is needed');
  const target = /^mongodb(\+srv)?:\/\//.test(to) ? { uri: to, db: toDb } : { dir: to };
  const config = loadConfig(io.env);
  if ((target.uri && target.uri === config.mongodbUri && (toDb ?? config.mongodbDb) === config.mongodbDb) || (target.dir && !config.mongodbUri && target.dir === config.dataDir)) {
    throw new UsageError('--to names the store the server is configured for: migrate into another one');
  }
  const { schemas, views } = setup(io.env);
  const source = await openStore(io.env);
  let destination: Store | undefined;
  try {
    destination = await openStore(io.env, target);
    const pipe = new PassThrough({ highWaterMark: 1 << 20 });
    const show = progress(io.stderr, 'migrate');
    const importer = new Importer(destination, schemas, { rereadable: false, views, onProgress: show });
    const exported = exportDirectory(source, schemas, pipe, { audit, server: io.version }).finally(() => pipe.end());
    // An import that stops (a target not empty, a refused resource) stops the export too: nothing reads the pipe.
    const imported = importer.run(lines(() => pipe)).catch((err: unknown) => {
      pipe.destroy();
      throw err;
    });
    const [ex, im] = await Promise.allSettled([exported, imported]);
    if (im.status === 'rejected') throw im.reason;
    if (ex.status === 'rejected') throw ex.reason;
    const [e, i] = [ex.value, im.value];
    io.stderr.write(`${describeExport(e)} from ${source.kind}\n${describeImport(i)}\n`);
    io.stdout.write(
      target.uri
        ? `start the server on the target with: MONGODB_URI='${target.uri}'${toDb ? ` MONGODB_DB=${toDb}` : ''} npm start\n`
        : `start the server on the target with: SCIM_DATA_DIR='${target.dir}' npm start (and no MONGODB_URI)\n`,
    );
    if (e.changedDuring > 0) {
      io.stderr.write(`warning: ${e.changedDuring} resource(s) changed in the source while it was read: stop writes to it and migrate again with --merge\n`);
      return 4;
    }
    return 0;
  } finally {
    await destination?.close();
    await source.close();
  }
}

/** Runs `command` with its arguments; returns the exit code. */
export async function runTransfer(command: string, argv: readonly string[], io: Io): Promise<number> {
  const args = [...argv];
  try {
    if (command === 'export') return await runExport(args, io);
    if (command === 'import') return await runImport(args, io);
    if (command === 'migrate') return await runMigrate(args, io);
    throw new UsageError(`unknown command ${command}`);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr.write(`${command}: ${e.message}\n${USAGE}\n`);
      return 2;
    }
    if (e instanceof ImportError) {
      io.stderr.write(`${command}: ${e.message}\n`);
      return e.targetTouched ? 3 : 1;
    }
    if (e instanceof LineError) {
      io.stderr.write(`${command}: ${e.message}\n`);
      return 1;
    }
    io.stderr.write(`${command}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

if (require.main === module) {
  const [command = '', ...rest] = process.argv.slice(2);
  const version = (JSON.parse(readFileSync(join(packageRoot(__dirname), 'package.json'), 'utf8')) as { version: string }).version;
  runTransfer(command, rest, { env: process.env, stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, version }).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`${command}: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
