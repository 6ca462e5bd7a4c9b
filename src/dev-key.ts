/**
 * Secrets an embedded deployment keeps with its data (owner-only files in the data directory), so that they survive
 * a restart, are shared by every process on that directory, and live and die with the data they protect:
 *  - the development signing key: with no JWT key configured, `npm start` generates an HS256 secret, so a token
 *    printed yesterday still works after a restart (production never gets here: config.ts requires a key there);
 *  - the cursor key, when only a public JWT key is configured and no SCIM_CURSOR_SECRET is set.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Config } from './config';

export const DEV_KEY_FILE = 'dev-jwt-secret';
export const CURSOR_KEY_FILE = 'cursor-secret';

/** The development signing key in `dataDir`, created (mode 0600) when there is none; `created` says which. */
export function developmentKey(dataDir: string): { secret: string; file: string; created: boolean } {
  return keptSecret(dataDir, DEV_KEY_FILE);
}

/** The secret kept in `dataDir`/`name`, created (mode 0600) when there is none; `created` says which. */
export function keptSecret(dataDir: string, name: string): { secret: string; file: string; created: boolean } {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, name);
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

/**
 * The keys a server process signs with, where the configuration leaves them out:
 *  - no JWT key at all (development only; production refuses to start, see config.ts): an HS256 secret, kept with
 *    the data on the embedded store (tokens survive a restart), fresh per start with MongoDB (no local data);
 *    `devKeyNote` says which, and that a token should be printed;
 *  - no SCIM_CURSOR_SECRET and only a public key, which cannot sign cursors (anyone could forge one): a key kept
 *    with the data on the embedded store; with MongoDB there is nowhere shared to keep one, so a random key serves
 *    this process only, and `cursorNote` says what that means.
 * With an HS256 secret the cursor key is derived from it (app.ts), the same on every instance.
 */
export function withProcessKeys(config: Config): { config: Config; devKeyNote?: string; cursorNote?: string } {
  let devKeyNote: string | undefined;
  let cursorNote: string | undefined;
  if (!config.jwt.secret && !config.jwt.publicKey) {
    if (config.mongodbUri) {
      config = { ...config, jwt: { ...config.jwt, secret: randomBytes(32).toString('base64url') } };
      devKeyNote = 'generated a development key for this run';
    } else {
      const key = developmentKey(config.dataDir);
      config = { ...config, jwt: { ...config.jwt, secret: key.secret } };
      devKeyNote = `${key.created ? 'generated' : 'using'} the development key kept in ${resolve(key.file)}`;
    }
  }
  if (!config.cursorSecret && !config.jwt.secret) {
    if (config.mongodbUri) {
      config = { ...config, cursorSecret: randomBytes(32).toString('base64url') };
      cursorNote =
        'SCIM_CURSOR_SECRET is not set and the JWT key is public: cursors (RFC 9865) are signed with a random key of this process, so they do not survive a restart and are not accepted by other instances; set SCIM_CURSOR_SECRET (the same on every instance)';
    } else {
      config = { ...config, cursorSecret: keptSecret(config.dataDir, CURSOR_KEY_FILE).secret };
    }
  }
  return { config, devKeyNote, cursorNote };
}
