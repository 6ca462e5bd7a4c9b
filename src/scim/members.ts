/**
 * A Group's `members` (RFC 7643 §4.2, §8.7.1) as requests change them. Members are not kept in the group's record
 * (the stores keep one pair per member, see store/store.ts MemberEntry), so the operations that touch `members` are
 * taken out of a PATCH and read here into steps, which the service resolves against the store (the members exist,
 * their type and display) and reduces (compose) to the change the store makes. Pure: no store, no HTTP.
 *
 * What clients send (../shared/CLIENTS.md), and what it means here:
 * - `add` `members` with one or several values: each value not already a member is added; duplicates are ignored.
 *   A path-less `add` or `replace` whose value object has `members` means the same as the path `members`.
 * - `remove` `members[value eq "id"]` (Okta), or `members[value eq "a" or value eq "b"]`: those members go. Removing
 *   a member the group does not have changes nothing (a retried request must not fail).
 * - `remove` `members` with a value list (Entra: `"value": [{"value": "id"}]`): only the listed members go; with no
 *   value, every member goes (RFC 7644 §3.5.2.2).
 * - `replace` `members` (or a path-less replace carrying `members`): the group's members become exactly the values.
 * - Any other value filter (`members[type eq "Group"]`) is evaluated on the current members.
 * - `value`, `$ref` and `type` are immutable (RFC 7643 §8.7.1) and `display` readOnly: a path naming one of them is
 *   refused with `mutability`. A member is identified by its value; to change a member, remove it and add another.
 */
import { errors } from './errors';
import type { Filter } from './filter/ast';
import { evaluateOnElement } from './filter/evaluate';
import { operationPrefix, type PatchOperation } from './patch/envelope';
import { canonicalPath, parsePath } from './path';
import type { AttributeDefinition, ResourceSchema } from './schema';
import { isObject, isUnassigned, type JsonObject, readAttribute } from './values';
import type { Limits } from './limits';

/** The resource types a group may contain (RFC 7643 §4.2: "members ... a User or Group"). */
export type MemberType = 'User' | 'Group';

/** A member as a request names it; `type` when the client said (Okta leaves it out). */
export interface MemberRef {
  value: string;
  type?: MemberType;
  /** Where the request named it, for error details: `operation 2: members[0]`. */
  where: string;
}

/** A member as the group holds it (as store/store.ts MemberEntry). */
export interface Member {
  value: string;
  type: MemberType;
  display?: string;
}

/** One change to the members, in request order. */
export type MemberStep =
  | { kind: 'add'; refs: MemberRef[] }
  | { kind: 'replace'; refs: MemberRef[] }
  | { kind: 'remove'; ids: string[] }
  | { kind: 'removeAll' }
  /** Remove what a value filter other than `value eq` selects, among the members at that point. */
  | { kind: 'removeWhere'; filter: Filter; where: string }
  /** Replace what a value filter selects by `refs`; a filter that selects nothing is noTarget. */
  | { kind: 'replaceWhere'; filter: Filter; refs: MemberRef[]; where: string };

/** The attribute name, as the Group schema spells it. */
export const MEMBERS = 'members';

/** The `members` attribute of a schema, when it has one (Group). */
export function membersAttribute(schema: ResourceSchema): AttributeDefinition | undefined {
  const def = schema.attribute(schema.core.id, MEMBERS);
  return def && def.type === 'complex' && def.multiValued ? def : undefined;
}

function canonicalType(v: unknown, where: string): MemberType | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'string') {
    if (v.toLowerCase() === 'user') return 'User';
    if (v.toLowerCase() === 'group') return 'Group';
  }
  throw errors.invalidValue(`${where}: 'type' must be "User" or "Group", got ${JSON.stringify(v)}`);
}

/** The id a `$ref` names: its last path segment (…/Users/<id>). */
function idOfRef(ref: string): string {
  return decodeURIComponent(ref.replace(/\/+$/, '').split('/').pop() ?? '');
}

/**
 * Reads member values as a request gives them (one object or a list of them) into refs. `value` is required (or a
 * `$ref` that names the member); `display` is readOnly and ignored; `type` is "User" or "Group" in any case.
 */
