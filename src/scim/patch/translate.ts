/**
 * SCIM PATCH operations (RFC 7644 §3.5.2) -> RFC 6902 JSON Patch operations with concrete array indexes.
 *
 * A Translator holds one working copy of the resource. Each SCIM operation, read against the copy as it stands, is
 * turned into JSON Patch operations, each applied to the copy (fast-json-patch) the moment it is emitted and
 * recorded: later steps of the same SCIM operation (the second key of a path-less value, the clean-up of an emptied
 * extension) and later SCIM operations see the effect of earlier ones, and their indexes stay right. apply.ts runs
 * a PATCH's operations through one Translator; toJsonPatch() gives the JSON Patch of a single operation.
 *
 * Semantics (RFC 7644 §3.5.2.1-3), with the decisions the RFC leaves open:
 * - add to a multi-valued attribute appends each value not already present ("If the target location already
 *   contains the value specified, no changes SHOULD be made"); a complex value is present when an element has all
 *   of its sub-attributes with equal values (caseExact as the schema says).
 * - add or replace of a singular complex attribute merges sub-attributes: "Sub-attributes that are not specified in
 *   the "value" parameter are left unchanged." A sub-attribute given as null/"" is removed.
 * - replace of a multi-valued attribute without a filter replaces all of it.
 * - replace of `attr[filter]` replaces each matching element as a whole; add of `attr[filter]` merges into each.
 * - a value filter that matches nothing fails with noTarget, except that when the filter is an equality on `type`
 *   (RFC 7643 §2.4, optionally `and`-ed with other equalities) the element is created from those equalities and
 *   the value; Entra relies on this, and a second operation on the same filter then finds and merges into it.
 * - `attr.sub` on a multi-valued attribute (`emails.display`) targets that sub-attribute of every element.
 * - an add/replace whose value is unassigned (null, "", []) is a remove of the same target, except that adding
 *   nothing to a multi-valued attribute changes nothing.
 * - remove of a multi-valued attribute with a `value` list (Entra: `members` with `[{"value":"id"}]`) removes only
 *   the listed values; on a singular attribute the value is ignored and the attribute removed.
 * - setting `primary` true on an element removes it from the others: RFC 7643 §2.4, "The primary attribute value
 *   "true" MUST appear no more than once."
 * - when a client writes into a complex value, readOnly sub-attributes the server had computed for the old value
 *   (manager `displayName`) are dropped: they described the old value.
 * - an emptied complex or multi-valued attribute is removed; an emptied extension object is removed and its URN
 *   taken out of `schemas`; an extension attribute written adds the URN.
 *
 * Mutability (RFC 7644 §3.5.2: "a client MUST NOT modify an attribute that has mutability "readOnly" or
 * "immutable""): a path naming a readOnly attribute or sub-attribute is refused. Inside value objects (path-less
 * operations, extension objects), echoed readOnly values are tolerated: readOnly sub-attributes are ignored (so an
 * echoed `meta` or `groups`, all of whose sub-attributes are readOnly, is ignored), and a readOnly attribute is
 * ignored when it equals the current value (`id`); a different value is refused. `schemas` in a value object is
 * ignored: it follows from the attributes present. immutable and required are checked on what each operation
 * wrote, by the rules every write shares (change.ts); immutable sub-attributes of elements changed in place here.
 */
import { applyOperation, deepClone, JsonPatchError, Operation } from 'fast-json-patch';
import { errors, isScimError } from '../errors';
import type { Filter } from '../filter/ast';
import { evaluateOnElement } from '../filter/evaluate';
import { parsePath, PatchPath, SchemaPath, unknownTarget } from '../path';
import { AttributeDefinition, ResolvedAttribute, ResourceSchema, subAttribute } from '../schema';
import { cloneJson, isObject, isUnassigned, Json, JsonObject, readAttribute, readComplex, readSimple, ReadOptions } from '../values';
import { DEFAULT_LIMITS, Limits } from '../limits';
import { pointer } from '../pointer';
import { dedupeElements, ElementIndex, ElementRules } from '../elements';
import { containsComplex, jsonEqual, sameElement, sameValue } from './compare';
import { operationPrefix, PatchOperation } from './envelope';
import { checkAttributeChange, checkElementChange } from '../change';

