/**
 * Group membership across resource types: a Group's `members` and a User's `groups` (RFC 7643 §4.1.2, §4.2).
 *
 * Members are kept by the stores as (group, member) pairs, never inside records (../store/store.ts MemberEntry), so:
 * - a write that changes members resolves what the request names (members/… from ../scim/members.ts) into entries:
 *   each must be an existing User or Group (its type inferred when the client left it out, as Okta does), its
 *   `display` taken from it, and a group may not contain itself, directly or through nested groups;
 * - reads attach `members` to a group and `groups` to a user when the response carries them (`excludedAttributes=
 *   members` loads none); a user's groups are direct (the groups holding it) and indirect (every group holding one
 *   of those, transitively), as RFC 7643 §4.1.2 describes `type`;
 * - filters on them (`members.value eq "…"`, `groups.value eq "…"`), which no record can answer, are turned into the
 *   set of ids they select (an `idIn` filter node) before the store runs the query.
 */
import { errors } from '../scim/errors';
import type { AttributePath, Filter } from '../scim/filter/ast';
import { composeMembers, MEMBERS, type MemberRef, type MemberStep, needsCurrentMembers, valueEqualities } from '../scim/members';
import type { ScimResource, StoredRecord } from '../scim/resource';
import type { ResourceSchema } from '../scim/schema';
import type { JsonObject } from '../scim/values';
import type { MemberChange, MemberEntry, MembershipStore, MemberType, ResourceStore } from '../store/store';

/** The attribute of a User computed from memberships. */
export const GROUPS = 'groups';
/** Nested groups deeper than this, or more groups than this reached, are refused rather than walked forever. */
const MAX_GROUPS_WALKED = 100_000;

export class Memberships {
  constructor(
    private readonly resources: ResourceStore,
    private readonly pairs: MembershipStore,
    readonly users: ResourceSchema,
    readonly groups: ResourceSchema,
  ) {}

  private schemaOf(type: MemberType): ResourceSchema {
    return type === 'User' ? this.users : this.groups;
  }

  /**
   * Entries for the refs of a write to `groupId`: each an existing User or Group of this server (RFC 7643 §4.2:
   * "the "value" sub-attribute contains the value of an "id" attribute of a SCIM resource"), its display filled.
   */
  async resolve(groupId: string, refs: readonly MemberRef[], pending?: PendingMembers): Promise<MemberEntry[]> {
    if (refs.length === 0) return [];
    const found = new Map<string, { type: MemberType; record: StoredRecord }>();
    // Resources a coalesced write read for all its changes at once (prime) are not read again.
    for (const ref of refs) {
      const hit = pending?.resources.get(ref.value);
      if (hit) found.set(ref.value, hit);
    }
    const look = async (type: MemberType, ids: string[]) => {
      if (ids.length === 0) return;
      for (const record of await this.resources.getMany(this.schemaOf(type), ids)) found.set(record.id, { type, record });
    };
    await look('User', refs.filter((r) => r.type !== 'Group' && !found.has(r.value)).map((r) => r.value));
    await look('Group', refs.filter((r) => r.type !== 'User' && !found.has(r.value)).map((r) => r.value));
    let ancestors: Set<string> | undefined;
    const out: MemberEntry[] = [];
    for (const ref of refs) {
      const hit = found.get(ref.value);
      if (!hit || (ref.type && hit.type !== ref.type)) {
        throw errors.invalidValue(`${ref.where}: no ${ref.type ?? 'User or Group'} with id ${JSON.stringify(ref.value)} exists`);
      }
      if (hit.type === 'Group') {
        if (ref.value === groupId) throw errors.invalidValue(`${ref.where}: a group cannot be a member of itself`);
        ancestors ??= await this.ancestors([groupId]);
        if (ancestors.has(ref.value)) {
          throw errors.invalidValue(`${ref.where}: group ${JSON.stringify(ref.value)} already contains this group (directly or through nested groups); adding it would make a cycle`);
        }
      }
      const entry: MemberEntry = { value: ref.value, type: hit.type };
      const display = displayOf(hit.record.resource, hit.type);
      if (display !== undefined) entry.display = display;
      out.push(entry);
    }
    return out;
  }

