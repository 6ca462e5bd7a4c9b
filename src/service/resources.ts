/**
 * The operations on one resource type, over any store. Knows SCIM (via ../scim) and the store contract, but not
 * HTTP: routes are thin wrappers around this class.
 */
import { errors, ScimError } from '../scim/errors';
import { etagMatches, newId, ScimResource, StoredRecord } from '../scim/resource';
import { ResourceSchema } from '../scim/schema';
import { checkRequired, carryImmutable, readResourceBody, schemasOf } from '../scim/input';
import { parseFilter } from '../scim/filter/parse';
import type { Filter } from '../scim/filter/ast';
import { JsonObject } from '../scim/values';
import { jsonEqual } from '../scim/equal';
import type { ResourceStore, SortSpec } from '../store/store';
import { hashPassword, verifyPassword } from './password';
import { CursorCodec } from '../scim/cursor';
import { queryCopy } from '../scim/query-copy';
import { sortKeyOf, sortPlan } from '../store/sort';
import { applyPatch } from '../scim/patch';
import { DEFAULT_LIMITS, Limits } from '../scim/limits';
import { KeyedQueue } from './keyed-queue';

/** How many times a write without If-Match is retried after losing a version race before giving up with 409? */
const MAX_ATTEMPTS = 25;

export interface ListParams {
  filter?: string;
  startIndex: number;
  count: number;
  sortBy?: string;
  sortOrder?: 'ascending' | 'descending';
  /** RFC 9865: present (possibly empty, meaning the first page) to page by cursor instead of by index. */
  cursor?: string;
}

export interface ListResult {
  totalResults: number;
  /** Index paging only. */
  startIndex?: number;
  records: StoredRecord[];
  nextCursor?: string;
  previousCursor?: string;
}

/**
 * A rule that spans resources (manager references; group membership to come), registered with its resource type
 * (rules.ts). A service runs its rules in the order they were registered, each step's hooks one after another.
 */
export interface ResourceRule {
  /** Names the rule in logs and tests. */
  name: string;
  /** Called with the resource about to be written (created or changed); may adjust it or throw a ScimError. */
  beforeWrite?(next: ScimResource, current: StoredRecord | undefined): Promise<void>;
  /** Called after a change was stored, with the record before it. */
  afterWrite?(record: StoredRecord, previous: StoredRecord): Promise<void>;
  /** Called after a resource was deleted. */
  afterDelete?(id: string): Promise<void>;
}

export class ResourceService {
  private readonly rules: ResourceRule[] = [];
  /** Every read-modify-write of one resource in this process runs in its turn (see keyed-queue.ts). */
  private readonly writes = new KeyedQueue();

  constructor(
    readonly schema: ResourceSchema,
    private readonly store: ResourceStore,
    private readonly now: () => Date = () => new Date(),
    private readonly cursors?: CursorCodec,
    readonly limits: Limits = DEFAULT_LIMITS,
  ) {}

  /** Adds a rule after those already registered. */
  use(rule: ResourceRule): void {
    if (this.rules.some((r) => r.name === rule.name)) throw new Error(`rule ${rule.name} is registered twice on ${this.schema.type.id}`);
    this.rules.push(rule);
  }

  /** The names of the rules, in the order they run. */
  get ruleNames(): string[] {
    return this.rules.map((r) => r.name);
  }

  private async beforeWrite(next: ScimResource, current: StoredRecord | undefined): Promise<void> {
    for (const rule of this.rules) await rule.beforeWrite?.(next, current);
  }

  private async afterWrite(record: StoredRecord, previous: StoredRecord): Promise<void> {
    for (const rule of this.rules) await rule.afterWrite?.(record, previous);
  }

  private async afterDelete(id: string): Promise<void> {
    for (const rule of this.rules) await rule.afterDelete?.(id);
  }

  private timestamp(): string {
    return this.now().toISOString();
  }

  async create(body: unknown): Promise<StoredRecord> {
    const input = readResourceBody(this.schema, body, this.limits);
    checkRequired(this.schema, input.attributes);
    const id = newId();
    const at = this.timestamp();
    const resource = {
      ...input.attributes,
      schemas: schemasOf(this.schema, input.attributes),
      id,
      meta: { resourceType: this.schema.type.id, created: at, lastModified: at, version: 'W/"1"' },
    } as ScimResource;
    await this.beforeWrite(resource, undefined);
    const record: StoredRecord = { resourceType: this.schema.type.id, id, version: 1, resource: ordered(resource) };
    if (input.password !== undefined) record.secrets = { password: await hashPassword(input.password) };
    await this.store.create(this.schema, record);
    return record;
  }

  async get(id: string): Promise<StoredRecord> {
    const record = await this.store.get(this.schema, id);
    if (!record) throw this.notFound(id);
    return record;
  }