export interface Translation {
  /** RFC 6902 operations, to be applied in order to the resource the translation read. */
  operations: Operation[];
  /** writeOnly attributes the operation set (password), canonical name -> value; never part of the resource. */
  writeOnly: Record<string, Json>;
}

/** Request values in module-level helpers: readOnly sub-attributes that clients echo are dropped. */
const READ = { dropReadOnly: true };

/** The attribute part of a resolved path, without a sub-attribute. */
type Target = Pick<ResolvedAttribute, 'schema' | 'extension' | 'attribute'>;

/** An attribute one operation wrote to, with its value before the operation where a rule needs it. */
interface Touched {
  target: Target;
  /** Snapshot before the operation: only for immutable attributes and singular complex ones (small). */
  before?: Json;
}

export { pointer };

function has(obj: JsonObject, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(obj, key);
}

function isPrimary(v: unknown): boolean {
  return isObject(v) && v.primary === true;
}

/**
 * The value of a write to one complex value (a singular complex attribute or an element): `value` as an object,
 * accepting a one-element array and a bare `value` (Entra's manager shapes, as values.readAttribute does).
 */
function complexValue(def: AttributeDefinition, value: unknown, where: string): JsonObject {
  let v = value;
  if (Array.isArray(v)) {
    if (v.length !== 1) throw errors.invalidValue(`'${where}' is single-valued but got an array of ${v.length}`);
    v = v[0];
  }
  if (!isObject(v) && v !== null && !Array.isArray(v) && subAttribute(def, 'value')) v = { value: v as Json };
  if (!isObject(v)) throw errors.invalidValue(`'${where}' must be an object of sub-attributes`);
  return v;
}

/** Splits a complex value into sub-attributes to set (checked by values.ts) and writable ones to clear (null/""). */
function partialComplex(def: AttributeDefinition, value: unknown, where: string): { set: JsonObject; clear: string[] } {
  const raw = complexValue(def, value, where);
  const set = readComplex(def, raw, where, READ) ?? {};
  const clear: string[] = [];
  for (const [k, v] of Object.entries(raw)) {
    const sub = subAttribute(def, k);
    if (sub && sub.mutability !== 'readOnly' && isUnassigned(v)) clear.push(sub.name);
  }
  return { set, clear };
}

/**
 * The element a filter describes, when it is an equality on `type`, possibly `and`-ed with other equalities:
 * `addresses[type eq "work"]`, `emails[type eq "work" and primary eq true]`. Otherwise undefined.
 */
export function elementFromFilter(filter: Filter | undefined): JsonObject | undefined {
  if (!filter) return undefined;
  const out: JsonObject = {};
  const collect = (f: Filter): boolean => {
    if (f.op === 'and') return collect(f.left) && collect(f.right);
    if (f.op !== 'eq' || f.value === null || !f.path.resolved.sub) return false;
    const name = f.path.resolved.sub.name;
    if (has(out, name) && out[name] !== f.value) return false;
    out[name] = f.value;
    return true;
  };
  if (!collect(filter) || !has(out, 'type')) return undefined;
  return out;
}

/**
 * Applies SCIM operations, one after another, to one working copy of a resource (`doc`, changed in place): each
 * is translated into RFC 6902 operations that are applied once, as they are emitted, and recorded. The cost of an
 * operation follows its own size, not the resource's: no copy of the resource per operation, rules checked only on
 * the attributes it wrote, duplicates found by hashing (../elements.ts). A failure leaves `doc` half-changed: the
 * caller works on a copy it throws away (apply.ts).
 */