  /**
   * The change a write's member steps make to `groupId`, and whether it changes anything: adding a member the group
   * has, or removing one it does not have, changes nothing.
   */
  async change(groupId: string, steps: readonly MemberStep[], pending?: PendingMembers): Promise<{ change?: MemberChange; changed: boolean }> {
    if (steps.length === 0) return { changed: false };
    const membersNow = () => (pending ? pending.members() : this.pairs.members(groupId));
    const current = needsCurrentMembers(steps) ? await membersNow() : undefined;
    const composed = composeMembers(steps, current);
    if (composed.replace) {
      const entries = await this.resolve(groupId, composed.replace, pending);
      const before = current ?? (await membersNow());
      const had = new Set(before.map((m) => m.value));
      const changed = entries.length !== before.length || entries.some((e) => !had.has(e.value));
      return { change: { replace: entries }, changed };
    }
    const asked = [...composed.add.map((r) => r.value), ...composed.remove];
    const present = await (pending ? pending.among(asked) : this.pairs.membersAmong(groupId, asked));
    const add = await this.resolve(groupId, composed.add.filter((r) => !present.has(r.value)), pending);
    const remove = composed.remove.filter((id) => present.has(id));
    if (add.length === 0 && remove.length === 0) return { changed: false };
    return { change: { add, remove }, changed: true };
  }

  /** The members of `groupId` as a coalesced write's changes will leave them (see PendingMembers). */
  pending(groupId: string): PendingMembers {
    return new PendingMembers(this.pairs, groupId);
  }

