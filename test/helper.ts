/**
 * build(t) -> an app driven with `inject`, closed at teardown; one per store kind. Tests that need MongoDB get it
 * from MONGODB_URI (test/run-tap.js starts FerretDB and sets it); each gets its own database, dropped afterwards.
 */
import 'tap';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { MongoClient } from 'mongodb';
import { buildApp } from '../src/app';
import { loadConfig, Config } from '../src/config';
import { mintToken } from '../src/cli/mint';
import { createStore } from '../src/store';
import type { Store } from '../src/store/store';

export const SECRET = 'test-secret-that-is-long-enough-for-hs256!';
export type StoreKind = 'lmdb' | 'mongodb';

type Tap = tap.Test;

/** The store kinds this run covers: always the embedded one; MongoDB when MONGODB_URI is set (mandatory in CI). */
export function storeKinds(): StoreKind[] {
  if (process.env.MONGODB_URI) return ['lmdb', 'mongodb'];
  if (process.env.CI === 'true') throw new Error('CI=true but MONGODB_URI is not set: the MongoDB store run is mandatory in CI');
  return ['lmdb'];
}

/** A throw-away data directory for an embedded store, removed at cleanup. */
export function tempDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'scim-lmdb-'));
}

export async function makeStore(kind: StoreKind): Promise<{ store: Store; cleanup(): Promise<void> }> {
  if (kind === 'lmdb') {
    const dataDir = tempDataDir();
    const store = await createStore({ mongodbDb: 'unused', dataDir });
    return {
      store,
      cleanup: async () => {
        await store.close();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }
  const uri = process.env.MONGODB_URI!;
  const db = `scim_test_${randomBytes(6).toString('hex')}`;
  const store = await createStore({ mongodbUri: uri, mongodbDb: db });
  return {
    store,
    cleanup: async () => {
      await store.close();
      const client = new MongoClient(uri);
      try {
        await client.db(db).dropDatabase();
      } finally {
        await client.close();
      }
    },
  };
}

export interface Harness {
  app: FastifyInstance;
  store: Store;
  config: Config;
  token(scope?: string, as?: Caller): Promise<string>;
  /**
   * inject with a bearer token for `scim:read scim:write` unless headers say otherwise; `roles` and `client` add the
   * roles and client_id claims (service/access.ts).
   */
  req(opts: InjectOptions & { scope?: string } & Caller): Promise<LightMyRequestResponse>;
  json(res: LightMyRequestResponse): Record<string, unknown>;
}

/** Who a test request is from, besides its scopes. */
export interface Caller {
  roles?: string[];
  client?: string;
}

export async function build(t: Tap, kind: StoreKind = 'lmdb', env: Record<string, string> = {}): Promise<Harness> {
  // The pressure check is off unless a test asks for it: a test process runs hundreds of apps on a loaded 2-core
  // machine, and a GC pause past the bound would turn an unrelated request into a 503 (operating.test.ts tests it).
  const config = loadConfig({ SCIM_JWT_SECRET: SECRET, SCIM_MAX_EVENT_LOOP_DELAY_MS: '0', ...env });
  const { store, cleanup } = await makeStore(kind);
  const app = await buildApp({ config, store });
  t.teardown(async () => {
    await app.close();
    await cleanup();
  });
  const tokens = new Map<string, string>();
  const token = async (scope = 'scim:read scim:write', as: Caller = {}) => {
    const key = JSON.stringify([scope, as.roles ?? [], as.client ?? '']);
    let tok = tokens.get(key);
    if (!tok) tokens.set(key, (tok = await mintToken(config.jwt, { scope, ttlSeconds: 600, roles: as.roles, clientId: as.client })));
    return tok;
  };
  return {
    app,
    store,
    config,
    token,
    async req(opts) {
      const { scope, roles, client, ...rest } = opts;
      const headers: Record<string, string> = { ...(rest.headers as Record<string, string> | undefined) };
      if (!Object.keys(headers).some((h) => h.toLowerCase() === 'authorization')) {
        headers.authorization = `Bearer ${await token(scope, { roles, client })}`;
      }
      if (rest.payload !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
        headers['content-type'] = 'application/scim+json';
      }
      return app.inject({ ...rest, headers });
    },
    json(res) {
      return res.json() as Record<string, unknown>;
    },
  };
}

/** Where one directory lives across restarts and processes: an LMDB data directory or a MongoDB database. */
export interface Directory {
  kind: StoreKind;
  /** The MongoDB database's name (unused by the embedded store). */
  db: string;
  /** The server's settings for it (SCIM_DATA_DIR, or MONGODB_URI and MONGODB_DB), and the test's secret. */
  env: Record<string, string>;
  open(): Promise<Store>;
}

/** A fresh directory of `kind`, removed (or its database dropped) at teardown. */
export function directoryOf(t: { teardown(fn: () => unknown): void }, kind: StoreKind, name: string): Directory {
  const dataDir = tempDataDir();
  const db = `scim_${name}_${randomBytes(5).toString('hex')}`;
  const uri = process.env.MONGODB_URI;
  t.teardown(async () => {
    rmSync(dataDir, { recursive: true, force: true });
    if (kind === 'mongodb') {
      const client = new MongoClient(uri!);
      await client.db(db).dropDatabase();
      await client.close();
    }
  });
  const settings: Record<string, string> = kind === 'lmdb' ? { SCIM_DATA_DIR: dataDir } : { MONGODB_URI: uri!, MONGODB_DB: db };
  return {
    kind,
    db,
    env: { SCIM_JWT_SECRET: SECRET, SCIM_MAX_EVENT_LOOP_DELAY_MS: '0', ...settings },
    open: () => (kind === 'lmdb' ? createStore({ mongodbDb: 'unused', dataDir }) : createStore({ mongodbUri: uri, mongodbDb: db })),
  };
}

/** Runs `fn` once per store kind as a subtest named after the store. */
export function eachStore(t: Tap, fn: (t: Tap, kind: StoreKind) => Promise<void>): void {
  for (const kind of storeKinds()) t.test(kind, (sub) => fn(sub, kind));
}

export const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';

export function user(userName: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { schemas: [USER], userName, ...extra };
}