export class Translator {
  readonly operations: Operation[] = [];
  readonly writeOnly: Record<string, Json> = {};
  /** Every attribute any operation wrote to, by JSON pointer. */
  readonly written = new Map<string, Target>();
  /** Extensions this operation touched: their object and their URN in `schemas` are tidied at the end. */
  private extensions = new Set<string>();
  /** Multi-valued attributes whose elements at these indexes were just given primary true. */
  private primaries = new Map<string, { target: Target; indexes: number[] }>();
  /** Attributes this operation wrote to, by JSON pointer. */
  private touched = new Map<string, Touched>();
  /** Hash indexes of multi-valued attributes, by JSON pointer; dropped when the list changes other than by append. */
  private readonly indexes = new Map<string, ElementIndex>();
  /** How request values are read: readOnly sub-attributes that clients echo are dropped; value lists are bounded. */
  private readonly read: ReadOptions;

  constructor(
    private readonly schema: ResourceSchema,
    readonly doc: JsonObject,
    private readonly limits: Limits = DEFAULT_LIMITS,
  ) {
    this.read = { dropReadOnly: true, maxValues: limits.valuesPerAttribute };
  }

  // ---- emitting -------------------------------------------------------------------------------------------------

  /** Set while emitting changes that leave every element in its hash bucket (primary, merged sub-attributes). */
  private keepIndexes = false;

  private emit(op: Operation, keepIndexes = this.keepIndexes): void {
    try {
      // A value object is copied: the recorded operation must not alias what the document holds from now on.
      const value = (op as { value?: unknown }).value;
      const applied = typeof value === 'object' && value !== null ? (deepClone(op) as Operation) : op;
      applyOperation(this.doc, applied, true, true);
    } catch (e) {
      if (e instanceof JsonPatchError) throw errors.internal(`PATCH translation produced an inapplicable ${op.op} at ${op.path}: ${e.message}`);
      throw e;
    }
    this.operations.push(op);
    if (!keepIndexes && this.indexes.size > 0) {
      for (const key of this.indexes.keys()) {
        if (op.path === key || op.path.startsWith(`${key}/`) || key.startsWith(`${op.path}/`)) this.indexes.delete(key);
      }
    }
  }

  /** The hash index of a multi-valued attribute's current elements. */
  private indexOf(t: Target): ElementIndex {
    const key = pointer(this.segments(t));
    let index = this.indexes.get(key);
    if (!index) {
      index = new ElementIndex(new ElementRules(t.attribute), this.list(t));
      this.indexes.set(key, index);
    }
    return index;
  }

  private holder(t: Target): JsonObject | undefined {
    if (!t.extension) return this.doc;
    const ext = this.doc[t.schema];
    return isObject(ext) ? ext : undefined;
  }

  private segments(t: Target): string[] {
    return t.extension ? [t.schema, t.attribute.name] : [t.attribute.name];
  }

  private current(t: Target): Json | undefined {
    return this.holder(t)?.[t.attribute.name];
  }

  private list(t: Target): Json[] {
    const v = this.current(t);
    return Array.isArray(v) ? v : [];
  }

  private touch(t: Target): void {
    if (t.extension) this.extensions.add(t.schema);
    const key = pointer(this.segments(t));
    if (this.touched.has(key)) return;
    const entry: Touched = { target: t };
    const def = t.attribute;
    if (def.mutability === 'immutable' || (def.type === 'complex' && !def.multiValued)) {
      const now = this.current(t);
      entry.before = now === undefined ? undefined : cloneJson(now);
    }
    this.touched.set(key, entry);
    this.written.set(key, t);
  }

  /** Sets the whole attribute (add when absent, replace when present). */
  private setAttribute(t: Target, value: Json): void {
    this.touch(t);
    const current = this.current(t);
    if (current !== undefined && jsonEqual(current, value)) return;
    if (t.extension && !isObject(this.doc[t.schema])) this.emit({ op: 'add', path: pointer([t.schema]), value: {} });
    const holder = this.holder(t)!;
    this.emit({ op: has(holder, t.attribute.name) ? 'replace' : 'add', path: pointer(this.segments(t)), value });
  }

