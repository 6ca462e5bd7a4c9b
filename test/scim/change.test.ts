/**
 * One set of mutability and required rules (src/scim/change.ts) for every write: the same change made by PUT and by
 * PATCH gets the same verdict, and POST the same on what it creates. No User attribute is immutable, so the table
 * runs on a User type with an extension that has immutable attributes (as Group's members.value will be).
 * Removing a required attribute is refused by both, with the scimType each RFC section names: PUT's body lacks it
 * (RFC 7644 §3.5.1, invalidValue), PATCH removes it (§3.5.2, "mutability").
 */
import t from 'tap';
import { applyPatch } from '../../src/scim/patch';
import { readResourceBody } from '../../src/scim/input';
import { carryImmutable, checkChange } from '../../src/scim/change';
import { isScimError } from '../../src/scim/errors';
import { AttributeDefinition, ResourceSchema, SchemaRegistry, SCHEMA_URNS } from '../../src/scim/schema';
import type { ScimResource } from '../../src/scim/resource';
import type { JsonObject } from '../../src/scim/values';

const users = SchemaRegistry.fromDirectory().resourceSchema('User');
const HR = 'urn:example:params:scim:schemas:extension:hr:2.0:User';
const attr = (a: Partial<AttributeDefinition> & { name: string }): AttributeDefinition =>
  ({ type: 'string', multiValued: false, required: false, caseExact: false, mutability: 'readWrite', returned: 'default', uniqueness: 'none', ...a }) as AttributeDefinition;
const hr = {
  id: HR,
  name: 'HR',
  attributes: [
    attr({ name: 'badgeId', mutability: 'immutable' }),
    attr({ name: 'contract', type: 'complex', subAttributes: [attr({ name: 'number', mutability: 'immutable', caseExact: true }), attr({ name: 'grade' })] }),
    attr({ name: 'site' }),
    attr({ name: 'assignments', multiValued: true, type: 'complex', subAttributes: [attr({ name: 'code', mutability: 'immutable' }), attr({ name: 'role' })] }),
  ],
};
const schema = new ResourceSchema({ ...users.type, schemaExtensions: [{ schema: HR, required: false }] }, users.core, [{ schema: hr, required: false }], users.common);

const stored = (ext: JsonObject, core: JsonObject = {}): ScimResource =>
  ({ schemas: [SCHEMA_URNS.user, HR], id: 'u1', userName: 'ann', ...core, [HR]: ext, meta: { resourceType: 'User', version: 'W/"1"' } }) as unknown as ScimResource;

type Verdict = 'ok' | { status: 400; put: string; patch: string };
const refused = (scimType: string, patchType = scimType): Verdict => ({ status: 400, put: scimType, patch: patchType });