  /** RFC 7644 §3.5.1 PUT: the body replaces every readWrite attribute; readOnly ones are kept by the server. */
  async replace(id: string, body: unknown, ifMatch?: string): Promise<StoredRecord> {
    const input = readResourceBody(this.schema, body, this.limits);
    return this.update(id, ifMatch, async (current) => {
      const next: JsonObject = structuredClone(input.attributes);
      carryImmutable(this.schema, current.resource, next);
      checkRequired(this.schema, next);
      // RFC 7644 §3.5.1 lets a client omit what it does not assert; a PUT built from a GET (Okta) never carries
      // the writeOnly password, so an omitted password is kept rather than wiped.
      return { attributes: next, secrets: await secretsWith(current, input.password) };
    });
  }

  /**
   * RFC 7644 §3.5.2 PATCH: the operations apply to the current resource, all or nothing. Without If-Match a lost
   * version race re-applies them to the fresh resource, so concurrent PATCHes never lose an update.
   */
  async patch(id: string, body: unknown, ifMatch?: string): Promise<StoredRecord> {
    return this.update(id, ifMatch, async (current) => {
      const result = applyPatch(this.schema, current.resource, body, this.limits);
      const { schemas: _s, id: _i, meta: _m, ...attributes } = result.resource;
      const secrets = await secretsWith(current, result.password);
      return { attributes, secrets, changed: result.changed || secrets !== current.secrets };
    });
  }

  /**
   * Applies `change` to the current record and writes it if the version is unchanged. With If-Match the client
   * asserted a version, so a lost race is 412; without it, the change is recomputed on the fresh record (bounded).
   * The read, the change and the write run in this resource's turn of the process-wide queue, so within one
   * instance no write ever loses a race; only another instance's write can, and then the retry recomputes it.
   * afterWrite hooks run after the turn: they write other resources, which must not wait on this one.
   */
  async update(id: string, ifMatch: string | undefined, change: Change): Promise<StoredRecord> {
    const { record, previous } = await this.writes.run(id, () => this.writeInTurn(id, ifMatch, change));
    if (previous) await this.afterWrite(record, previous);
    return record;
  }

