/**
 * `npm run backup -- <target dir>` copies the embedded store's data directory (SCIM_DATA_DIR, default ./data) into
 * `target`, compacted, while the server keeps running: LMDB copies a consistent snapshot of a live environment in
 * one read transaction, so writes that commit meanwhile are simply not in the copy. To restore, stop the server and
 * start it with SCIM_DATA_DIR pointing at the copy (or move the copy into place).
 */
import { existsSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadConfig } from '../config';
import { backupLmdb } from '../store/lmdb';

async function main(): Promise<void> {
  const target = process.argv[2];
  if (!target || process.argv.length > 3) throw new Error('usage: npm run backup -- <target directory>');
  const config = loadConfig(process.env);
  if (config.mongodbUri) throw new Error('MONGODB_URI is set: back up MongoDB with its own tools (mongodump)');
  const source = resolve(config.dataDir);
  if (!existsSync(source)) throw new Error(`no data directory at ${source} (SCIM_DATA_DIR)`);
  if (existsSync(target) && readdirSync(target).length > 0) throw new Error(`${resolve(target)} is not empty`);
  const { records, bytes } = await backupLmdb(source, resolve(target));
  process.stdout.write(`backed up ${records} records (${(bytes / 1048576).toFixed(1)} MB) from ${source} to ${resolve(target)}\n`);
}

main().catch((err) => {
  process.stderr.write(`backup: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