  /**
   * Reads at once what the changes of a coalesced write name (`ids`: the members they add or remove): whether each
   * is a member, and each as a User or Group. Each change is then resolved without a read of its own: 50 member adds
   * queued for one group cost two reads, not a hundred round trips made one after another.
   */
  async prime(pending: PendingMembers, ids: readonly string[]): Promise<void> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return;
    await pending.prime(unique);
    for (const record of await this.resources.getMany(this.users, unique)) pending.resources.set(record.id, { type: 'User', record });
    const rest = unique.filter((id) => !pending.resources.has(id));
    if (rest.length > 0) for (const record of await this.resources.getMany(this.groups, rest)) pending.resources.set(record.id, { type: 'Group', record });
  }

  /** Every group holding any of `ids`, directly or through nested groups (ids themselves left out unless in a cycle). */
  private async ancestors(ids: readonly string[]): Promise<Set<string>> {
    const seen = new Set<string>();
    let frontier = [...ids];
    while (frontier.length > 0) {
      const next: string[] = [];
      for (const m of await this.pairs.groupsOf(frontier)) {
        if (seen.has(m.group)) continue;
        seen.add(m.group);
        next.push(m.group);
      }
      if (seen.size > MAX_GROUPS_WALKED) throw errors.invalidValue(`group nesting reaches more than ${MAX_GROUPS_WALKED} groups`);
      frontier = next;
    }
    return seen;
  }

  /** Every User in `groupId`, directly or through nested groups. */
  private async userMembers(groupId: string): Promise<Set<string>> {
    const users = new Set<string>();
    const seen = new Set<string>([groupId]);
    let frontier = [groupId];
    while (frontier.length > 0) {
      const next: string[] = [];
      for (const g of frontier) {
        for (const m of await this.pairs.memberIds(g)) {
          if (m.type === 'User') users.add(m.value);
          else if (!seen.has(m.value)) {
            seen.add(m.value);
            next.push(m.value);
          }
        }
      }
      if (seen.size > MAX_GROUPS_WALKED) throw errors.invalidValue(`group nesting reaches more than ${MAX_GROUPS_WALKED} groups`);
      frontier = next;
    }
    return users;
  }

  /** A group's members as a response shows them (`$ref` is added when rendered). */
  async membersOf(groupId: string): Promise<JsonObject[]> {
    // The stores give each member as {value, display?, type}, which is what a response holds: no copy of 100,000.
    return (await this.pairs.members(groupId)) as unknown as JsonObject[];
  }

  /** Each user's `groups`: direct ones first, then indirect ones, each in id order. */
  async groupsOfUsers(userIds: readonly string[]): Promise<Map<string, JsonObject[]>> {
    const out = new Map<string, JsonObject[]>();
    const direct = new Map<string, Set<string>>();
    for (const m of await this.pairs.groupsOf(userIds)) {
      let set = direct.get(m.member);
      if (!set) direct.set(m.member, (set = new Set()));
      set.add(m.group);
    }
    if (direct.size === 0) return out;
    // Parents of every group reached, level by level, one store call per level.
    const parents = new Map<string, string[]>();
    let frontier = [...new Set([...direct.values()].flatMap((s) => [...s]))];
    while (frontier.length > 0) {
      for (const g of frontier) parents.set(g, []);
      const next = new Set<string>();
      for (const m of await this.pairs.groupsOf(frontier)) {
        parents.get(m.member)!.push(m.group);
        if (!parents.has(m.group)) next.add(m.group);
      }
      if (parents.size > MAX_GROUPS_WALKED) throw errors.invalidValue(`group nesting reaches more than ${MAX_GROUPS_WALKED} groups`);
      frontier = [...next];
    }
    const names = new Map<string, string | undefined>();
    for (const record of await this.resources.getMany(this.groups, [...parents.keys()])) names.set(record.id, displayOf(record.resource, 'Group'));
    for (const [user, groups] of direct) {
      const indirect = new Set<string>();
      const stack = [...groups];
      while (stack.length > 0) {
        for (const p of parents.get(stack.pop()!) ?? []) {
          if (groups.has(p) || indirect.has(p)) continue;
          indirect.add(p);
          stack.push(p);
        }
      }
      const entry = (id: string, type: 'direct' | 'indirect'): JsonObject => {
        const display = names.get(id);
        return display === undefined ? { value: id, type } : { value: id, display, type };
      };
      // A group deleted while this was read (its pairs not yet gone) is left out.
      const list = [...[...groups].sort().map((g) => entry(g, 'direct')), ...[...indirect].sort().map((g) => entry(g, 'indirect'))].filter((e) => names.has(e.value as string));
      if (list.length > 0) out.set(user, list);
    }
    return out;
  }

  /**
   * The resources with their computed attribute attached (copies; a resource that gets nothing is returned as it
   * is, so callers can tell): a group's `members`, a user's `groups` (only for users the store flagged as members).
   */
  async attach(schema: ResourceSchema, records: readonly StoredRecord[]): Promise<ScimResource[]> {
    if (schema === this.groups) {
      return Promise.all(
        records.map(async (r) => {
          const members = await this.membersOf(r.id);
          return members.length === 0 ? r.resource : withAttribute(r.resource, MEMBERS, members);
        }),
      );
    }
    if (schema === this.users) {
      const flagged = records.filter((r) => r.member).map((r) => r.id);
      const groups = flagged.length > 0 ? await this.groupsOfUsers(flagged) : new Map<string, JsonObject[]>();
      return records.map((r) => {
        const list = groups.get(r.id);
        return list ? withAttribute(r.resource, GROUPS, list) : r.resource;
      });
    }
    return records.map((r) => r.resource);
  }

  /** The attribute of `schema` computed from memberships, if any. */
  relationOf(schema: ResourceSchema): string | undefined {
    return schema === this.groups ? MEMBERS : schema === this.users ? GROUPS : undefined;
  }

  /**
   * A filter whose comparisons on `members` (Groups) or `groups` (Users) are replaced by the ids they select:
   * `members.value eq "u"` by the groups that hold u directly; `groups.value eq "g"` by the users in g, directly or
   * through nested groups. `ne` is the negation; `attr[value eq "…" or value eq "…"]` the union. Anything else on
   * these attributes is refused (invalidFilter), naming what is supported.
   */
  async rewriteFilter(schema: ResourceSchema, filter: Filter): Promise<Filter> {
    const relation = this.relationOf(schema);
    if (!relation) return filter;
    const idPath = (text: string): AttributePath => ({ text, resolved: schema.resolve('id')! });
    const select = async (value: string): Promise<Set<string>> =>
      relation === MEMBERS ? new Set((await this.pairs.groupsOf([value])).map((m) => m.group)) : this.userMembers(value);
    const refuse = (text: string) =>
      errors.invalidFilter(`filter on '${text}': '${relation}' can be filtered by '${relation}.value eq "<id>"' (or ne, or '${relation}[value eq "<id>"]') only`);
    const on = (f: Extract<Filter, { path: AttributePath }>) => f.path.resolved.attribute.name === relation && !f.path.resolved.extension;
    const walk = async (f: Filter): Promise<Filter> => {
      switch (f.op) {
        case 'and':
        case 'or':
          return { op: f.op, left: await walk(f.left), right: await walk(f.right) };
        case 'not':
          return { op: 'not', filter: await walk(f.filter) };
        case 'idIn':
          return f;
        case 'valuePath': {
          if (!on(f)) return f;
          const values = valueEqualities(f.filter);
          if (!values) throw refuse(f.path.text);
          const ids = new Set<string>();
          for (const v of values) for (const id of await select(v)) ids.add(id);
          return { op: 'idIn', path: idPath(f.path.text), ids };
        }
        default: {
          if (!on(f)) return f;
          if ((f.op !== 'eq' && f.op !== 'ne') || f.path.resolved.sub?.name !== 'value' || typeof f.value !== 'string') throw refuse(f.path.text);
          const node: Filter = { op: 'idIn', path: idPath(f.path.text), ids: await select(f.value) };
          return f.op === 'eq' ? node : { op: 'not', filter: node };
        }
      }
    };
    return walk(filter);
  }
}