export function readMemberRefs(def: AttributeDefinition, raw: unknown, where: string, limits: Pick<Limits, 'valuesPerAttribute'>): MemberRef[] {
  // An element that names no member (only readOnly `display`, or an empty `value`) would read as nothing and
  // vanish: refuse it.
  (Array.isArray(raw) ? raw : [raw]).forEach((item, i) => {
    const names = isObject(item) && Object.entries(item).some(([k, v]) => ['value', '$ref'].includes(k.toLowerCase()) && typeof v === 'string' && v !== '');
    if (isObject(item) && !names) throw errors.invalidValue(`${where}[${i}]: 'value' (the member's id) is required`);
  });
  const read = readAttribute(def, raw, where, { dropReadOnly: true, maxValues: limits.valuesPerAttribute });
  const items = read === undefined ? [] : Array.isArray(read) ? read : [read];
  const seen = new Map<string, MemberRef>();
  items.forEach((item, i) => {
    const at = `${where}[${i}]`;
    if (!isObject(item)) throw errors.invalidValue(`${at}: a member must be an object with a "value"`);
    let value = item.value;
    const ref = item.$ref;
    if ((value === undefined || value === null || value === '') && typeof ref === 'string' && ref !== '') value = idOfRef(ref);
    if (typeof value !== 'string' || value === '') throw errors.invalidValue(`${at}: 'value' (the member's id) is required`);
    if (typeof ref === 'string' && ref !== '' && idOfRef(ref) !== value) {
      throw errors.invalidValue(`${at}: $ref ${JSON.stringify(ref)} and value ${JSON.stringify(value)} name different resources`);
    }
    const type = canonicalType(item.type, at);
    const earlier = seen.get(value);
    if (earlier) {
      // RFC 7644 §3.5.2.1: a value already present is not added twice; a second naming may only agree.
      if (type && earlier.type && type !== earlier.type) throw errors.invalidValue(`${at}: member ${JSON.stringify(value)} is given as both ${earlier.type} and ${type}`);
      if (type) earlier.type = type;
      return;
    }
    seen.set(value, type ? { value, type, where: at } : { value, where: at });
  });
  return [...seen.values()];
}

/** The key of `obj` that names `members` (any case, or qualified by the core schema URN), if any. */
function membersKey(schema: ResourceSchema, obj: JsonObject): string | undefined {
  const keys = Object.keys(obj).filter((k) => schema.resolve(k)?.attribute.name === MEMBERS && !schema.resolve(k)?.sub && !schema.resolve(k)?.extension);
  if (keys.length > 1) throw errors.invalidSyntax(`'members' is given ${keys.length} times (${keys.join(', ')})`);
  return keys[0];
}

/** The ids a filter selects when it is `value eq "…"`, or an `or` of such; undefined for any other filter. */
export function valueEqualities(filter: Filter): string[] | undefined {
  if (filter.op === 'or') {
    const l = valueEqualities(filter.left);
    const r = l && valueEqualities(filter.right);
    return l && r ? [...l, ...r] : undefined;
  }
  if (filter.op === 'eq' && filter.path.resolved.sub?.name === 'value' && typeof filter.value === 'string') return [filter.value];
  return undefined;
}

/**
 * Splits a PATCH's operations: those on `members` become steps (in order); the others are returned with their
 * original index, to be applied to the record as usual. A path-less add/replace carrying `members` and other
 * attributes (Okta's rename carries `id` and `displayName`) is split in two.
 */
export function splitMemberOperations(
  schema: ResourceSchema,
  operations: readonly PatchOperation[],
  limits: Pick<Limits, 'valuesPerAttribute' | 'filterLength' | 'filterNodes'>,
): { others: { op: PatchOperation; index: number }[]; steps: MemberStep[] } {
  const def = membersAttribute(schema);
  const others: { op: PatchOperation; index: number }[] = [];
  const steps: MemberStep[] = [];
  if (!def) return { others: operations.map((op, index) => ({ op, index })), steps };
  operations.forEach((op, index) => {
    const prefix = operationPrefix(index);
    const whole = (refsRaw: unknown, where: string) => readMemberRefs(def, refsRaw, `${prefix}${where}`, limits);
    const pathless = (value: JsonObject) => {
      const key = membersKey(schema, value);
      if (key === undefined) return others.push({ op, index });
      const refs = whole(value[key], MEMBERS);
      steps.push(op.op === 'add' ? { kind: 'add', refs } : { kind: 'replace', refs });
      const { [key]: _members, ...rest } = value;
      if (Object.keys(rest).length > 0) others.push({ op: { ...op, value: rest }, index });
    };
    if (op.path === undefined) {
      if (isObject(op.value)) pathless(op.value);
      else others.push({ op, index });
      return;
    }
    let path;
    try {
      path = parsePath(schema, op.path, limits);
    } catch {
      // Not ours to judge: the record's PATCH reports it with its own words.
      return others.push({ op, index });
    }
    if (path.kind === 'schema') {
      if (!path.extension && isObject(op.value)) pathless(op.value);
      else others.push({ op, index });
      return;
    }
    if (path.target.attribute.name !== MEMBERS || path.target.extension) return others.push({ op, index });
    const shown = canonicalPath(path);
    const sub = path.kind === 'attrPath' ? path.target.sub : path.sub;
    if (sub) {
      // RFC 7644 §3.5.2: "a client MUST NOT modify an attribute that has mutability "readOnly" or "immutable"".
      throw errors.mutability(`${prefix}path '${op.path}': '${MEMBERS}.${sub.name}' is ${sub.mutability ?? 'readWrite'}; members are identified by value: remove the member and add another`);
    }
    if (path.kind === 'attrPath') {
      if (op.op === 'add') steps.push({ kind: 'add', refs: whole(op.value, shown) });
      else if (op.op === 'replace') steps.push({ kind: 'replace', refs: whole(op.value, shown) });
      else if (op.value === undefined || op.value === null) steps.push({ kind: 'removeAll' });
      else {
        // Entra: remove with a value list removes only the listed members.
        const refs = whole(op.value, shown);
        steps.push(refs.length === 0 ? { kind: 'removeAll' } : { kind: 'remove', ids: refs.map((r) => r.value) });
      }
      return;
    }
    const ids = valueEqualities(path.filter);
    if (op.op === 'remove') {
      steps.push(ids ? { kind: 'remove', ids } : { kind: 'removeWhere', filter: path.filter, where: `${prefix}path '${op.path}'` });
      return;
    }
    if (op.op === 'replace') {
      // The matching members are replaced as a whole by the value: the old ones go, the new ones come.
      steps.push({ kind: 'replaceWhere', filter: path.filter, refs: whole(op.value, shown), where: `${prefix}path '${op.path}'` });
      return;
    }
    throw errors.mutability(`${prefix}path '${op.path}': members cannot be changed in place (their sub-attributes are immutable); add them to '${MEMBERS}'`);
  });
  return { others, steps };
}

