/**
 * PATCH (RFC 7644 §3.5.2): a PatchOp body and the current resource in, the new resource out.
 *
 * The operations are applied in order to one working copy (translate.ts: each SCIM operation becomes RFC 6902
 * operations applied once, with the rules checked on what it wrote), then the result is validated once against the
 * schema. "Each operation ... is applied in sequence"; any failure throws, and since only the copy was touched,
 * nothing is partially applied (RFC 7644 §3.5.2: "the entire PATCH request SHALL be treated as failed ... no
 * changes SHALL be applied"). The work is linear in the request and the resource: the operations count is bounded
 * (Limits.patchOperations) and no operation copies or re-reads the whole resource. Pure: the service layer does
 * If-Match, versions, uniqueness, manager checks and meta.
 */
import { DEFAULT_LIMITS, Limits } from '../limits';
import type { ScimResource } from '../resource';
import type { ResourceSchema } from '../schema';
import { checkValueCount, cloneJson, isObject, JsonObject } from '../values';
import { jsonEqual } from './compare';
import { parsePatchBody, type PatchOperation } from './envelope';
import { Translator } from './translate';
import { validateResource } from './validate';

export interface PatchResult {
  resource: ScimResource;
  /** False when the result deep-equals the input (the service then keeps meta.version). A password alone does not count. */
  changed: boolean;
  /** Plaintext, when an operation set the writeOnly password; it is never put into `resource`. */
  password?: string;
}

export function applyPatch(schema: ResourceSchema, current: ScimResource, body: unknown, limits: Limits = DEFAULT_LIMITS): PatchResult {
  return applyOperations(schema, current, parsePatchBody(body, limits).map((op, index) => ({ op, index })), limits);
}

/**
 * Applies parsed operations, each with its index in the request (for messages): what applyPatch does after parsing,
 * for callers that take some operations out first (a Group's `members`, ../members.ts).
 */
export function applyOperations(schema: ResourceSchema, current: ScimResource, operations: readonly { op: PatchOperation; index: number }[], limits: Limits = DEFAULT_LIMITS): PatchResult {
  if (operations.length === 0) return { resource: current, changed: false };
  const translator = new Translator(schema, cloneJson(current) as JsonObject, limits);
  for (const { op, index } of operations) translator.run(op, index);
  const working = translator.doc;
  validateResource(schema, working);
  // Values per attribute are bounded where a request adds them; a list that was already longer (stored before the
  // bound existed) may still shrink or be edited, just not grow.
  for (const target of translator.written.values()) {
    if (!target.attribute.multiValued) continue;
    const holderNow = target.extension ? working[target.schema] : working;
    const holderWas = target.extension ? current[target.schema] : current;
    const now = isObject(holderNow) ? holderNow[target.attribute.name] : undefined;
    const was = isObject(holderWas) ? holderWas[target.attribute.name] : undefined;
    const n = Array.isArray(now) ? now.length : 0;
    if (n > (Array.isArray(was) ? was.length : 0)) {
      checkValueCount(target.extension ? `${target.schema}:${target.attribute.name}` : target.attribute.name, n, limits.valuesPerAttribute);
    }
  }
  const result: PatchResult = { resource: working as ScimResource, changed: !jsonEqual(working, current) };
  if (typeof translator.writeOnly.password === 'string') result.password = translator.writeOnly.password;
  return result;
}
