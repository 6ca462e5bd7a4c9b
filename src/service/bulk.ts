/**
 * Runs a BulkRequest (RFC 7644 §3.7; the message and the order in ../scim/bulk.ts) through the single write path:
 * every operation is a ResourceService write as the same request made alone would be, by the same caller, so
 * mutability, sections and sources of authority, uniqueness and the audit trail apply to each exactly as they do to
 * single requests. Each operation is atomic; the batch is not (RFC 7644 §3.7 does not ask it to be): what ran
 * before a failure stays.
 *
 * Consecutive POSTs to one resource type that do not refer to each other are stored together (createMany: one
 * commit on the embedded store, one insertMany per slice on MongoDB), in order, so a bulk of 1,000 creates costs far
 * less than 1,000 requests; each is still checked, stored and audited as its own create.
 */
import { errors, isScimError, ScimError } from '../scim/errors';
import {
  BULK_ID_PREFIX,
  bulkPrefix,
  type BulkOperation,
  type BulkRequest,
  type BulkResult,
  isMalformed,
  planBulk,
  resolveReferences,
} from '../scim/bulk';
import type { Json, JsonObject } from '../scim/values';
import type { StoredRecord } from '../scim/resource';
import type { Caller, ResourceService } from './resources';
import { Turns } from '../turns';

const STATUS = { POST: '201', PUT: '200', PATCH: '200', DELETE: '204' } as const;

/** Whether the caller may write to an endpoint at all (its token's scopes), or the error that says why not. */
export type EndpointAccess = (endpoint: string, caller: Caller) => ScimError | undefined;

export class BulkProcessor {
  /**
   * `services` by endpoint (`/Users`). `access`: the check a single request's route makes of the token for that
   * endpoint, made per operation (a token limited to profile sections may write Users, not Groups).
   */
  constructor(
    private readonly services: ReadonlyMap<string, ResourceService>,
    private readonly access: EndpointAccess = () => undefined,
  ) {}

  get endpoints(): string[] {
    return [...this.services.keys()];
  }

  /**
   * Runs the operations, returning the results of those processed, in request order. `location` makes a
   * resource's URL. Throws only what is not an operation's error (a bug), never for an operation that fails.
   */
  async run(request: BulkRequest, caller: Caller, location: (endpoint: string, id: string) => string): Promise<BulkResult[]> {
    return new BulkRun(this.services, this.access, request, caller, location).run();
  }
}

class BulkRun {
  private readonly results = new Map<number, BulkResult>();
  /** bulkId -> the id its POST created. */
  private readonly created = new Map<string, string>();
  /** bulkId -> the POST that failed to create it. */
  private readonly failedPosts = new Map<string, { index: number; status: number }>();
  private errorCount = 0;
  /**
   * The request's slices of the event loop (../turns.ts). The route has parsed the body and its 1,000 operations in
   * the same turn (1-10 ms at 1,000): reading the operations here and resolving their bulkIds gives the loop back
   * when due, and a group of POSTs is stored from a turn of its own, so that none of it adds to the parse's turn
   * (issue 28: a Bulk of 1,000 held the loop 22-30 ms at its start on a directory of 1M users).
   */
  private readonly turns = new Turns();
  /** POSTs waiting to be stored together: one resource type, none referring to another of the group. */
  private group: { service: ResourceService; ops: BulkOperation[]; bodies: unknown[]; bulkIds: Set<string> } | undefined;

  constructor(
    private readonly services: ReadonlyMap<string, ResourceService>,
    private readonly access: EndpointAccess,
    private readonly request: BulkRequest,
    private readonly caller: Caller,
    private readonly location: (endpoint: string, id: string) => string,
  ) {}

  /** RFC 7644 §3.7: failOnErrors "specifies the number of errors that the service provider will accept before the operation is terminated". */
  private get stopped(): boolean {
    return this.request.failOnErrors !== undefined && this.errorCount >= this.request.failOnErrors;
  }

  async run(): Promise<BulkResult[]> {
    const { operations } = this.request;
    for (const step of planBulk(operations)) {
      if (this.turns.due()) await this.turns.next();
      const op = operations[step.index]!;
      let refusal = isMalformed(op) ? op.error : this.refusalOf(op, step.cycle);
      if (!refusal && !isMalformed(op) && op.method === 'POST') {
        // A POST joins the waiting group unless it is of another type or refers to one of the group's own POSTs,
        // whose ids are known only once the group is stored.
        const service = this.services.get(op.endpoint)!;
        if (this.group && (this.group.service !== service || op.references.some((r) => this.group!.bulkIds.has(r)))) await this.flush();
        if (this.stopped) break;
        try {
          const body = this.resolve(op, op.data as Json);
          this.group ??= { service, ops: [], bodies: [], bulkIds: new Set() };
          this.group.ops.push(op);
          this.group.bodies.push(body);
          if (op.bulkId !== undefined) this.group.bulkIds.add(op.bulkId);
          continue;
        } catch (e) {
          if (!isScimError(e)) throw e;
          refusal = e;
        }
      }
      // Whatever runs alone runs after the waiting group, so errors are counted in request order.
      await this.flush();
      if (this.stopped) break;
      if (refusal) this.fail(op.index, op.method ?? '', op.bulkId, refusal);
      else await this.single(op as BulkOperation);
    }
    await this.flush();
    return [...this.results.entries()].sort(([a], [b]) => a - b).map(([, r]) => r);
  }

