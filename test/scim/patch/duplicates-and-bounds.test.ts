/**
 * Bounds and duplicate values in the PATCH engine, table-driven `{ name, source, operations, expected | error }`:
 * - a multi-valued attribute never holds the same value twice (RFC 7643 §2.4 identity: value, and type where both
 *   have one; RFC 7644 §3.5.2.1 "If the target location already contains the value specified, no changes SHOULD be
 *   made to the resource"), and a value that names an element but carries more (primary) is merged into it;
 * - the bounds (operations per PATCH, values per attribute) refuse with an error that names the bound;
 * - the engine's cost follows the request, not the resource (no timing here: see bench/hardening.ts).
 */
import t from 'tap';
import { PatchCase, runPatchCases } from './harness';
import type { ScimResource } from '../../../src/scim/resource';
import { SchemaRegistry, SCHEMA_URNS } from '../../../src/scim/schema';
import { applyPatch } from '../../../src/scim/patch';
import { isScimError } from '../../../src/scim/errors';
import { DEFAULT_LIMITS } from '../../../src/scim/limits';
import { dedupeElements, ElementIndex, ElementRules } from '../../../src/scim/elements';
import { readResourceBody } from '../../../src/scim/input';

const users = SchemaRegistry.fromDirectory().resourceSchema('User');
const CORE = SCHEMA_URNS.user;

const BASE: ScimResource = {
  schemas: [CORE],
  id: 'u1',
  userName: 'bjensen',
  emails: [{ value: 'a@x.t', type: 'work' }],
  addresses: [{ type: 'work', locality: 'Hollywood', postalCode: '91608' }],
  meta: { resourceType: 'User', created: '2026-01-01T00:00:00Z', lastModified: '2026-01-01T00:00:00Z', version: 'W/"1"' },
};

const withEmails = (emails: unknown[]): ScimResource => ({ ...structuredClone(BASE), emails } as ScimResource);