  private removeAttribute(t: Target): void {
    this.touch(t);
    const holder = this.holder(t);
    if (holder && has(holder, t.attribute.name)) this.emit({ op: 'remove', path: pointer(this.segments(t)) });
  }

  /** Emits the per-sub-attribute operations turning the complex value at `at` from `before` into `after`. */
  private diffObject(at: (string | number)[], before: JsonObject, after: JsonObject): void {
    for (const k of Object.keys(before)) {
      if (!has(after, k)) this.emit({ op: 'remove', path: pointer([...at, k]) });
    }
    for (const [k, v] of Object.entries(after)) {
      if (!has(before, k)) this.emit({ op: 'add', path: pointer([...at, k]), value: v });
      else if (!jsonEqual(before[k], v)) this.emit({ op: 'replace', path: pointer([...at, k]), value: v });
    }
  }

  /**
   * `before` with `set` written over it and `clear` removed; when that changes anything, readOnly sub-attributes
   * (server-computed for the old value, such as manager displayName) are dropped.
   */
  private merge(def: AttributeDefinition, before: JsonObject, set: JsonObject, clear: string[]): JsonObject {
    const after: JsonObject = { ...before, ...set };
    for (const k of clear) delete after[k];
    if (jsonEqual(before, after)) return before;
    for (const sub of def.subAttributes ?? []) {
      if (sub.mutability === 'readOnly' && !has(set, sub.name)) delete after[sub.name];
    }
    return after;
  }

  private markPrimary(t: Target, index: number): void {
    const key = pointer(this.segments(t));
    const entry = this.primaries.get(key) ?? { target: t, indexes: [] };
    entry.indexes.push(index);
    this.primaries.set(key, entry);
  }

  /** Removes elements (any order given), or the whole attribute when none would remain. */
  private removeElements(t: Target, indexes: number[]): void {
    if (indexes.length === 0) return;
    this.touch(t);
    const unique = [...new Set(indexes)].sort((a, b) => b - a);
    if (unique.length >= this.list(t).length) return this.removeAttribute(t);
    const key = pointer(this.segments(t));
    for (const i of unique) {
      this.emit({ op: 'remove', path: pointer([...this.segments(t), i]) });
      const entry = this.primaries.get(key);
      if (entry) entry.indexes = entry.indexes.filter((m) => m !== i).map((m) => (m > i ? m - 1 : m));
    }
  }

  private append(t: Target, element: Json): void {
    this.touch(t);
    if (!Array.isArray(this.current(t))) this.setAttribute(t, []);
    const index = this.list(t).length;
    const known = this.indexes.get(pointer(this.segments(t)));
    this.emit({ op: 'add', path: pointer([...this.segments(t), index]), value: element }, true);
    known?.add(this.list(t)[index]!, index);
    if (isPrimary(element)) this.markPrimary(t, index);
  }

  /** Rewrites one element in place. */
  private writeElement(t: Target, index: number, after: JsonObject, where: string): void {
    const before = this.list(t)[index];
    if (!isObject(before) || jsonEqual(before, after)) return;
    checkElementChange(t, before, after, where);
    const becomesPrimary = isPrimary(after) && !isPrimary(before);
    // An element that stays in its hash bucket (its value and type unchanged) keeps the index valid.
    const known = this.indexes.get(pointer(this.segments(t)));
    this.keepIndexes = known !== undefined && known.rules.bucket(before) === known.rules.bucket(after);
    try {
      // diffObject mutates `before`: it is the element in the working copy.
      this.diffObject([...this.segments(t), index], { ...before }, after);
    } finally {
      this.keepIndexes = false;
    }
    if (becomesPrimary) this.markPrimary(t, index);
  }

  // ---- the operation --------------------------------------------------------------------------------------------

