/**
 * PATCH (RFC 7644 §3.5.2): a PatchOp body and the current resource in, the new resource out.
 *
 * Each operation is translated into RFC 6902 operations (translate.ts) and applied with fast-json-patch to a copy;
 * the result of each is checked against the one before it (validate.ts). "Each operation ... is applied in
 * sequence"; any failure throws, and since only copies were touched, nothing is partially applied (RFC 7644
 * §3.5.2: "the entire PATCH request SHALL be treated as failed ... no changes SHALL be applied"). Pure: the
 * service layer does If-Match, versions, uniqueness, manager checks and meta.
 */
import { applyPatch as applyJsonPatch, deepClone, JsonPatchError, Operation } from 'fast-json-patch';
import { errors, isScimError } from '../errors';
import type { ScimResource } from '../resource';
import type { ResourceSchema } from '../schema';
import type { Json, JsonObject } from '../values';
import { jsonEqual } from './compare';
import { operationPrefix, parsePatchBody } from './envelope';
import { translate } from './translate';
import { checkOperation, validateResource } from './validate';

export interface PatchResult {
  resource: ScimResource;
  /** False when the result deep-equals the input (the service then keeps meta.version). A password alone does not count. */
  changed: boolean;
  /** Plaintext, when an operation set the writeOnly password; it is never put into `resource`. */
  password?: string;
}

/** Applies RFC 6902 operations to a copy of `doc`; the copy is returned, `doc` is untouched. */
export function applyOperations(doc: JsonObject, operations: Operation[]): JsonObject {
  try {
    return applyJsonPatch(doc, deepClone(operations) as Operation[], true, false).newDocument;
  } catch (e) {
    if (e instanceof JsonPatchError) throw errors.internal(`PATCH translation was not applicable: ${e.message}`);
    throw e;
  }
}

export function applyPatch(schema: ResourceSchema, current: ScimResource, body: unknown): PatchResult {
  const operations = parsePatchBody(body);
  let working = deepClone(current) as JsonObject;
  const writeOnly: Record<string, Json> = {};
  operations.forEach((op, index) => {
    const translation = translate(schema, working, op, index);
    const next = applyOperations(working, translation.operations);
    try {
      checkOperation(schema, working, next);
    } catch (e) {
      if (isScimError(e)) throw e.prefixed(operationPrefix(index));
      throw e;
    }
    working = next;
    Object.assign(writeOnly, translation.writeOnly);
  });
  validateResource(schema, working);
  const result: PatchResult = { resource: working as ScimResource, changed: !jsonEqual(working, current) };
  if (typeof writeOnly.password === 'string') result.password = writeOnly.password;
  return result;
}