t.test('RFC 7643 §2.4: the same value is never added twice', async (t) => {
  const cases: PatchCase[] = [
    {
      name: 'adding a value that is there with primary: the element becomes primary, no second element',
      operations: [{ op: 'add', path: 'emails', value: [{ value: 'a@x.t', type: 'work', primary: true }] }],
      expected: withEmails([{ value: 'a@x.t', type: 'work', primary: true }]),
    },
    {
      name: 'the same value in another letter case (caseExact false) is the same value',
      operations: [{ op: 'add', path: 'emails', value: [{ value: 'A@X.T', type: 'Work' }] }],
      expected: BASE,
      changed: false,
    },
    {
      name: 'a value without a type names the element with that value',
      operations: [{ op: 'add', path: 'emails', value: [{ value: 'a@x.t', display: 'Babs' }] }],
      expected: withEmails([{ value: 'a@x.t', type: 'work', display: 'Babs' }]),
    },
    {
      name: 'the same value with another type is another value',
      operations: [{ op: 'add', path: 'emails', value: [{ value: 'a@x.t', type: 'home' }] }],
      expected: withEmails([{ value: 'a@x.t', type: 'work' }, { value: 'a@x.t', type: 'home' }]),
    },
    {
      name: 'one request giving a value twice adds it once, merged',
      operations: [{ op: 'add', path: 'emails', value: [{ value: 'b@x.t' }, { value: 'B@x.t', type: 'home', primary: true }] }],
      expected: withEmails([{ value: 'a@x.t', type: 'work' }, { value: 'b@x.t', type: 'home', primary: true }]),
    },
    {
      name: 're-adding the same values in many operations leaves each once',
      operations: Array.from({ length: 200 }, (_, i) => ({ op: 'add', path: 'emails', value: [{ value: `e${i % 5}@x.t`, type: 'other' }] })),
      expected: withEmails([{ value: 'a@x.t', type: 'work' }, ...Array.from({ length: 5 }, (_, i) => ({ value: `e${i}@x.t`, type: 'other' }))]),
    },
    {
      name: 'replace with a list holding duplicates stores each value once',
      operations: [{ op: 'replace', path: 'emails', value: [{ value: 'c@x.t' }, { value: 'c@x.t', type: 'work' }, { value: 'd@x.t' }] }],
      expected: withEmails([{ value: 'c@x.t', type: 'work' }, { value: 'd@x.t' }]),
    },
    {
      name: 'an address contained in one that is there is no change (addresses have no value: containment, by type)',
      operations: [{ op: 'add', path: 'addresses', value: [{ type: 'work', locality: 'Hollywood' }] }],
      expected: BASE,
      changed: false,
    },
    {
      name: 'an address that adds to one that is there is merged into it',
      operations: [{ op: 'add', path: 'addresses', value: [{ type: 'work', locality: 'Hollywood', postalCode: '91608', primary: true }] }],
      expected: { ...structuredClone(BASE), addresses: [{ type: 'work', locality: 'Hollywood', postalCode: '91608', primary: true }] } as ScimResource,
    },
    {
      name: 'an address in another locality is another address',
      operations: [{ op: 'add', path: 'addresses', value: [{ type: 'work', locality: 'Burbank' }] }],
      expected: {
        ...structuredClone(BASE),
        addresses: [{ type: 'work', locality: 'Hollywood', postalCode: '91608' }, { type: 'work', locality: 'Burbank' }],
      } as ScimResource,
    },
    {
      name: 'remove with a value list finds the values by hash and removes only those',
      source: withEmails(Array.from({ length: 50 }, (_, i) => ({ value: `e${i}@x.t` }))),
      operations: [{ op: 'remove', path: 'emails', value: [{ value: 'E3@x.t' }, { value: 'e40@x.t' }, { value: 'missing@x.t' }] }],
      expected: withEmails(Array.from({ length: 50 }, (_, i) => ({ value: `e${i}@x.t` })).filter((_, i) => i !== 3 && i !== 40)),
    },
    {
      name: 'value-filtered replaces find their element by hash, also after earlier operations changed the list',
      source: withEmails(Array.from({ length: 20 }, (_, i) => ({ value: `e${i}@x.t` }))),
      operations: [
        { op: 'replace', path: 'emails[value eq "e5@x.t"].display', value: 'five' },
        { op: 'remove', path: 'emails[value eq "e0@x.t"]' },
        { op: 'add', path: 'emails', value: [{ value: 'e20@x.t' }] },
        { op: 'replace', path: 'emails[value eq "E20@X.T"].type', value: 'home' },
        { op: 'replace', path: 'emails[value eq "e5@x.t"].value', value: 'five@x.t' },
        { op: 'replace', path: 'emails[value eq "five@x.t"].primary', value: true },
      ],
      expected: withEmails([
        ...Array.from({ length: 20 }, (_, i) => ({ value: `e${i}@x.t` }) as Record<string, unknown>)
          .slice(1)
          .map((e) => (e.value === 'e5@x.t' ? { value: 'five@x.t', display: 'five', primary: true } : e)),
        { value: 'e20@x.t', type: 'home' },
      ]),
    },
  ];
  runPatchCases(t, users, BASE, cases);
});

t.test('bounds refuse with an error that names the bound and its setting', async (t) => {
  const ops = (n: number) => Array.from({ length: n }, (_, i) => ({ op: 'replace', path: 'displayName', value: `n${i}` }));
  runPatchCases(t, users, BASE, [
    {
      name: `exactly ${DEFAULT_LIMITS.patchOperations} operations are accepted`,
      operations: ops(DEFAULT_LIMITS.patchOperations),
      expected: { ...structuredClone(BASE), displayName: `n${DEFAULT_LIMITS.patchOperations - 1}` } as ScimResource,
    },
    {
      name: 'one value list over the bound',
      operations: [{ op: 'add', path: 'emails', value: Array.from({ length: DEFAULT_LIMITS.valuesPerAttribute + 1 }, (_, i) => ({ value: `v${i}@x.t` })) }],
      error: { scimType: 'invalidValue', detail: /^operation 1: 'emails' has 1001 values; at most 1000 are allowed \(SCIM_MAX_VALUES\)$/ },
    },
    {
      name: 'many operations that together grow a list past the bound',
      operations: Array.from({ length: 1000 }, (_, i) => ({ op: 'add', path: 'emails', value: [{ value: `v${i}@x.t` }] })),
      error: { scimType: 'invalidValue', detail: /'emails' has 1001 values; at most 1000/ },
    },
  ]);
  const body = (n: number) => ({ schemas: [SCHEMA_URNS.patchOp], Operations: ops(n) });
  try {
    applyPatch(users, BASE, body(DEFAULT_LIMITS.patchOperations + 1));
    t.fail('expected 413');
  } catch (e) {
    t.ok(isScimError(e));
    if (isScimError(e)) {
      t.equal(e.status, 413, 'too many operations: 413, as for a Bulk request over maxOperations (RFC 7644 §3.7.4)');
      t.match(e.detail, /"Operations" has 1001 operations; at most 1000 are allowed in one PATCH \(SCIM_MAX_PATCH_OPERATIONS\)/);
    }
  }
  t.throws(() => applyPatch(users, BASE, body(11), { ...DEFAULT_LIMITS, patchOperations: 10 }), { code: 'payloadTooLarge' }, 'the bound is a setting');
});