/** Whether the steps need the group's current members (a value filter other than `value eq`). */
export function needsCurrentMembers(steps: readonly MemberStep[]): boolean {
  let replaced = false;
  for (const step of steps) {
    if (step.kind === 'replace' || step.kind === 'removeAll') replaced = true;
    if ((step.kind === 'removeWhere' || step.kind === 'replaceWhere') && !replaced) return true;
  }
  return false;
}

/** What the steps come to: every member (`replace`), or refs to add and ids to remove. */
export interface ComposedMembers {
  replace?: MemberRef[];
  add: MemberRef[];
  remove: string[];
}

/**
 * Reduces the steps, in order, to one change. `current` (the group's members) is needed only when
 * needsCurrentMembers() says so.
 */
export function composeMembers(steps: readonly MemberStep[], current?: readonly Member[]): ComposedMembers {
  let replace: Map<string, MemberRef> | undefined;
  const add = new Map<string, MemberRef>();
  const remove = new Set<string>();
  const drop = (id: string) => {
    add.delete(id);
    if (replace) replace.delete(id);
    else remove.add(id);
  };
  for (const step of steps) {
    switch (step.kind) {
      case 'add':
        for (const ref of step.refs) {
          if (replace) replace.set(ref.value, ref);
          else {
            add.set(ref.value, ref);
            remove.delete(ref.value);
          }
        }
        break;
      case 'replace':
        replace = new Map(step.refs.map((r) => [r.value, r]));
        add.clear();
        remove.clear();
        break;
      case 'removeAll':
        replace = new Map();
        add.clear();
        remove.clear();
        break;
      case 'remove':
        for (const id of step.ids) drop(id);
        break;
      case 'removeWhere':
      case 'replaceWhere': {
        if (!replace && current === undefined) throw new Error('composeMembers: a value filter needs the current members');
        const present: JsonObject[] = replace
          ? [...replace.values()].map((r) => elementOf(r))
          : [
              ...(current ?? []).filter((m) => !remove.has(m.value) && !add.has(m.value)).map((m) => elementOf(m)),
              ...[...add.values()].map((r) => elementOf(r)),
            ];
        const matched = present.filter((element) => evaluateOnElement(step.filter, element));
        if (step.kind === 'replaceWhere') {
          // RFC 7644 §3.5.2.3: "If the target location is a multi-valued attribute for which a value selection
          // filter ("valuePath") has been supplied and no record match was made, the service provider SHALL
          // indicate failure by returning HTTP status code 400 and a "scimType" error code of "noTarget"."
          if (matched.length === 0) throw errors.noTarget(`${step.where} matched no member`);
          for (const element of matched) drop(element.value as string);
          for (const ref of step.refs) {
            if (replace) replace.set(ref.value, ref);
            else {
              add.set(ref.value, ref);
              remove.delete(ref.value);
            }
          }
        } else for (const element of matched) drop(element.value as string);
        break;
      }
    }
  }
  return replace ? { replace: [...replace.values()], add: [], remove: [] } : { add: [...add.values()], remove: [...remove] };
}

function elementOf(m: { value: string; type?: MemberType; display?: string }): JsonObject {
  const e: JsonObject = { value: m.value };
  if (m.type) e.type = m.type;
  if (m.display !== undefined) e.display = m.display;
  return e;
}

/**
 * Takes `members` out of a POST/PUT body's attributes (they are not part of the record): the refs read from the
 * body as the client sent it (so that an element naming no member is refused, not dropped), `[]` for members given
 * as unassigned (`[]`, `null`), undefined when the body leaves them out.
 */
export function takeMembers(schema: ResourceSchema, attributes: JsonObject, body: unknown, limits: Pick<Limits, 'valuesPerAttribute'>): MemberRef[] | undefined {
  const def = membersAttribute(schema);
  if (!def) return undefined;
  delete attributes[MEMBERS];
  if (!isObject(body)) return undefined;
  const key = membersKey(schema, body);
  if (key === undefined) return undefined;
  const raw = body[key];
  if (isUnassigned(raw)) return [];
  return readMemberRefs(def, raw, MEMBERS, limits);
}
