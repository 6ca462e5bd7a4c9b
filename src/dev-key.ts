/**
 * The development signing key of an embedded deployment: with no JWT key configured, `npm start` generates an HS256
 * secret and keeps it in the data directory (owner-only), so a token printed yesterday still works after a
 * restart, and the key lives and dies with the data it protects. Production never gets here (config.ts requires a
 * key there).
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const DEV_KEY_FILE = 'dev-jwt-secret';

/** The key in `dataDir`, created (mode 0600) when there is none; `created` says which. */
export function developmentKey(dataDir: string): { secret: string; file: string; created: boolean } {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, DEV_KEY_FILE);
  if (existsSync(file)) {
    const secret = readFileSync(file, 'utf8').trim();
    if (secret.length >= 32) {
      chmodSync(file, 0o600);
      return { secret, file, created: false };
    }
  }
  const secret = randomBytes(32).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return { secret, file, created: true };
}
