/**
 * Picks the store: MongoDB when a URI is configured, otherwise the embedded in-process store (data lives as long
 * as the process; for trying the server out and for tests).
 *
 * No I/O happens here: call `init(schemas)` on the result before serving, which checks the database answers and
 * creates the indexes (a store also prepares a resource type on first use).
 */
import { MemoryStore } from './memory';
import { MongoStore } from './mongo';
import type { ResourceStore } from './store';

export interface StoreConfig {
  mongodbUri?: string;
  mongodbDb: string;
  /** The longest one database call may take (SCIM_DB_TIMEOUT_MS). */
  dbTimeoutMs?: number;
}

export async function createStore(config: StoreConfig): Promise<ResourceStore> {
  if (config.mongodbUri) {
    return new MongoStore({ uri: config.mongodbUri, dbName: config.mongodbDb, operationTimeoutMS: config.dbTimeoutMs });
  }
  return new MemoryStore();
}