/**
 * A group's members as the earlier changes of a coalesced write leave them, before anything is stored: the stored
 * pairs with those changes laid over them. ResourceService resolves each queued change of the group against this
 * (Memberships.change), applies it here, and stores the composition (one MemberChange) with the write's last
 * version, so that 50 member adds queued behind one another cost one write of the group, not 50.
 */
export class PendingMembers {
  /** Every member, once a change replaced them all. */
  private replaced?: Map<string, MemberEntry>;
  /** Otherwise: members added, and ids removed, over the stored pairs (never both for one id). */
  private readonly added = new Map<string, MemberEntry>();
  private readonly removed = new Set<string>();
  /** Whether ids read ahead (prime) were stored members, before any change here. */
  private readonly stored = new Map<string, boolean>();
  /** Resources read ahead (Memberships.prime), by id: what the changes name, as they were when the write began. */
  readonly resources = new Map<string, { type: MemberType; record: StoredRecord }>();

  constructor(
    private readonly pairs: Pick<MembershipStore, 'members' | 'membersAmong'>,
    private readonly groupId: string,
  ) {}

  /** Lays one more change over the members. */
  apply(change: MemberChange): void {
    if (change.replace) {
      this.replaced = new Map(change.replace.map((m) => [m.value, m]));
      this.added.clear();
      this.removed.clear();
    }
    for (const m of change.add ?? []) {
      if (this.replaced) this.replaced.set(m.value, m);
      else {
        this.added.set(m.value, m);
        this.removed.delete(m.value);
      }
    }
    for (const id of change.remove ?? []) {
      if (this.replaced) this.replaced.delete(id);
      else {
        this.added.delete(id);
        this.removed.add(id);
      }
    }
  }

  /** The members, in member-id order, as MembershipStore.members gives them. */
  async members(): Promise<MemberEntry[]> {
    if (this.replaced) return [...this.replaced.values()].sort(byValue);
    const stored = await this.pairs.members(this.groupId);
    if (this.added.size === 0 && this.removed.size === 0) return stored;
    const out = new Map(stored.filter((m) => !this.removed.has(m.value)).map((m) => [m.value, m]));
    for (const [id, m] of this.added) out.set(id, m);
    return [...out.values()].sort(byValue);
  }

  /** Reads whether each of `ids` is a stored member, for among() to answer without a read. */
  async prime(ids: readonly string[]): Promise<void> {
    const present = await this.pairs.membersAmong(this.groupId, ids);
    for (const id of ids) this.stored.set(id, present.has(id));
  }

  /** Which of `ids` are members. */
  async among(ids: readonly string[]): Promise<Set<string>> {
    if (this.replaced) return new Set(ids.filter((id) => this.replaced!.has(id)));
    const unknown = ids.filter((id) => !this.added.has(id) && !this.removed.has(id) && !this.stored.has(id));
    const present = unknown.length > 0 ? await this.pairs.membersAmong(this.groupId, unknown) : new Set<string>();
    for (const id of ids) if (this.added.has(id) || (!this.removed.has(id) && this.stored.get(id) === true)) present.add(id);
    return present;
  }

  /** Every change applied, as one: what the stores apply with the write's record (added and removed are disjoint). */
  composed(): MemberChange | undefined {
    if (this.replaced) return { replace: [...this.replaced.values()] };
    if (this.added.size === 0 && this.removed.size === 0) return undefined;
    return { add: [...this.added.values()], remove: [...this.removed] };
  }
}

function byValue(a: MemberEntry, b: MemberEntry): number {
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}

/** What a member is shown as: its displayName (a user without one, by its userName). */
function displayOf(resource: JsonObject, type: MemberType): string | undefined {
  const name = resource.displayName;
  if (typeof name === 'string' && name !== '') return name;
  const userName = resource.userName;
  return type === 'User' && typeof userName === 'string' ? userName : undefined;
}

/** A copy of the resource with `name` set, placed before `meta` as the schema orders attributes. */
function withAttribute(resource: ScimResource, name: string, value: JsonObject[]): ScimResource {
  const { meta, ...rest } = resource;
  return { ...rest, [name]: value, meta } as ScimResource;
}

export { displayOf };
