/**
 * The operations on one resource type, over any store. Knows SCIM (via ../scim) and the store contract, but not
 * HTTP: routes are thin wrappers around this class.
 */
import { errors, isScimError, ScimError } from '../scim/errors';
import { etagMatches, newId, ScimResource, StoredRecord } from '../scim/resource';
import { ResourceSchema } from '../scim/schema';
import { readResourceBody, ResourceInput, schemasOf } from '../scim/input';
import { carryImmutable, carryRetired, checkChange } from '../scim/change';
import { cloneJson, JsonObject } from '../scim/values';
import { jsonEqual } from '../scim/equal';
import type { CursorCodec } from '../scim/cursor';
import { applyOperations, parsePatchBody } from '../scim/patch';
import { membersAttribute, type MemberRef, type MemberStep, splitMemberOperations, takeMembers } from '../scim/members';
import { DEFAULT_LIMITS, Limits } from '../scim/limits';
import type { Views } from '../scim/view';
import { attributeChanges, type AuditChange, type AuditEntry } from '../scim/audit';
import type { CreateItem, MemberChange, ResourceStore, StoredView } from '../store/store';
import { uniqueAttributes } from '../store/unique';
import { WriteQueue, type Settled } from './write-queue';
import { KeyedQueue } from '../store/keyed-queue';
import { hashPassword, verifyPassword } from './password';
import type { Memberships, PendingMembers } from './memberships';
import { Lister, type ListParams, type ListResult } from './list';
import type { PageWalks } from './page-walks';
import { Turns } from '../turns';

export type { ListParams, ListResult } from './list';

/** How many times a write without If-Match is retried after losing a version race before giving up with 409? */
const MAX_ATTEMPTS = 25;

/**
 * Who is writing: what the verified bearer token says (or the server itself, for the repairs rules make), so that
 * rules and policies can depend on the caller.
 */
export interface Caller {
  /** The token's `sub`; `scim-server` for the server's own writes. */
  subject?: string;
  /** The OAuth client the token was issued to (`client_id`, `azp` or `appid`), if it says. */
  clientId?: string;
  scopes: readonly string[];
  /** The token's roles claim (access.ts): `globalAdmin`, `userAdmin`. */
  roles: readonly string[];
  /** Every claim of the token, for policies that need one this does not spell out. */
  claims: Readonly<Record<string, unknown>>;
  /** True for writes the server makes on its own behalf (a rule repairing references), never for a client. */
  system?: boolean;
  /**
   * A person writing their own User through /Me (RFC 7644 §3.11): the self-service sections (SCIM_ME_SECTIONS) are
   * theirs to change, besides what the token grants (access.ts).
   */
  self?: boolean;
}

export const SYSTEM_CALLER: Caller = Object.freeze({ subject: 'scim-server', scopes: [], roles: [], claims: {}, system: true });

/** A write as a client (or a rule) asks for it; every write goes through ResourceService.write. */
export type WriteRequest =
  | { operation: 'create'; body: unknown }
  | { operation: 'replace'; id: string; body: unknown }
  | { operation: 'patch'; id: string; body: unknown }
  | { operation: 'delete'; id: string }
  /** A server-side edit of a resource (a rule's repair): the new attributes from the current resource. */
  | { operation: 'repair'; id: string; edit: (current: StoredRecord) => JsonObject }
  /** An administrator ends a source of authority's ownership of a section (sections-rule.ts). */
  | { operation: 'release'; id: string; section: string };

export type WriteOperation = WriteRequest['operation'];

/** Who writes, and the version they assert (If-Match). */
export interface WriteContext {
  caller: Caller;
  ifMatch?: string;
}

/** What a rule is told about the write it is looking at. */
export interface RuleContext {
  caller: Caller;
  operation: WriteOperation;
  /** The write sets a password (writeOnly: never in the resource the rule sees). */
  password?: boolean;
  /** When the write is made (meta.lastModified of the version it makes), ISO 8601. */
  at: string;
  /** A release: the section whose source of authority the caller ends. */
  release?: string;
}

/**
 * A rule that spans resources (manager references, member display names), registered with its resource type
 * (rules.ts). A service runs its rules in the order they were registered, each step's hooks one after another.
 */