  /** Applies the operation at `index` (0-based); a ScimError is prefixed "operation index+1: ". */
  run(op: PatchOperation, index: number): void {
    this.extensions = new Set();
    this.primaries = new Map();
    this.touched = new Map();
    if (op.path !== undefined && this.ignored(op.path, op.value)) return;
    try {
      if (op.path === undefined) this.applyObject(op.op, op.value, undefined);
      else {
        const path = parsePath(this.schema, op.path, this.limits);
        if (path.kind === 'schema') this.applySchema(op.op, path, op.value);
        else this.applyTarget(op.op, path, op.value);
      }
      this.finish();
      this.checkTouched();
    } catch (e) {
      if (isScimError(e)) throw e.prefixed(operationPrefix(index));
      throw e;
    }
  }

  /**
   * The rules on what one operation wrote. RFC 7644 §3.5.2: "If an attribute is removed or becomes unassigned and
   * is defined as a required attribute or a read-only attribute, the server SHALL return ... a "scimType" error
   * code of "mutability"", and "a client MAY "add" a value to an "immutable" attribute if the attribute had no
   * previous value". readOnly targets never get here: applyTarget refuses them.
   */
  private checkTouched(): void {
    for (const { target, before } of this.touched.values()) {
      checkAttributeChange(target, before, this.current(target), !target.extension || isObject(this.doc[target.schema]));
    }
  }

  /** A value object: each key is applied as if it were the path of its own operation (RFC 7644 §3.5.2.1, .3). */
  private applyObject(op: PatchOperation['op'], value: unknown, schemaUrn: string | undefined): void {
    if (!isObject(value)) throw errors.invalidValue(`${schemaUrn ? `'${schemaUrn}'` : 'a path-less value'} must be an object of attributes`);
    for (const [key, v] of Object.entries(value)) {
      // `schemas` is derived from the attributes present; clients that send a whole resource echo it, and some
      // (scim2-models) put one inside extension objects too.
      if (key.toLowerCase() === 'schemas') continue;
      if (this.ignored(schemaUrn ? `${schemaUrn}:${key}` : key, v)) continue;
      const path = parsePath(this.schema, schemaUrn ? `${schemaUrn}:${key}` : key, this.limits);
      if (path.kind === 'schema') {
        if (schemaUrn) throw errors.invalidPath(`'${schemaUrn}' has no attribute '${key}'`);
        this.applySchema(op, path, v);
        continue;
      }
      if (this.isEchoedReadOnly(path, v)) continue;
      this.applyTarget(op, path, v);
    }
  }

  /**
   * SCIM_UNKNOWN_ATTRIBUTES=ignore: a path naming what the schemas lack is dropped (and reported) instead of
   * refused; an unknown extension's whole object is, attribute by attribute.
   */
  private ignored(pathText: string, value: unknown): boolean {
    if (!this.schema.ignoresUnknown) return false;
    const unknown = unknownTarget(this.schema, pathText);
    if (!unknown) return false;
    if (/^urn:/i.test(pathText) && !this.schema.splitUrn(pathText) && isObject(value)) {
      for (const k of Object.keys(value)) this.schema.onIgnored(pathText, k);
    } else this.schema.onIgnored(unknown.schema, unknown.attribute);
    return true;
  }

  /** A bare schema URN: its value is an object of that schema's attributes; remove clears an extension. */
  private applySchema(op: PatchOperation['op'], path: SchemaPath, value: unknown): void {
    if (op === 'remove' || isUnassigned(value)) {
      if (!path.extension) throw errors.invalidPath(`path '${path.text}': the core schema cannot be removed`);
      const ext = this.schema.extension(path.schema)!;
      for (const attribute of ext.attributes) {
        const p = parsePath(this.schema, `${path.schema}:${attribute.name}`, this.limits);
        if (p.kind === 'attrPath' && !isUnassigned(this.current(p.target))) this.applyTarget('remove', p, undefined);
      }
      this.extensions.add(path.schema);
      return;
    }
    this.applyObject(op, value, path.schema);
  }