  /** Why an operation is refused before it runs: its token may not write there, or it is a POST on a cycle. */
  private refusalOf(op: BulkOperation, cycle: string[] | undefined): ScimError | undefined {
    const denied = this.access(op.endpoint, this.caller);
    if (denied) return denied.prefixed(bulkPrefix(op.index));
    if (!cycle) return undefined;
    const others = cycle.filter((b) => b !== op.bulkId).map((b) => `'${b}'`);
    return errors.conflict(
      `${bulkPrefix(op.index)}bulkId '${op.bulkId}' is part of a circular reference${others.length > 0 ? ` with ${others.join(', ')}` : ' to itself'} (RFC 7644 §3.7.1): it would make a group contain itself or a user report to themselves, which this server does not allow; nothing of the cycle was created`,
    );
  }

  /** Stores the waiting POSTs together, in order, within what is left of the error budget. */
  private async flush(): Promise<void> {
    const group = this.group;
    if (!group) return;
    this.group = undefined;
    if (this.stopped) return;
    const budget = this.request.failOnErrors === undefined ? Infinity : this.request.failOnErrors - this.errorCount;
    let outcomes: (StoredRecord | ScimError | undefined)[];
    await this.turns.next();
    try {
      outcomes = await group.service.createMany(group.bodies, { caller: this.caller }, budget);
    } catch (e) {
      // The store failed as a whole (unreachable): every operation of the group gets that error.
      if (!isScimError(e)) throw e;
      outcomes = group.ops.map(() => e);
    }
    group.ops.forEach((op, i) => {
      const outcome = outcomes[i];
      if (outcome === undefined) return; // not attempted: the budget ran out before it
      if (isScimError(outcome)) this.failWith(op, outcome);
      else this.succeed(op, outcome);
    });
  }

  /** One operation that is not stored with others: through ResourceService.write, as the same request alone. */
  private async single(op: BulkOperation): Promise<void> {
    const service = this.services.get(op.endpoint)!;
    try {
      const id = op.id === undefined ? undefined : this.resolve(op, op.id);
      const ifMatch = op.version;
      switch (op.method) {
        case 'POST': {
          const record = await service.write({ operation: 'create', body: this.resolve(op, op.data as Json) }, { caller: this.caller });
          this.succeed(op, record);
          return;
        }
        case 'PUT':
        case 'PATCH': {
          const body = this.resolve(op, op.data as Json);
          const operation = op.method === 'PUT' ? 'replace' : 'patch';
          const record = await service.write({ operation, id: id!, body }, { caller: this.caller, ifMatch });
          this.succeed(op, record);
          return;
        }
        case 'DELETE':
          await service.write({ operation: 'delete', id: id! }, { caller: this.caller, ifMatch });
          this.results.set(op.index, { method: op.method, ...(op.bulkId !== undefined ? { bulkId: op.bulkId } : {}), location: this.location(op.endpoint, id!), status: STATUS.DELETE });
          return;
      }
    } catch (e) {
      this.failWith(op, e, op.id !== undefined && !op.id.startsWith(BULK_ID_PREFIX) ? op.id : undefined);
    }
  }

  /** The operation's data (or id) with its bulkId references replaced by the ids created. */
  private resolve<T extends Json>(op: BulkOperation, value: T): T {
    return resolveReferences(value, this.created, (bulkId) => {
      const failed = this.failedPosts.get(bulkId);
      if (failed) {
        throw errors.conflict(`${bulkPrefix(op.index)}'${BULK_ID_PREFIX}${bulkId}' was not created: operation ${failed.index + 1} failed with status ${failed.status}`);
      }
      throw errors.invalidValue(`${bulkPrefix(op.index)}'${BULK_ID_PREFIX}${bulkId}' names no POST operation of this request`);
    });
  }

  private succeed(op: BulkOperation, record: StoredRecord): void {
    if (op.method === 'POST' && op.bulkId !== undefined) this.created.set(op.bulkId, record.id);
    this.results.set(op.index, {
      method: op.method,
      ...(op.bulkId !== undefined ? { bulkId: op.bulkId } : {}),
      version: `W/"${record.version}"`,
      location: this.location(op.endpoint, record.id),
      status: STATUS[op.method],
    });
  }

  private failWith(op: BulkOperation, e: unknown, id?: string): void {
    if (!isScimError(e)) throw e;
    const prefix = bulkPrefix(op.index);
    const error = e.detail.startsWith(prefix) ? e : e.prefixed(prefix);
    this.fail(op.index, op.method, op.bulkId, error, id !== undefined ? this.location(op.endpoint, id) : undefined);
  }

  private fail(index: number, method: string, bulkId: string | undefined, error: ScimError, location?: string): void {
    this.errorCount++;
    if (method === 'POST' && bulkId !== undefined) this.failedPosts.set(bulkId, { index, status: error.status });
    this.results.set(index, {
      method,
      ...(bulkId !== undefined ? { bulkId } : {}),
      ...(location !== undefined ? { location } : {}),
      status: String(error.status),
      response: error.toJSON() as unknown as JsonObject,
    });
  }
}