t.test('a list stored before the bound existed may shrink and be edited, not grow', async (t) => {
  const big = withEmails(Array.from({ length: 1200 }, (_, i) => ({ value: `e${i}@x.t` })));
  const PATCH = SCHEMA_URNS.patchOp;
  const edited = applyPatch(users, big, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'emails[value eq "e7@x.t"].type', value: 'home' }] });
  t.equal((edited.resource.emails as unknown[]).length, 1200, 'edited in place');
  const shrunk = applyPatch(users, big, { schemas: [PATCH], Operations: [{ op: 'remove', path: 'emails[value eq "e7@x.t"]' }] });
  t.equal((shrunk.resource.emails as unknown[]).length, 1199, 'shrinks');
  const other = applyPatch(users, big, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'displayName', value: 'x' }] });
  t.equal(other.resource.displayName, 'x', 'other attributes are not held hostage');
  t.throws(() => applyPatch(users, big, { schemas: [PATCH], Operations: [{ op: 'add', path: 'emails', value: { value: 'new@x.t' } }] }), {
    code: 'invalidValue',
  });
});

t.test('POST/PUT bodies: duplicates collapse, the value bound applies', async (t) => {
  const input = readResourceBody(users, {
    userName: 'x',
    emails: [{ value: 'a@x.t' }, { value: 'A@x.t', type: 'work', primary: true }, { value: 'b@x.t' }],
    phoneNumbers: [{ value: '+1 555', type: 'work' }, { value: '+1 555', type: 'work' }],
  });
  t.same(input.attributes.emails, [{ value: 'a@x.t', type: 'work', primary: true }, { value: 'b@x.t' }]);
  t.same(input.attributes.phoneNumbers, [{ value: '+1 555', type: 'work' }]);
  t.throws(
    () => readResourceBody(users, { userName: 'x', emails: Array.from({ length: 5 }, (_, i) => ({ value: `${i}@x.t` })) }, { ...DEFAULT_LIMITS, valuesPerAttribute: 4 }),
    { code: 'invalidValue', message: /'emails' has 5 values; at most 4 are allowed \(SCIM_MAX_VALUES\)/ },
  );
});

t.test('element rules: identity and buckets', async (t) => {
  const emails = new ElementRules(users.resolve('emails')!.attribute);
  const table: { a: unknown; b: unknown; same: boolean }[] = [
    { a: { value: 'a@x.t', type: 'work' }, b: { value: 'A@X.T', type: 'WORK' }, same: true },
    { a: { value: 'a@x.t', type: 'work' }, b: { value: 'a@x.t' }, same: true },
    { a: { value: 'a@x.t' }, b: { value: 'a@x.t', type: 'home' }, same: true },
    { a: { value: 'a@x.t', type: 'work' }, b: { value: 'a@x.t', type: 'home' }, same: false },
    { a: { value: 'a@x.t' }, b: { value: 'b@x.t' }, same: false },
    { a: { value: 'café@x.t' }, b: { value: 'cafe\u0301@x.t' }, same: true },
  ];
  for (const c of table) {
    t.equal(emails.same(c.a as never, c.b as never), c.same, `${JSON.stringify(c.a)} vs ${JSON.stringify(c.b)}`);
    if (c.same) t.equal(emails.bucket(c.a as never), emails.bucket(c.b as never), 'same value, same bucket');
  }
  const list = Array.from({ length: 100 }, (_, i) => ({ value: `e${i}@x.t` }));
  const index = new ElementIndex(emails, list);
  t.equal(index.find(list, { value: 'E42@x.t' }), 42);
  t.equal(index.find(list, { value: 'nope@x.t' }), -1);
  t.same(dedupeElements(users.resolve('emails')!.attribute, [{ value: 'a' }, { value: 'b' }, { value: 'A', primary: true }]), [
    { value: 'a', primary: true },
    { value: 'b' },
  ]);
});