  /**
   * In a value object, a readOnly sub-attribute is ignored (clients echo server-computed values such as manager
   * `$ref`), and so is a readOnly attribute whose value equals the current one (Okta echoes `id`).
   */
  private isEchoedReadOnly(path: Exclude<PatchPath, SchemaPath>, value: unknown): boolean {
    const { attribute } = path.target;
    const sub = path.kind === 'attrPath' ? path.target.sub : path.sub;
    if (sub?.mutability === 'readOnly') return true;
    if (attribute.mutability !== 'readOnly' || path.kind !== 'attrPath' || sub) return false;
    const read = readAttribute(attribute, value, path.text, this.read);
    if (read === undefined) return true;
    const current = readAttribute(attribute, this.current(path.target), attribute.name, this.read);
    if (sameValue(attribute, read, current)) return true;
    throw errors.mutability(`attribute '${attribute.name}' is readOnly; the value given differs from the current one`);
  }

  private applyTarget(op: PatchOperation['op'], path: Exclude<PatchPath, SchemaPath>, value: unknown): void {
    const { attribute } = path.target;
    const sub = path.kind === 'attrPath' ? path.target.sub : path.sub;
    if (attribute.mutability === 'readOnly') {
      throw errors.mutability(`path '${path.text}' targets '${attribute.name}', which is readOnly`);
    }
    if (sub?.mutability === 'readOnly') {
      throw errors.mutability(`path '${path.text}' targets '${attribute.name}.${sub.name}', which is readOnly`);
    }
    this.touch(path.target);
    if (attribute.mutability === 'writeOnly') return this.applyWriteOnly(op, path, value);
    if (path.kind === 'valuePath') return this.applyElements(op, path.target, path.filter, path.sub, value, path.text);
    if (!sub) return this.applyWhole(op, path.target, value, path.text);
    if (attribute.multiValued) return this.applyElements(op, path.target, undefined, sub, value, path.text);
    return this.applySub(op, path.target, sub, value, path.text);
  }

  /**
   * writeOnly (password): the value is handed back to the caller, never written into the resource. Removing it is
   * refused with mutability: a writeOnly value cannot be seen, so "unassigned" cannot be verified or undone, and
   * RFC 7643 §4.1.1 only describes setting it.
   */
  private applyWriteOnly(op: PatchOperation['op'], path: Exclude<PatchPath, SchemaPath>, value: unknown): void {
    const { attribute } = path.target;
    if (path.kind !== 'attrPath' || path.target.sub) throw errors.invalidPath(`path '${path.text}' cannot address into '${attribute.name}'`);
    if (op === 'remove' || isUnassigned(value)) {
      throw errors.mutability(`'${attribute.name}' is writeOnly: it can be replaced but not removed`);
    }
    this.writeOnly[attribute.name] = readAttribute(attribute, value, path.text, this.read)!;
  }

  /** `attr` (no filter, no sub-attribute). */
  private applyWhole(op: PatchOperation['op'], t: Target, value: unknown, where: string): void {
    const def = t.attribute;
    if (op === 'remove') {
      if (def.multiValued && value !== undefined && value !== null) return this.removeListed(t, value, where);
      return this.removeAttribute(t);
    }
    if (isUnassigned(value)) {
      if (op === 'add' && def.multiValued) return;
      return this.removeAttribute(t);
    }
    if (def.multiValued) {
      const read = readAttribute(def, value, where, this.read) as Json[] | undefined;
      // RFC 7643 §2.4 values are identified by value (and type): the same value twice in one request is one value.
      const items = read && dedupeElements(def, read);
      if (op === 'replace') {
        if (!items) return this.removeAttribute(t);
        this.setAttribute(t, items);
        items.forEach((x, i) => {
          if (isPrimary(x)) this.markPrimary(t, i);
        });
        return;
      }
      // RFC 7644 §3.5.2.1: "If the target location already contains the value specified, no changes SHOULD be made
      // to the resource". A value that names an element but carries more (primary, display) is merged into it.
      for (const item of items ?? []) {
        const list = this.list(t);
        const at = list.length === 0 ? -1 : this.indexOf(t).find(list, item);
        if (at < 0) this.append(t, item);
        else if (def.type === 'complex' && isObject(list[at]) && !containsComplex(def, list[at], item)) {
          this.writeElement(t, at, this.indexOf(t).rules.merge(list[at] as JsonObject, item as JsonObject), where);
        }
      }
      return;
    }
    if (def.type === 'complex') {
      const { set, clear } = partialComplex(def, value, where);
      return this.writeSingular(t, set, clear);
    }
    const v = readAttribute(def, value, where, this.read);
    if (v === undefined) return this.removeAttribute(t);
    this.setAttribute(t, v);
  }

