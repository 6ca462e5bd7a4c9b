/**
 * Picks the store: MongoDB when a URI is configured, otherwise the embedded store, LMDB in the data directory
 * (durable: it keeps its data across restarts and crashes).
 *
 * No I/O happens here: call `init(schemas)` on the result before serving, which checks the database answers and
 * creates the indexes (a store also prepares a resource type on first use).
 */
import { LmdbStore } from './lmdb';
import { MongoStore } from './mongo';
import type { Store } from './store';

export interface StoreConfig {
  mongodbUri?: string;
  mongodbDb: string;
  /** The longest one database call may take (SCIM_DB_TIMEOUT_MS). */
  dbTimeoutMs?: number;
  /** The embedded store's data directory (SCIM_DATA_DIR), used when no MongoDB URI is given. */
  dataDir?: string;
}

export async function createStore(config: StoreConfig): Promise<Store> {
  if (config.mongodbUri) {
    return new MongoStore({ uri: config.mongodbUri, dbName: config.mongodbDb, operationTimeoutMS: config.dbTimeoutMs });
  }
  return new LmdbStore({ path: config.dataDir ?? 'data' });
}