const rows: { name: string; before: ScimResource; put: JsonObject; patch: JsonObject[]; expected: Verdict }[] = [
  {
    name: 'an immutable value given again, in another case (caseExact false)',
    before: stored({ badgeId: 'B-1' }),
    put: { userName: 'ann', [HR]: { badgeId: 'b-1' } },
    patch: [{ op: 'replace', path: `${HR}:badgeId`, value: 'b-1' }],
    expected: 'ok',
  },
  {
    name: 'an immutable value changed',
    before: stored({ badgeId: 'B-1' }),
    put: { userName: 'ann', [HR]: { badgeId: 'B-2' } },
    patch: [{ op: 'replace', path: `${HR}:badgeId`, value: 'B-2' }],
    expected: refused('mutability'),
  },
  {
    name: 'an immutable value removed',
    before: stored({ badgeId: 'B-1', site: 'x' }),
    put: { userName: 'ann', [HR]: { badgeId: null, site: 'x' } },
    patch: [{ op: 'remove', path: `${HR}:badgeId` }],
    expected: refused('mutability'),
  },
  {
    name: 'an immutable value given where there was none',
    before: stored({ site: 'x' }),
    put: { userName: 'ann', [HR]: { site: 'x', badgeId: 'B-9' } },
    patch: [{ op: 'add', path: `${HR}:badgeId`, value: 'B-9' }],
    expected: 'ok',
  },
  {
    name: 'an immutable value left alone while another changes (PUT omits it)',
    before: stored({ badgeId: 'B-1', site: 'x' }),
    put: { userName: 'ann', [HR]: { site: 'y' } },
    patch: [{ op: 'replace', path: `${HR}:site`, value: 'y' }],
    expected: 'ok',
  },
  {
    name: 'an immutable sub-attribute of a complex value changed (caseExact true: case counts)',
    before: stored({ contract: { number: 'C-1', grade: 'a' } }),
    put: { userName: 'ann', [HR]: { contract: { number: 'c-1', grade: 'a' } } },
    patch: [{ op: 'replace', path: `${HR}:contract.number`, value: 'c-1' }],
    expected: refused('mutability'),
  },
  {
    name: 'another sub-attribute of that complex value changed',
    before: stored({ contract: { number: 'C-1', grade: 'a' } }),
    put: { userName: 'ann', [HR]: { contract: { number: 'C-1', grade: 'b' } } },
    patch: [{ op: 'replace', path: `${HR}:contract.grade`, value: 'b' }],
    expected: 'ok',
  },
  {
    name: 'the required userName removed',
    before: stored({ site: 'x' }),
    put: { [HR]: { site: 'x' } },
    patch: [{ op: 'remove', path: 'userName' }],
    expected: refused('invalidValue', 'mutability'),
  },
];

function verdictOf(f: () => unknown): 'ok' | string {
  try {
    f();
    return 'ok';
  } catch (e) {
    if (isScimError(e) && e.status === 400) return e.scimType ?? 'no scimType';
    throw e;
  }
}

t.test('the same change gets the same verdict through PUT and PATCH', async (t) => {
  for (const row of rows) {
    const put = verdictOf(() => {
      const { attributes, cleared } = readResourceBody(schema, { schemas: [SCHEMA_URNS.user, HR], ...row.put });
      carryImmutable(schema, row.before, attributes, cleared);
      checkChange(schema, row.before, attributes);
    });
    const patch = verdictOf(() => applyPatch(schema, row.before, { schemas: [SCHEMA_URNS.patchOp], Operations: row.patch }));
    const want = row.expected === 'ok' ? { put: 'ok', patch: 'ok' } : { put: row.expected.put, patch: row.expected.patch };
    t.same({ put, patch }, want, row.name);
  }
});

t.test('POST: what it creates obeys the same rules (required; immutable values may be given)', async (t) => {
  const post = (body: JsonObject) => verdictOf(() => checkChange(schema, undefined, readResourceBody(schema, { schemas: [SCHEMA_URNS.user, HR], ...body }).attributes));
  t.equal(post({ userName: 'ann', [HR]: { badgeId: 'B-1', contract: { number: 'C-1' } } }), 'ok');
  t.equal(post({ [HR]: { badgeId: 'B-1' } }), 'invalidValue', 'the required userName missing');
});

t.test('PATCH through a value filter may not change an element\'s immutable sub-attribute in place', async (t) => {
  const before = stored({ assignments: [{ code: 'A-1', role: 'lead' }] });
  const patch = (ops: JsonObject[]) => verdictOf(() => applyPatch(schema, before, { schemas: [SCHEMA_URNS.patchOp], Operations: ops }));
  t.equal(patch([{ op: 'replace', path: `${HR}:assignments[role eq "lead"].code`, value: 'A-2' }]), 'mutability');
  t.equal(patch([{ op: 'replace', path: `${HR}:assignments[role eq "lead"].role`, value: 'member' }]), 'ok', 'another sub-attribute may change');
  // Values are identified by value (RFC 7643 §2.4): removing one element and adding another is not a change of one.
  t.equal(patch([{ op: 'remove', path: `${HR}:assignments[code eq "A-1"]` }, { op: 'add', path: `${HR}:assignments`, value: [{ code: 'A-2', role: 'lead' }] }]), 'ok');
});