  /** `attr.sub` of a singular complex attribute. */
  private applySub(op: PatchOperation['op'], t: Target, sub: AttributeDefinition, value: unknown, where: string): void {
    if (op === 'remove' || isUnassigned(value)) return this.writeSingular(t, {}, [sub.name]);
    this.writeSingular(t, { [sub.name]: readSimple(sub, value, where) }, []);
  }

  private writeSingular(t: Target, set: JsonObject, clear: string[]): void {
    const current = this.current(t);
    if (!isObject(current)) {
      if (Object.keys(set).length > 0) this.setAttribute(t, set);
      else if (current !== undefined && clear.length > 0) this.removeAttribute(t);
      return;
    }
    const after = this.merge(t.attribute, current, set, clear);
    if (after === current) return;
    if (Object.keys(after).length === 0) return this.removeAttribute(t);
    this.diffObject(this.segments(t), { ...current }, after);
  }

  /** `remove` of a multi-valued attribute with a value list: only the listed values go. */
  private removeListed(t: Target, value: unknown, where: string): void {
    const def = t.attribute;
    const items: Json[] = [];
    (Array.isArray(value) ? value : [value]).forEach((raw, i) => {
      if (isUnassigned(raw)) return;
      const w = `${where}[${i}]`;
      const item = def.type === 'complex' ? readComplex(def, raw, w, this.read) : readSimple(def, raw, w);
      if (item !== undefined) items.push(item);
    });
    const list = this.list(t);
    const holds = (e: Json, item: Json) => (def.type === 'complex' ? containsComplex(def, e, item) : sameElement(def, e, item));
    const matches = new Set<number>();
    const index = list.length > 0 ? this.indexOf(t) : undefined;
    for (const item of items) {
      // Hashed when the item names its value (Entra removes members by value); otherwise every element is looked at.
      const key = index?.rules.bucket(item) ?? '';
      const candidates = key !== '' ? index!.candidates(key) : list.keys();
      for (const i of candidates) if (holds(list[i]!, item)) matches.add(i);
    }
    this.removeElements(t, [...matches]);
  }

