/** The table runner of the PATCH engine tests: `{ name, source, operations, expected | error }`. */
import { isDeepStrictEqual } from 'node:util';
import type { Test } from 'tap';
import { isScimError } from '../../../src/scim/errors';
import { applyPatch } from '../../../src/scim/patch';
import type { ScimResource } from '../../../src/scim/resource';
import { ResourceSchema, SCHEMA_URNS } from '../../../src/scim/schema';

export interface PatchCase {
  name: string;
  source?: ScimResource;
  operations: unknown[];
  expected?: ScimResource;
  password?: string;
  /** Defaults to whether expected differs from source. */
  changed?: boolean;
  error?: { scimType: string; detail: RegExp };
}

/** Applies each case to `source` (or `base`), checking the result or the error, and that the source is untouched. */
export function runPatchCases(t: Test, schema: ResourceSchema, base: ScimResource, cases: PatchCase[]): void {
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const source = c.source ?? base;
      const snapshot = structuredClone(source);
      const body = { schemas: [SCHEMA_URNS.patchOp], Operations: c.operations };
      if (c.error) {
        try {
          applyPatch(schema, source, body);
          t.fail(`expected ${c.error.scimType}`);
        } catch (e) {
          t.ok(isScimError(e), 'a ScimError');
          if (isScimError(e)) {
            t.equal(e.scimType, c.error.scimType, 'scimType');
            t.match(e.detail, c.error.detail, 'detail');
          }
        }
      } else {
        const result = applyPatch(schema, source, body);
        t.strictSame(result.resource, c.expected, 'resource');
        t.equal(result.password, c.password, 'password');
        t.equal(result.changed, c.changed ?? !isDeepStrictEqual(c.expected, source), 'changed');
      }
      t.strictSame(source, snapshot, 'source unchanged');
    });
  }
}
