/**
 * The PatchOp request message (RFC 7644 §3.5.2): `schemas` naming the PatchOp URN and a non-empty `Operations`
 * array of `{op, path?, value?}`.
 *
 * Liberal where real clients are (../shared/CLIENTS.md): Entra capitalises `op` ("Replace"), and member names are
 * matched in any case (RFC 7643 §2.1 makes attribute names case-insensitive; clients carry that over to the
 * message). Strict otherwise. Operations are numbered from 1 in messages: "operation 1" is `Operations[0]`.
 */
import { errors } from '../errors';
import { SCHEMA_URNS } from '../schema';
import { isObject, JsonObject } from '../values';
import { DEFAULT_LIMITS, LIMIT_SETTINGS, Limits } from '../limits';

export type PatchOpName = 'add' | 'replace' | 'remove';

export interface PatchOperation {
  op: PatchOpName;
  /** Absent when the client sent no path (or `"path": null`). */
  path?: string;
  /** Absent when the client sent no value; `null` when it sent `null`. */
  value?: unknown;
}

const OP_NAMES: readonly PatchOpName[] = ['add', 'replace', 'remove'];

/** "operation N: " — N counts from 1. */
export function operationPrefix(index: number): string {
  return `operation ${index + 1}: `;
}

/** The value of a member whose name matches in any case; two spellings of one member are ambiguous. */
function member(obj: JsonObject, name: string, where: string): { found: boolean; value: unknown } {
  const keys = Object.keys(obj).filter((k) => k.toLowerCase() === name.toLowerCase());
  if (keys.length > 1) throw errors.invalidSyntax(`${where}member "${name}" is given ${keys.length} times (${keys.join(', ')})`);
  if (keys.length === 0) return { found: false, value: undefined };
  return { found: true, value: obj[keys[0]!] };
}

function parseOperation(raw: unknown, index: number): PatchOperation {
  const where = operationPrefix(index);
  if (!isObject(raw)) throw errors.invalidSyntax(`${where}must be an object`);
  const op = member(raw, 'op', where);
  if (typeof op.value !== 'string' || !OP_NAMES.includes(op.value.toLowerCase() as PatchOpName)) {
    throw errors.invalidSyntax(`${where}"op" must be add, replace or remove, got ${JSON.stringify(op.value) ?? 'nothing'}`);
  }
  const name = op.value.toLowerCase() as PatchOpName;
  const path = member(raw, 'path', where);
  if (path.found && path.value !== null && typeof path.value !== 'string') {
    throw errors.invalidSyntax(`${where}"path" must be a string`);
  }
  const value = member(raw, 'value', where);
  const out: PatchOperation = { op: name };
  if (typeof path.value === 'string') out.path = path.value;
  if (value.found) out.value = value.value;
  // RFC 7644 §3.5.2.2: "If "path" is unspecified, the operation fails with HTTP status code 400 and a "scimType"
  // error code of "noTarget"."
  if (name === 'remove' && out.path === undefined) throw errors.noTarget(`${where}remove needs a "path"`);
  // RFC 7644 §3.5.2.1: "The operation MUST contain a "value" member whose content specifies the value to be added."
  // A missing required value is invalidValue (RFC 7644 §3.12: "A required value was missing").
  if (name !== 'remove' && !value.found) throw errors.invalidValue(`${where}${name} needs a "value"`);
  if (name !== 'remove' && out.path === undefined && !isObject(out.value)) {
    throw errors.invalidValue(`${where}without a "path", "value" must be an object of attributes`);
  }
  return out;
}

/** Reads a PatchOp body; every failure is 400 invalidSyntax (or noTarget/invalidValue as the RFC says). */
export function parsePatchBody(body: unknown, limits: Pick<Limits, 'patchOperations'> = DEFAULT_LIMITS): PatchOperation[] {
  if (!isObject(body)) throw errors.invalidSyntax('a PatchOp request body must be a JSON object');
  const schemas = member(body, 'schemas', '');
  const patchOp = SCHEMA_URNS.patchOp.toLowerCase();
  if (
    !Array.isArray(schemas.value) ||
    !schemas.value.some((s) => typeof s === 'string' && s.toLowerCase() === patchOp)
  ) {
    throw errors.invalidSyntax(`"schemas" must contain "${SCHEMA_URNS.patchOp}"`);
  }
  const ops = member(body, 'Operations', '');
  if (!Array.isArray(ops.value) || ops.value.length === 0) {
    throw errors.invalidSyntax('"Operations" must be a non-empty array');
  }
  // Bounded like a Bulk request's operations, and answered the same way (RFC 7644 §3.7.4: 413 when a request
  // exceeds what the service provider will process).
  if (ops.value.length > limits.patchOperations) {
    throw errors.payloadTooLarge(
      `"Operations" has ${ops.value.length} operations; at most ${limits.patchOperations} are allowed in one PATCH (${LIMIT_SETTINGS.patchOperations})`,
      LIMIT_SETTINGS.patchOperations,
    );
  }
  return ops.value.map((raw, i) => parseOperation(raw, i));
}
