/**
 * One store seeded with users for an HTTP benchmark (bench/http.ts, bench/groups.ts): the embedded store in a fresh
 * data directory, or a fresh database on MongoDB (MONGODB_URI, else a test database started for the run). What to
 * undo is added to `cleanups`, which the caller runs in order: the database is dropped before it is stopped.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import type { ResourceSchema } from '../src/scim/schema';
import { seedEmbedded } from './embedded';
import { seedUsers } from './query';
import { startFerretDB } from './support';

export interface SeededStore {
  ids: string[];
  seconds: number;
  /** The server's environment for this store. */
  env: Record<string, string>;
  /** MongoDB only. */
  mongo?: { uri: string; dbName: string };
}

export async function seedStore(
  store: 'lmdb' | 'mongodb',
  options: { size: number; users: ResourceSchema; mongodbUri?: string; label: string },
  cleanups: (() => Promise<void>)[],
  log: (s: string) => void,
): Promise<SeededStore> {
  if (store === 'lmdb') {
    const dir = mkdtempSync(path.join(os.tmpdir(), `scim-bench-${options.label}-`));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const data = await seedEmbedded(dir, options.size, log);
    return { ids: data.ids, seconds: data.seconds, env: { SCIM_DATA_DIR: dir } };
  }
  let uri = options.mongodbUri;
  if (!uri) {
    const db = await startFerretDB();
    cleanups.push(() => db.stop());
    uri = db.uri;
  }
  const dbName = `scim_bench_${options.label}_${randomUUID().slice(0, 8)}`;
  const data = await seedUsers(uri, dbName, options.users, options.size, 42, log);
  const at = uri;
  cleanups.unshift(async () => {
    const client = new MongoClient(at);
    try {
      await client.db(dbName).dropDatabase();
    } finally {
      await client.close();
    }
  });
  return { ids: data.ids, seconds: data.seedSeconds, env: { MONGODB_URI: uri, MONGODB_DB: dbName }, mongo: { uri, dbName } };
}