  private async writeInTurn(
    id: string,
    ifMatch: string | undefined,
    change: Change,
  ): Promise<{ record: StoredRecord; previous?: StoredRecord }> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.get(id);
      if (ifMatch !== undefined && !etagMatches(ifMatch, current.version)) {
        throw errors.preconditionFailed(`If-Match ${ifMatch} does not match the current version W/"${current.version}"`);
      }
      const { attributes, secrets, changed } = await change(current);
      const candidate = { ...attributes, schemas: schemasOf(this.schema, attributes), id, meta: current.resource.meta } as ScimResource;
      // Hooks first: they may normalise (a client's manager.$ref becomes its value) or refuse the change.
      if (changed !== false) await this.beforeWrite(candidate, current);
      candidate.schemas = schemasOf(this.schema, candidate);
      const same = changed === false || (jsonEqual(candidate, current.resource) && secrets === current.secrets);
      // A change that changes nothing keeps meta.version and lastModified: clients compare versions to detect edits.
      if (same) return { record: current };
      const version = current.version + 1;
      candidate.meta = { ...current.resource.meta, lastModified: this.timestamp(), version: `W/"${version}"` };
      const record: StoredRecord = { resourceType: this.schema.type.id, id, version, resource: ordered(candidate) };
      if (secrets) record.secrets = secrets;
      const outcome = await this.store.replace(this.schema, record, current.version);
      if (outcome === 'ok') return { record, previous: current };
      if (outcome === 'missing') throw this.notFound(id);
      if (ifMatch !== undefined) throw errors.preconditionFailed(`${this.schema.type.name} ${id} was modified concurrently`);
      if (attempt >= MAX_ATTEMPTS) throw errors.conflict(`${this.schema.type.name} ${id} is being modified concurrently; retry`);
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * Math.min(50, attempt * 5))));
    }
  }

  async delete(id: string, ifMatch?: string): Promise<void> {
    await this.writes.run(id, async () => {
      const current = await this.get(id);
      if (ifMatch !== undefined && !etagMatches(ifMatch, current.version)) {
        throw errors.preconditionFailed(`If-Match ${ifMatch} does not match the current version W/"${current.version}"`);
      }
      const outcome = await this.store.delete(this.schema, id, ifMatch !== undefined ? current.version : undefined);
      if (outcome === 'missing') throw this.notFound(id);
      if (outcome === 'conflict') throw errors.preconditionFailed(`${this.schema.type.name} ${id} was modified concurrently`);
    });
    await this.afterDelete(id);
  }

  async list(params: ListParams): Promise<ListResult> {
    const filter: Filter | undefined = params.filter !== undefined ? parseFilter(this.schema, params.filter, this.limits) : undefined;
    const sort = this.sortOf(params);
    if (params.cursor !== undefined) return this.listByCursor(filter, sort, params);
    const result = await this.store.query(this.schema, { filter, startIndex: params.startIndex, count: params.count, sort });
    return { totalResults: result.totalResults, startIndex: params.startIndex, records: result.records };
  }

  private sortOf(params: ListParams): SortSpec | undefined {
    if (params.sortBy === undefined) return undefined;
    const r = this.schema.resolve(params.sortBy);
    if (!r || r.attribute.returned === 'never') throw errors.invalidValue(`sortBy: unknown attribute '${params.sortBy}'`);
    return { path: params.sortBy, order: params.sortOrder ?? 'ascending' };
  }

  /**
   * RFC 9865 cursor paging: keyset pages in the order of `sortBy` (RFC 9865 §2.2: "If sorting is implemented ...,
   * then cursor-paged results should be sorted"), then id; by id without sortBy. Cursors are signed, bound to the
   * filter and sort, and carry the page size, which every page must repeat (§2.1, `invalidCount`).
   */
  private async listByCursor(filter: Filter | undefined, sort: SortSpec | undefined, params: ListParams): Promise<ListResult> {
    if (!this.cursors) throw errors.invalidValue('cursor paging is not enabled');
    const cursors = this.cursors;
    const sortKey = sort ? `${sort.path.toLowerCase()}\0${sort.order}` : '';
    const context = `${this.schema.type.id}\0${params.filter ?? ''}\0${sortKey}`;
    const state = params.cursor === '' ? undefined : cursors.decode(params.cursor!, context);
    if (state && state.count !== params.count) {
      throw errors.invalidCount(
        `count ${params.count} differs from the count ${state.count} of the query that issued the cursor; every page of a query must ask for the same count`,
      );
    }
    const position = state?.position;
    const keyset = position && position.direction !== 'start' ? { [position.direction]: position.key } : {};
    const result = await this.store.query(this.schema, { filter, startIndex: 1, count: params.count, sort, keyset });
    if (params.count === 0) return { totalResults: result.totalResults, records: [] };
    const plan = sort ? sortPlan(this.schema, sort) : undefined;
    const keyOf = (record: StoredRecord) => sortKeyOf(plan, { id: record.id, q: queryCopy(this.schema, record.resource) });
    const link = (direction: 'after' | 'before', record: StoredRecord | undefined) =>
      record ? cursors.encode({ position: { direction, key: keyOf(record) }, count: params.count }, context) : undefined;
    const first = result.records[0];
    const last = result.records[result.records.length - 1];
    const out: ListResult = { totalResults: result.totalResults, records: result.records };
    if (position?.direction === 'before') {
      // A previous page: what follows it is where the client came from.
      out.nextCursor = last
        ? link('after', last)
        : // Empty: nothing precedes the position, so every result follows it, and the first page is the next one.
          result.totalResults > 0
          ? cursors.encode({ position: { direction: 'start' }, count: params.count }, context)
          : undefined;
      if (result.more) out.previousCursor = link('before', first);
    } else {
      if (result.more) out.nextCursor = link('after', last);
      // RFC 9865 §2: "previousCursor MUST not be returned with the first page".
      if (position?.direction === 'after') out.previousCursor = link('before', first);
    }
    return out;
  }

  notFound(id: string): ScimError {
    return errors.notFound(`${this.schema.type.name} ${JSON.stringify(id)} not found`);
  }
}

/** Computes the attributes (and secrets) of the next version from the current record. */
type Change = (current: StoredRecord) => Promise<{ attributes: JsonObject; secrets?: StoredRecord['secrets']; changed?: boolean }>;

/**
 * The secrets after a write that may carry a new password: the current ones when none was sent or when it is the
 * password already stored (a fresh salt would otherwise make every re-sent password look like a change).
 */
async function secretsWith(current: StoredRecord, password: string | undefined): Promise<StoredRecord['secrets']> {
  if (password === undefined) return current.secrets;
  const stored = current.secrets?.password;
  if (stored !== undefined && (await verifyPassword(password, stored))) return current.secrets;
  return { ...current.secrets, password: await hashPassword(password) };
}

/** Puts schemas and id first and meta last, so stored and returned resources read like the RFC's examples. */
export function ordered<T extends JsonObject>(resource: T): T {
  const { schemas, id, meta, ...rest } = resource;
  const out: JsonObject = {};
  if (schemas !== undefined) out.schemas = schemas;
  if (id !== undefined) out.id = id;
  Object.assign(out, rest);
  if (meta !== undefined) out.meta = meta;
  return out as T;
}