export interface ResourceRule {
  /** Names the rule in logs and tests. */
  name: string;
  /** Called with the resource about to be written (created or changed); may adjust it or throw a ScimError. */
  beforeWrite?(next: ScimResource, current: StoredRecord | undefined, context: RuleContext): Promise<void>;
  /** Called after a change was stored, with the record before it. */
  afterWrite?(record: StoredRecord, previous: StoredRecord): Promise<void>;
  /** Called after a resource was deleted. */
  afterDelete?(id: string): Promise<void>;
}

/** What builds a service: its store of resources, and what it needs besides its schema. */
export interface ServiceOptions {
  resources: ResourceStore;
  /** Group membership (memberships.ts), when this type has members (Group) or groups (User). */
  memberships?: Memberships;
  now?: () => Date;
  /** Signs and reads RFC 9865 cursors; without it, cursor paging is refused. */
  cursors?: CursorCodec;
  /** Callers' walks by startIndex (page-walks.ts): a walk's next page is read from where its previous one ended. */
  walks?: PageWalks;
  limits?: Limits;
  /** Makes the view of each record written (../scim/view.ts); none for a type whose resources have none. */
  views?: Views;
}

/**
 * What one attempt of a change computes from the current record (see ResourceService.write): the next client
 * attributes, and with them the secrets, member changes and whether the client's data changed at all.
 */
interface Next {
  attributes: JsonObject;
  /** The secrets of the next version; the current ones when absent. */
  secrets?: StoredRecord['secrets'];
  /** False when the change leaves the client's data as it was (a PATCH that changes nothing): rules do not run. */
  changed?: boolean;
  /** The write sets a password. */
  password?: boolean;
  /** Changes to a group's members, resolved against the members as they are. */
  steps?: MemberStep[];
}

/**
 * The next version of a resource, computed from the current one; run once per attempt of a write. `memberIds`: the
 * members a PATCH adds or removes by id, read ahead for all the changes of a coalesced write at once.
 */
type Produce = ((current: StoredRecord) => Promise<Next>) & { memberIds?: readonly string[] };

/** A change waiting in its resource's line (write-queue.ts). */
interface QueuedChange {
  produce: Produce;
  ifMatch?: string;
  rules: RuleContext;
}

/** What a change stored: the record it made, and the one before (none when the change changed nothing). */
interface Changed {
  record: StoredRecord;
  previous?: StoredRecord;
}

/** A version computed from the one before it, not yet stored. */
interface NextVersion {
  record: StoredRecord;
  audit: AuditEntry;
  members?: MemberChange;
}

/** At most this many queued changes of one resource are stored in one write. */
const MAX_COALESCED = 100;

export class ResourceService {
  private readonly rules: ResourceRule[] = [];
  /**
   * Every read-modify-write of one resource in this process runs in its turn, the changes queued behind a running
   * one stored together in one write (write-queue.ts, coalesce()).
   */
  private readonly writes = new WriteQueue<QueuedChange, Changed>((id, changes) => this.changeBatch(id, changes), MAX_COALESCED);
  /** The rules' afterWrite of one resource's changes, one after another in the order of its versions. */
  private readonly afterWrites = new KeyedQueue();
  readonly resources: ResourceStore;
  /** Group membership (memberships.ts), when this type has members (Group) or groups (User). */
  readonly memberships?: Memberships;
  readonly limits: Limits;
  /** Makes the view of each record written (../scim/view.ts). */
  readonly views?: Views;
  private readonly now: () => Date;
  private readonly lister: Lister;
  /** Told each time a write is applied again after losing a version race (metrics). */
  onRetry?: () => void;
  /** Top-level attributes whose values the audit trail must not hold (readable only by some callers). */
  auditMasked: ReadonlySet<string> = new Set();

  constructor(
    readonly schema: ResourceSchema,
    options: ServiceOptions,
  ) {
    this.resources = options.resources;
    this.memberships = options.memberships;
    this.limits = options.limits ?? DEFAULT_LIMITS;
    this.views = options.views;
    this.now = options.now ?? (() => new Date());
    this.lister = new Lister({ schema, resources: this.resources, limits: this.limits, cursors: options.cursors, memberships: this.memberships, walks: options.walks });
  }

  /** Gives a record its view before it is stored. */
  private withView(record: StoredRecord): StoredRecord {
    if (this.views) {
      const view = this.views.make(record.resource);
      if (view !== undefined) record.view = view;
    }
    return record;
  }

