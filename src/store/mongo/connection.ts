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
import type { IndexBuild } from '../store';

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

/** MongoDB's code for a namespace that does not exist (listIndexes on a collection never written). */
const NAMESPACE_NOT_FOUND = 26;

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
  /** Index builds under way in the background, by collection name. */
  readonly builds = new Map<string, IndexBuild>();
  /** Resolves when every background build started so far has ended. */
  settled: Promise<void> = Promise.resolve();
  /** Told of a background build that failed (logged by the app; the next start tries again). */
  onIndexError: (err: unknown, index: string) => void = () => undefined;
  private readonly uri: string;
  private readonly clientOptions: MongoClientOptions;
  private builder?: MongoClient;

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
    this.uri = options.uri;
    this.clientOptions = clientOptions;
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
      const attempt = this.prepare(coll, schema).then(() => coll);
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

  /**
   * Creates the indexes the collection lacks, one command each (FerretDB 1.24 dropped the connection when one
   * `createIndexes` named several of which some existed). Unique indexes are made before the collection is used:
   * uniqueness is never left unenforced, and the schema check at start has made sure stored values allow them.
   * Lookup indexes of a collection that already holds documents (an operator's attribute indexed since) are built
   * in the background, on a connection of their own with no socket timeout, while queries are answered without
   * them; `builds` tells /readyz how far they are.
   */
  private async prepare(coll: Collection<ResourceDocument>, schema: ResourceSchema): Promise<void> {
    const plan = indexPlan(schema).all;
    let existing: Set<string>;
    try {
      existing = new Set((await coll.listIndexes().toArray()).map((i) => String(i.name)));
    } catch (e) {
      if ((e as { code?: unknown }).code !== NAMESPACE_NOT_FOUND) throw e;
      existing = new Set();
    }
    const missing = plan.filter((i) => !existing.has(i.name!));
    for (const { key, ...options } of missing.filter((i) => i.unique)) await coll.createIndex(key, options);
    const lookups = missing.filter((i) => !i.unique);
    if (lookups.length === 0) return;
    if (existing.size === 0 || (await coll.estimatedDocumentCount()) === 0) {
      for (const { key, ...options } of lookups) await coll.createIndex(key, options);
      return;
    }
    if (this.builds.has(coll.collectionName)) return;
    const build: IndexBuild = { type: schema.type.id, paths: lookups.map((i) => i.name!), done: 0, total: lookups.length };
    this.builds.set(coll.collectionName, build);
    const task = (async () => {
      this.builder ??= new MongoClient(this.uri, { ...this.clientOptions, socketTimeoutMS: 0, maxPoolSize: 2 });
      const target = this.builder.db(this.db.databaseName).collection(coll.collectionName);
      for (const { key, ...options } of lookups) {
        try {
          await target.createIndex(key, options);
        } catch (err) {
          this.onIndexError(err, options.name ?? JSON.stringify(key));
        }
        build.done++;
      }
    })().finally(() => this.builds.delete(coll.collectionName));
    this.settled = Promise.all([this.settled, task.catch(() => undefined)]).then(() => undefined);
  }

  async close(): Promise<void> {
    // A build still running goes on in the database; this instance stops waiting for it.
    await this.builder?.close().catch(() => undefined);
    await this.client.close();
  }
}