  /** `attr[filter]`, `attr[filter].sub`, and `attr.sub` of a multi-valued attribute (filter undefined: every element). */
  private applyElements(
    op: PatchOperation['op'],
    t: Target,
    filter: Filter | undefined,
    sub: AttributeDefinition | undefined,
    value: unknown,
    where: string,
  ): void {
    const def = t.attribute;
    const list = this.list(t);
    const matches: number[] = [];
    // A filter that pins the value (or type) only looks in that hash bucket: a thousand `emails[value eq …]`
    // operations on a thousand emails would otherwise compare a million elements.
    const index = filter && list.length > 0 ? this.indexOf(t) : undefined;
    const bucket = index && filter ? index.rules.bucketOfFilter(filter) : undefined;
    const candidates = bucket !== undefined ? [...index!.candidates(bucket)].sort((a, b) => a - b) : list.keys();
    for (const i of candidates) {
      const e = list[i];
      if (isObject(e) && (!filter || evaluateOnElement(filter, e))) matches.push(i);
    }

    if (op === 'remove' || isUnassigned(value)) {
      // RFC 7644 §3.5.2.2: matching records are removed; with a sub-attribute, that sub-attribute of each. No match
      // is not an error for remove: the target is already unassigned.
      if (!sub) return this.removeElements(t, matches);
      const emptied: number[] = [];
      for (const i of matches) {
        const before = list[i] as JsonObject;
        if (!has(before, sub.name)) continue;
        const after = { ...before };
        delete after[sub.name];
        checkElementChange(t, before, after, where);
        if (Object.keys(after).length === 0) emptied.push(i);
        else this.writeElement(t, i, after, where);
      }
      return this.removeElements(t, emptied);
    }

    let set: JsonObject;
    let clear: string[] = [];
    let whole = false;
    if (sub) set = { [sub.name]: readSimple(sub, value, where) };
    else if (op === 'replace') {
      // RFC 7644 §3.5.2.3: "all matching record values SHALL be replaced".
      const element = readComplex(def, complexValue(def, value, where), where, this.read);
      if (!element) throw errors.invalidValue(`'${where}' gives no sub-attribute to set`);
      set = element;
      whole = true;
    } else ({ set, clear } = partialComplex(def, value, where));

    if (matches.length === 0) {
      const seed = elementFromFilter(filter);
      if (!seed) throw errors.noTarget(`path '${where}' matched no value`);
      if (Object.keys(set).length === 0) return;
      const element = readComplex(def, { ...seed, ...set }, where, { dropReadOnly: false })!;
      return this.append(t, element);
    }
    for (const i of matches) {
      const before = list[i] as JsonObject;
      this.writeElement(t, i, whole ? set : this.merge(def, before, set, clear), where);
    }
  }

  /** primary, emptied extensions, `schemas`. */
  private finish(): void {
    for (const { target, indexes } of this.primaries.values()) {
      const keep = new Set(indexes);
      // RFC 7643 §2.4: "The primary attribute value "true" MUST appear no more than once."
      if (keep.size > 1) {
        const name = target.extension ? `${target.schema}:${target.attribute.name}` : target.attribute.name;
        throw errors.invalidValue(`'${name}' has ${keep.size} values with primary true; at most one is allowed`);
      }
      const list = this.list(target);
      for (let j = list.length - 1; j >= 0; j--) {
        const e = list[j];
        if (keep.has(j) || !isObject(e) || e.primary !== true) continue;
        if (Object.keys(e).length === 1) this.removeElements(target, [j]);
        else this.emit({ op: 'remove', path: pointer([...this.segments(target), j, 'primary']) }, true);
      }
    }
    for (const urn of this.extensions) {
      const ext = this.doc[urn];
      if (ext !== undefined && (!isObject(ext) || Object.keys(ext).length === 0)) {
        this.emit({ op: 'remove', path: pointer([urn]) });
      }
      const present = isObject(this.doc[urn]);
      if (!Array.isArray(this.doc.schemas)) this.emit({ op: 'add', path: '/schemas', value: [this.schema.core.id] });
      const schemas = this.doc.schemas as Json[];
      const at = schemas.findIndex((s) => typeof s === 'string' && s.toLowerCase() === urn.toLowerCase());
      if (present && at < 0) this.emit({ op: 'add', path: pointer(['schemas', schemas.length]), value: urn });
      if (!present && at >= 0) this.emit({ op: 'remove', path: pointer(['schemas', at]) });
    }
  }
}

/**
 * The RFC 6902 operations of the SCIM operation at `index` (0-based; messages say "operation index+1") against
 * `resource`, the state before it. Throws a ScimError prefixed with "operation N: ". `resource` is not modified.
 */
export function toJsonPatch(
  schema: ResourceSchema,
  resource: JsonObject,
  op: PatchOperation,
  index: number,
  limits: Limits = DEFAULT_LIMITS,
): Translation {
  const t = new Translator(schema, cloneJson(resource), limits);
  t.run(op, index);
  return { operations: t.operations, writeOnly: t.writeOnly };
}