  /** The views of records just read, where the store reads them locally (the embedded store); else undefined. */
  viewsOf(records: readonly StoredRecord[]): (StoredView | undefined)[] | undefined {
    return this.resources.getViews(this.schema, records.map((r) => r.id));
  }

  /** The view of a resource and its version, if the store keeps one (a key lookup, no record read). */
  viewOf(id: string): StoredView | undefined | Promise<StoredView | undefined> {
    return this.resources.getView(this.schema, id);
  }

  /** Adds a rule after those already registered. */
  use(rule: ResourceRule): void {
    if (this.rules.some((r) => r.name === rule.name)) throw new Error(`rule ${rule.name} is registered twice on ${this.schema.type.id}`);
    this.rules.push(rule);
  }

  /** The names of the rules, in the order they run. */
  get ruleNames(): string[] {
    return this.rules.map((r) => r.name);
  }

  private async beforeWrite(next: ScimResource, current: StoredRecord | undefined, context: RuleContext): Promise<void> {
    for (const rule of this.rules) await rule.beforeWrite?.(next, current, context);
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

  /**
   * Every write, in one sequence. A create is read, checked and stored. A change (replace, patch, repair, release)
   * is first turned into one function from the current record to the next (producerOf: a PUT body or a PatchOp is
   * read and refused there, before any version is compared, so a malformed request is 400 whatever its If-Match);
   * then, in the resource's turn of the process-wide line of its writes (write-queue.ts), changeInTurn reads the
   * current resource, checks If-Match, runs the function and the rules, and stores the result if the version is
   * unchanged; changes that queued up behind a running one are stored together (coalesce), each answered as if alone.
   * With If-Match the client asserted a version, so a race lost to another instance is 412; without it, the function
   * runs again on the fresh resource (bounded), so concurrent PATCHes never lose an update. Rules' afterWrite and
   * afterDelete run after the turn: they write other resources, which must not wait on this one. Returns the stored
   * record (undefined for delete).
   */
  write(request: Extract<WriteRequest, { operation: 'delete' }>, context: WriteContext): Promise<undefined>;
  write(request: Exclude<WriteRequest, { operation: 'delete' }>, context: WriteContext): Promise<StoredRecord>;
  write(request: WriteRequest, context: WriteContext): Promise<StoredRecord | undefined>;
  async write(request: WriteRequest, context: WriteContext): Promise<StoredRecord | undefined> {
    const rules: RuleContext = { caller: context.caller, operation: request.operation, at: this.timestamp() };
    switch (request.operation) {
      case 'create': {
        const item = await this.prepareCreate(request.body, rules);
        await this.resources.create(this.schema, item.record, item);
        return item.record;
      }
      case 'delete':
        await this.writes.task(request.id, () => this.deleteInTurn(request.id, context.ifMatch, rules));
        await this.afterDelete(request.id);
        return undefined;
      case 'release':
        rules.release = request.section;
        return this.change(request.id, this.producerOf(request), context.ifMatch, rules);
      default:
        return this.change(request.id, this.producerOf(request), context.ifMatch, rules);
    }
  }

  /** A change of an existing resource, in its turn, then the rules' afterWrite. */
  private async change(id: string, produce: Produce, ifMatch: string | undefined, rules: RuleContext): Promise<StoredRecord> {
    const { record, previous } = await this.writes.change(id, { produce, ifMatch, rules });
    // In version order: the changes of a coalesced write are answered at once, and two renames of one member carried
    // to its groups out of order would leave the older name there.
    if (previous) await this.afterWrites.run(id, () => this.afterWrite(record, previous));
    return record;
  }

  /** The function from the current record to the next that a change request asks for. */
  private producerOf(request: Exclude<WriteRequest, { operation: 'create' | 'delete' }>): Produce {
    switch (request.operation) {
      case 'replace': {
        const input = readResourceBody(this.schema, request.body, this.limits);
        const members = this.takeMembers(input, request.body);
        return async (current) => {
          const attributes = cloneJson(input.attributes);
          carryImmutable(this.schema, current.resource, attributes, input.cleared);
          carryRetired(this.schema, current.resource, attributes);
          checkChange(this.schema, current.resource, attributes);
          // RFC 7644 §3.5.1 lets a client omit what it does not assert; a PUT built from a GET (Okta) never carries
          // the writeOnly password, so an omitted password is kept rather than wiped.
          return {
            attributes,
            secrets: await secretsWith(current, input.password),
            password: input.password !== undefined,
            steps: members ? [{ kind: 'replace', refs: members }] : [],
          };
        };
      }
      case 'patch': {
        const operations = parsePatchBody(request.body, this.limits);
        const produce: Produce = async (current) => {
          const split = splitMemberOperations(this.schema, operations, this.limits);
          const result = applyOperations(this.schema, current.resource, split.others, this.limits);
          const secrets = await secretsWith(current, result.password);
          return {
            attributes: clientAttributes(result.resource),
            secrets,
            password: result.password !== undefined,
            changed: result.changed || secrets !== current.secrets,
            steps: split.steps,
          };
        };
        if (this.memberships && membersAttribute(this.schema)) produce.memberIds = memberIdsOf(splitMemberOperations(this.schema, operations, this.limits).steps);
        return produce;
      }
      case 'repair':
        return async (current) => ({ attributes: clientAttributes(request.edit(current)) });
      case 'release':
        // Nothing of the client's changes; the sections rule takes the section off the user's sources.
        return async (current) => ({ attributes: clientAttributes(cloneJson(current.resource)) });
    }
  }

  /** RFC 7644 §3.3 POST. */
  async create(body: unknown, caller: Caller = SYSTEM_CALLER): Promise<StoredRecord> {
    return this.write({ operation: 'create', body }, { caller });
  }

  /** RFC 7644 §3.5.1 PUT: the body replaces every readWrite attribute; readOnly ones are kept by the server. */
  async replace(id: string, body: unknown, ifMatch?: string, caller: Caller = SYSTEM_CALLER): Promise<StoredRecord> {
    return this.write({ operation: 'replace', id, body }, { caller, ifMatch });
  }

  /** RFC 7644 §3.5.2 PATCH: the operations apply to the current resource, all or nothing. */
  async patch(id: string, body: unknown, ifMatch?: string, caller: Caller = SYSTEM_CALLER): Promise<StoredRecord> {
    return this.write({ operation: 'patch', id, body }, { caller, ifMatch });
  }

  /** Ends a source of authority's ownership of a section of a user (an administrator's act, sections-rule.ts). */
  async release(id: string, section: string, ifMatch: string | undefined, caller: Caller): Promise<StoredRecord> {
    return this.write({ operation: 'release', id, section }, { caller, ifMatch });
  }

  /** RFC 7644 §3.6 DELETE. */
  async delete(id: string, ifMatch?: string, caller: Caller = SYSTEM_CALLER): Promise<void> {
    await this.write({ operation: 'delete', id }, { caller, ifMatch });
  }

  async get(id: string): Promise<StoredRecord> {
    const record = await this.resources.get(this.schema, id);
    if (!record) throw this.notFound(id);
    return record;
  }

  /** RFC 7644 §3.4.2: a filtered, sorted page, by index or by cursor (list.ts). */
  list(params: ListParams): Promise<ListResult> {
    return this.lister.list(params);
  }

  /**
   * Takes a Group's `members` out of a POST/PUT body (the record never holds them): the refs, `[]` for an explicit
   * `"members": []`, undefined when the body leaves them out (a PUT then keeps the members: renaming a group of
   * 100,000 must not need them all in the body; RFC 7644 §3.5.1 lets the server treat omitted attributes as not asserted).
   */
  private takeMembers(input: ResourceInput, body: unknown): MemberRef[] | undefined {
    if (!this.memberships || !membersAttribute(this.schema)) return undefined;
    return takeMembers(this.schema, input.attributes, body, this.limits);
  }

  /** The group membership of this type; a type without one has no member changes to make. */
  private membershipsFor(what: string): Memberships {
    if (!this.memberships) throw errors.internal(`${this.schema.type.name} has no members, yet ${what}`);
    return this.memberships;
  }

  /**
   * Everything of a create but storing it: read the body, check it, run the rules, hash the password, resolve the
   * members, make the audit entry. A single POST stores the result alone; a batch (createMany) stores many at once.
   */
  private async prepareCreate(body: unknown, rules: RuleContext): Promise<CreateItem> {
    const input = readResourceBody(this.schema, body, this.limits);
    const refs = this.takeMembers(input, body);
    checkChange(this.schema, undefined, input.attributes);
    const id = newId();
    const at = rules.at;
    const resource = {
      ...input.attributes,
      schemas: schemasOf(this.schema, input.attributes),
      id,
      meta: { resourceType: this.schema.type.id, created: at, lastModified: at, version: 'W/"1"' },
    } as ScimResource;
    await this.beforeWrite(resource, undefined, input.password !== undefined ? { ...rules, password: true } : rules);
    const record: StoredRecord = { resourceType: this.schema.type.id, id, version: 1, resource: ordered(resource) };
    if (input.password !== undefined) record.secrets = { password: await hashPassword(input.password) };
    const members = refs && refs.length > 0 ? { replace: await this.membershipsFor('a create names members').resolve(id, refs) } : undefined;
    const audit = this.auditEntry(rules, undefined, record, { password: input.password !== undefined, members });
    return members ? { record: this.withView(record), members, audit } : { record: this.withView(record), audit };
  }

  /**
   * Creates resources from many POST bodies, in order, each exactly as a single POST (the same checks, rules and
   * audit entry; one all-or-nothing write per resource), stored together in as few commits or round trips as the
   * store can make (a Bulk request's run of POSTs). Each body gets its record or its error; after `maxErrors`
   * errors the rest are not attempted (undefined).
   */
  async createMany(bodies: readonly unknown[], context: WriteContext, maxErrors = Infinity): Promise<(StoredRecord | ScimError | undefined)[]> {
    const out: (StoredRecord | ScimError | undefined)[] = bodies.map(() => undefined);
    const items: (CreateItem | null)[] = [];
    let failed = 0;
    // A Bulk of 1,000 POSTs: validating and preparing each takes tens of microseconds; other requests run in between.
    const turns = new Turns();
    for (let i = 0; i < bodies.length && failed < maxErrors; i++) {
      if (turns.due()) await turns.next();
      try {
        items.push(await this.prepareCreate(bodies[i], { caller: context.caller, operation: 'create', at: this.timestamp() }));
      } catch (e) {
        if (!isScimError(e)) throw e;
        out[i] = e;
        items.push(null);
        failed++;
      }
    }
    const outcomes = await this.resources.createMany(this.schema, items, maxErrors);
    outcomes.forEach((outcome, i) => {
      const item = items[i];
      if (outcome === 'created' && item) out[i] = item.record;
      else if (outcome !== 'skipped' && outcome !== 'created') out[i] = outcome;
    });
    return out;
  }

  /**
   * The version a change makes of `current`, or undefined when it changes nothing: check If-Match, produce the next
   * attributes, run the rules, resolve member changes (against `pending` when earlier changes of a coalesced write
   * are not stored yet), make the audit entry. Throws the change's own error (400, 412, a rule's refusal).
   */
  private async nextVersion(id: string, current: StoredRecord, { produce, ifMatch, rules }: QueuedChange, pending?: PendingMembers): Promise<NextVersion | undefined> {
    if (ifMatch !== undefined && !etagMatches(ifMatch, current.version)) {
      throw errors.preconditionFailed(`If-Match ${ifMatch} does not match the current version W/"${current.version}"`);
    }
    const next = await produce(current);
    const secrets = next.secrets ?? current.secrets;
    let changed = next.changed;
    const candidate = { ...next.attributes, schemas: schemasOf(this.schema, next.attributes), id, meta: current.resource.meta } as ScimResource;
    // Taken in the resource's turn, so that a later version never has an earlier lastModified.
    const at = this.timestamp();
    const turn: RuleContext = next.password ? { ...rules, at, password: true } : { ...rules, at };
    // Rules first: they may normalise (a client's manager.$ref becomes its value) or refuse the change.
    if (changed !== false || next.password) await this.beforeWrite(candidate, current, turn);
    candidate.schemas = schemasOf(this.schema, candidate);
    // A change of members is a change of the group (a new version), though its record only holds the rest.
    let members: MemberChange | undefined;
    if (next.steps && next.steps.length > 0) {
      const m = await this.membershipsFor('a write changes members').change(id, next.steps, pending);
      members = m.change;
      if (m.changed) changed = true;
    }
    const same = members === undefined && (changed === false || (jsonEqual(candidate, current.resource) && secrets === current.secrets));
    // A change that changes nothing keeps meta.version and lastModified: clients compare versions to detect edits.
    if (same) return undefined;
    const version = current.version + 1;
    candidate.meta = { ...current.resource.meta, lastModified: at, version: `W/"${version}"` };
    const record: StoredRecord = { resourceType: this.schema.type.id, id, version, resource: ordered(candidate) };
    if (secrets) record.secrets = secrets;
    if (current.member) record.member = true;
    const audit = this.auditEntry(turn, current, record, { password: secrets !== current.secrets, members });
    return members ? { record, audit, members } : { record, audit };
  }

  /**
   * One change of one resource, in its turn: read, compute the next version, store it if the version is unchanged;
   * on a race lost to another instance without If-Match, again from the fresh resource.
   */
  private async changeInTurn(id: string, change: QueuedChange): Promise<Changed> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.get(id);
      const next = await this.nextVersion(id, current, change);
      if (!next) return { record: current };
      const { record, audit, members } = next;
      const outcome = await this.resources.replace(this.schema, { record: this.withView(record), expectedVersion: current.version, current, members, audit });
      if (outcome === 'ok') return { record, previous: current };
      if (outcome === 'missing') throw this.notFound(id);
      if (change.ifMatch !== undefined) throw errors.preconditionFailed(`${this.schema.type.name} ${id} was modified concurrently`);
      if (attempt >= MAX_ATTEMPTS) throw errors.conflict(`${this.schema.type.name} ${id} is being modified concurrently; retry`);
      this.onRetry?.();
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * Math.min(50, attempt * 5))));
    }
  }

  /** The changes that queued up for one resource (write-queue.ts), in order: one alone, several coalesced. */
  private async changeBatch(id: string, changes: QueuedChange[]): Promise<Settled<Changed>[]> {
    if (changes.length === 1) return [await settle(() => this.changeInTurn(id, changes[0]!))];
    const out: Settled<Changed>[] = [];
    while (out.length < changes.length) out.push(...(await this.coalesce(id, changes.slice(out.length))));
    return out;
  }

  /**
   * Several changes of one resource stored in one write, each exactly as if it had been made alone, one after
   * another: each computed from the version the one before made (its If-Match compared with that version), each
   * answered with its own version and leaving its own audit entry; the last version stored, with every entry and the
   * members' changes composed, in one version-guarded replace. A change that fails (400, 412, a rule) fails alone.
   *
   * Settles a prefix of `changes` (at least one). What would make the coalesced write differ from one write per
   * change is not coalesced:
   *  - a later change of a unique value (a userName) ends the prefix: the store checks uniqueness of the last version
   *    only, so a value taken by another resource must not hide in a version in between;
   *  - if the write is refused (a unique value taken, a race lost to another instance), nothing was stored and the
   *    prefix's changes are made again one at a time (changeInTurn), each with its own answer.
   */
  private async coalesce(id: string, changes: QueuedChange[]): Promise<Settled<Changed>[]> {
    let current: StoredRecord;
    try {
      current = await this.get(id);
    } catch (e) {
      return changes.map(() => ({ ok: false, error: e }));
    }
    const pending = this.memberships && membersAttribute(this.schema) ? this.memberships.pending(id) : undefined;
    if (pending) {
      try {
        await this.memberships!.prime(pending, changes.flatMap((c) => c.produce.memberIds ?? []));
      } catch (e) {
        return changes.map(() => ({ ok: false, error: e }));
      }
    }
    const out: Settled<Changed>[] = [];
    const entries: AuditEntry[] = [];
    let state = current;
    for (const change of changes) {
      let next: NextVersion | undefined;
      try {
        next = await this.nextVersion(id, state, change, pending);
      } catch (e) {
        out.push({ ok: false, error: e });
        continue;
      }
      if (!next) {
        out.push({ ok: true, value: { record: state } });
        continue;
      }
      if (state !== current && this.changesUnique(state, next.record)) break;
      if (next.members) pending!.apply(next.members);
      entries.push(next.audit);
      out.push({ ok: true, value: { record: next.record, previous: state } });
      state = next.record;
    }
    if (state === current) return out;
    let outcome;
    try {
      outcome = await this.resources.replace(this.schema, { record: this.withView(state), expectedVersion: current.version, current, members: pending?.composed(), audit: entries });
    } catch (e) {
      if (!isScimError(e)) throw e;
      outcome = 'refused' as const;
    }
    if (outcome === 'ok') return out;
    if (outcome === 'missing') return out.map(() => ({ ok: false, error: this.notFound(id) }));
    const again: Settled<Changed>[] = [];
    for (let i = 0; i < out.length; i++) again.push(await settle(() => this.changeInTurn(id, changes[i]!)));
    return again;
  }

  /** Whether `next` changes a value the store keeps unique (a userName) from `previous`. */
  private changesUnique(previous: StoredRecord, next: StoredRecord): boolean {
    return uniqueAttributes(this.schema).some((u) => !jsonEqual(u.read(previous.resource), u.read(next.resource)));
  }

  private async deleteInTurn(id: string, ifMatch: string | undefined, rules: RuleContext): Promise<void> {
    const current = await this.get(id);
    if (ifMatch !== undefined && !etagMatches(ifMatch, current.version)) {
      throw errors.preconditionFailed(`If-Match ${ifMatch} does not match the current version W/"${current.version}"`);
    }
    const audit = this.auditEntry({ ...rules, at: this.timestamp() }, current, undefined, {});
    const outcome = await this.resources.delete(this.schema, { id, expectedVersion: ifMatch !== undefined ? current.version : undefined, audit });
    if (outcome === 'missing') throw this.notFound(id);
    if (outcome === 'conflict') throw errors.preconditionFailed(`${this.schema.type.name} ${id} was modified concurrently`);
  }

  /**
   * The audit entry of a write (../scim/audit.ts): who, when, which versions, which attributes changed. A password
   * set is recorded as changed, never its value; a group's members as counts.
   */
  private auditEntry(
    rules: RuleContext,
    before: StoredRecord | undefined,
    after: StoredRecord | undefined,
    extra: { password?: boolean; members?: MemberChange },
  ): AuditEntry {
    const { caller } = rules;
    const changes: AuditChange[] = attributeChanges(this.schema, before?.resource, after?.resource, (key) => this.auditMasked.has(key));
    if (extra.password) changes.push({ attribute: 'password', masked: true });
    const m = extra.members;
    if (m) {
      const change: AuditChange = { attribute: membersAttribute(this.schema)?.name ?? 'members' };
      if (m.replace) change.replaced = m.replace.length;
      if (m.add?.length) change.added = m.add.length;
      if (m.remove?.length) change.removed = m.remove.length;
      changes.push(change);
    }
    const resource = after ?? before;
    const entry: AuditEntry = {
      id: newId(),
      at: rules.at,
      actor: {
        ...(caller.subject !== undefined ? { subject: caller.subject } : {}),
        ...(caller.clientId !== undefined ? { clientId: caller.clientId } : {}),
        ...(caller.roles.length > 0 ? { roles: [...caller.roles] } : {}),
        ...(caller.system ? { system: true as const } : {}),
      },
      operation: rules.operation,
      resourceType: this.schema.type.id,
      resourceId: resource?.id ?? '',
      changes,
    };
    if (before) entry.versionBefore = before.version;
    if (after) entry.versionAfter = after.version;
    return entry;
  }

  notFound(id: string): ScimError {
    return errors.notFound(`${this.schema.type.name} ${JSON.stringify(id)} not found`);
  }
}

/**
 * The ids a group's member steps add or remove (the bursts Entra ID and Okta send); filters, and replacements of all
 * the members, are left to their turn.
 */
function memberIdsOf(steps: readonly MemberStep[]): string[] {
  return steps.flatMap((step) => (step.kind === 'add' ? step.refs.map((r) => r.value) : step.kind === 'remove' ? step.ids : []));
}

/** What became of a function's promise, as a value. */
async function settle<T>(run: () => Promise<T>): Promise<Settled<T>> {
  try {
    return { ok: true, value: await run() };
  } catch (error) {
    return { ok: false, error };
  }
}

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

/** A resource without what the server keeps (schemas, id, meta): the attributes a write computes anew. */
function clientAttributes(resource: JsonObject): JsonObject {
  const { schemas: _s, id: _i, meta: _m, ...rest } = resource;
  return rest;
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
