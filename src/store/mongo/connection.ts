/**
 * The MongoDB client the store's concerns share, with its deadlines, and the collection of each resource type.
 *
 * When the database cannot be reached, operations fail fast (serverSelectionTimeoutMS, 2 s unless the URI says
 * otherwise) with 503, and work again once it is back: the driver reconnects on its own. When it is reachable but
 * does not answer (a frozen process, a network partition that drops packets), every store call is bounded by
 * `operationTimeoutMS` (SCIM_DB_TIMEOUT_MS): the call fails with 503 at that deadline, and the socket is given up
 * shortly after (socketTimeoutMS), so a hung database never hangs a client for longer than the bound. A write that
 * timed out may still have been applied; 503 tells the client to retry, and the version guard keeps a retry safe.
 */
import { Collection, Db, MongoClient, MongoClientOptions } from 'mongodb';
import type { ResourceSchema } from '../../scim/schema';
import { errors } from '../../scim/errors';
import type { MemberType } from '../store';
import { collectionName, type ResourceDocument } from './document';
import { asScimError } from './errors';
import { indexPlan } from './indexes';

const DEFAULT_SERVER_SELECTION_TIMEOUT_MS = 2000;
export const DEFAULT_OPERATION_TIMEOUT_MS = 5000;

export interface ConnectionOptions {
  uri: string;
  dbName: string;
  /** How long an operation waits for a reachable server before failing with 503; a value in the URI wins. */
  serverSelectionTimeoutMS?: number;
  /** The longest one store call may take before it fails with 503 (SCIM_DB_TIMEOUT_MS). */
  operationTimeoutMS?: number;
  clientOptions?: MongoClientOptions;
}

/** Runs `task` on the first call and hands every later call its promise, unless it failed: then it runs again. */
export function onceUntilItWorks(task: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => {
    if (!running) {
      const attempt = task();
      attempt.catch(() => {
        if (running === attempt) running = undefined;
      });
      running = attempt;
    }
    return running;
  };
}

/**
 * Creates the indexes one command each. Idempotent (an existing identical index is left alone), but not in one
 * `createIndexes` command: FerretDB 1.24 drops the connection when such a command names several indexes of which
 * some already exist, i.e. on every restart of the server.
 */
async function createIndexes(coll: Collection<ResourceDocument>, schema: ResourceSchema): Promise<void> {
  for (const { key, ...options } of indexPlan(schema).all) await coll.createIndex(key, options);
}

export class MongoConnection {
  readonly client: MongoClient;
  readonly db: Db;
  readonly operationTimeoutMS: number;
  /** Collections whose indexes exist (or are being created), by name. */
  private readonly prepared = new Map<string, Promise<Collection<ResourceDocument>>>();
  /** The schemas of the collections in use, by resource type (members are marked in their type's collection). */
  private readonly schemas = new Map<string, ResourceSchema>();
  /** The resource collections this instance has used: where the audit sweep looks. */
  readonly used = new Set<Collection<ResourceDocument>>();

  constructor(options: ConnectionOptions) {
    const clientOptions: MongoClientOptions = { ...options.clientOptions };
    const inUri = (name: string) => new RegExp(`[?&]${name}=`, 'i').test(options.uri);
    this.operationTimeoutMS = options.operationTimeoutMS ?? DEFAULT_OPERATION_TIMEOUT_MS;
    if (clientOptions.serverSelectionTimeoutMS === undefined && !inUri('serverSelectionTimeoutMS')) {
      clientOptions.serverSelectionTimeoutMS = Math.min(options.serverSelectionTimeoutMS ?? DEFAULT_SERVER_SELECTION_TIMEOUT_MS, this.operationTimeoutMS);
    }
    // The driver's own bounds, so a hung connection is closed and replaced rather than kept: a socket that stays
    // silent past the operation deadline, a connection that cannot be opened, a wait for a free connection.
    if (clientOptions.socketTimeoutMS === undefined && !inUri('socketTimeoutMS')) clientOptions.socketTimeoutMS = this.operationTimeoutMS + 1000;
    if (clientOptions.connectTimeoutMS === undefined && !inUri('connectTimeoutMS')) clientOptions.connectTimeoutMS = this.operationTimeoutMS;
    if (clientOptions.waitQueueTimeoutMS === undefined && !inUri('waitQueueTimeoutMS')) clientOptions.waitQueueTimeoutMS = this.operationTimeoutMS;
    this.client = new MongoClient(options.uri, clientOptions);
    this.db = this.client.db(options.dbName);
  }

  /**
   * Runs one store call with its deadline: past `operationTimeoutMS` the caller gets a 503 at once, whatever the
   * driver is still waiting for (the driver's socket timeout then closes the hung connection). Errors of the
   * driver are answered as the client should see them (errors.ts).
   */
  async guard<T>(what: string, task: () => Promise<T>, timeoutMS = this.operationTimeoutMS): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(errors.unavailable(`the database did not answer within ${timeoutMS} ms (${what}); try again later`)),
        timeoutMS,
      );
    });
    const work = task();
    // The work may still fail after the deadline has answered; that failure is nobody's to handle.
    work.catch(() => undefined);
    try {
      return await Promise.race([work, deadline]);
    } catch (e) {
      throw asScimError(e, what);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The collection of a resource type, its indexes created on first use (retried if that failed). */
  collection(schema: ResourceSchema): Promise<Collection<ResourceDocument>> {
    this.schemas.set(schema.type.id, schema);
    const name = collectionName(schema);
    let ready = this.prepared.get(name);
    if (!ready) {
      const coll = this.db.collection<ResourceDocument>(name);
      this.used.add(coll);
      const attempt = createIndexes(coll, schema).then(() => coll);
      attempt.catch(() => {
        if (this.prepared.get(name) === attempt) this.prepared.delete(name);
      });
      this.prepared.set(name, attempt);
      ready = attempt;
    }
    return ready;
  }

  /** The collection of a member type, if this instance has used that type. */
  async collectionOfType(type: MemberType): Promise<Collection<ResourceDocument> | undefined> {
    const schema = this.schemas.get(type);
    return schema ? this.collection(schema) : undefined;
  }

  async ping(): Promise<void> {
    await this.guard('ping', () => this.db.command({ ping: 1 }));
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
