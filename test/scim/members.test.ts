/**
 * The pure part of Group membership (src/scim/members.ts): which PATCH operations touch `members`, what they come
 * to once reduced in order, and what is refused. Table-driven: { name, current, operations, expected }, where
 * `expected` is the composed change (`replace`: every member after; else `add` and `remove`) or the error.
 */
import t from 'tap';
import { SchemaRegistry } from '../../src/scim/schema';
import { composeMembers, needsCurrentMembers, readMemberRefs, splitMemberOperations, type Member } from '../../src/scim/members';
import { parsePatchBody } from '../../src/scim/patch';
import { DEFAULT_LIMITS } from '../../src/scim/limits';
import { isScimError } from '../../src/scim/errors';

const groups = SchemaRegistry.fromDirectory().resourceSchema('Group');
const users = SchemaRegistry.fromDirectory().resourceSchema('User');
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

interface Case {
  name: string;
  current?: Member[];
  operations: unknown[];
  expected?: { replace?: string[]; add?: string[]; remove?: string[]; others?: unknown[] };
  error?: { scimType: string; detail: RegExp };
}

const U = (value: string): Member => ({ value, type: 'User' });
const G = (value: string): Member => ({ value, type: 'Group' });

const cases: Case[] = [
  // Entra ID (../shared/CLIENTS.md)
  { name: 'Entra: Add several members in one operation', operations: [{ op: 'Add', path: 'members', value: [{ value: 'a' }, { value: 'b' }] }], expected: { add: ['a', 'b'], remove: [] } },
  { name: 'Entra: Remove with a value list removes only those', operations: [{ op: 'Remove', path: 'members', value: [{ value: 'a' }] }], expected: { add: [], remove: ['a'] } },
  // Okta
  {
    name: 'Okta: remove by filter, then add without type',
    operations: [
      { op: 'remove', path: 'members[value eq "a"]' },
      { op: 'add', path: 'members', value: [{ value: 'b', display: 'B' }] },
    ],
    expected: { add: ['b'], remove: ['a'] },
  },
  { name: 'Okta: full replace of members', operations: [{ op: 'replace', path: 'members', value: [{ value: 'c' }] }], expected: { replace: ['c'] } },
  {
    name: 'Okta: rename carrying id keeps the rest of the value for the record',
    operations: [{ op: 'replace', value: { id: 'g1', displayName: 'New' } }],
    expected: { add: [], remove: [], others: [{ op: 'replace', value: { id: 'g1', displayName: 'New' } }] },
  },
  // RFC 7644 §3.5.2
  {
    name: 'path-less add carrying members and displayName is split',
    operations: [{ op: 'add', value: { displayName: 'X', Members: [{ value: 'a' }] } }],
    expected: { add: ['a'], remove: [], others: [{ op: 'add', value: { displayName: 'X' } }] },
  },
  { name: 'remove without value removes every member (§3.5.2.2)', operations: [{ op: 'remove', path: 'members' }], expected: { replace: [] } },
  { name: 'an add after a remove of the same member re-adds it', operations: [{ op: 'remove', path: 'members[value eq "a"]' }, { op: 'add', path: 'members', value: [{ value: 'a' }] }], expected: { add: ['a'], remove: [] } },
  { name: 'a remove after an add cancels it', operations: [{ op: 'add', path: 'members', value: [{ value: 'a' }] }, { op: 'remove', path: 'members[value eq "a"]' }], expected: { add: [], remove: ['a'] } },
  { name: 'an add after a replace joins the replacement', operations: [{ op: 'replace', path: 'members', value: [{ value: 'a' }] }, { op: 'add', path: 'members', value: [{ value: 'b' }] }], expected: { replace: ['a', 'b'] } },
  { name: 'an or of value equalities removes each', operations: [{ op: 'remove', path: 'members[value eq "a" or value eq "b"]' }], expected: { add: [], remove: ['a', 'b'] } },
  {
    name: 'another value filter selects among the current members',
    current: [U('u1'), G('g1'), G('g2')],
    operations: [{ op: 'remove', path: 'members[type eq "Group"]' }],
    expected: { add: [], remove: ['g1', 'g2'] },
  },
  {
    name: 'replace of a filtered member: the matches go, the value comes',
    current: [U('a'), U('c')],
    operations: [{ op: 'replace', path: 'members[value eq "a"]', value: [{ value: 'b' }] }],
    expected: { add: ['b'], remove: ['a'] },
  },
  {
    name: 'replace of a filtered member that is not there is noTarget (§3.5.2.3)',
    current: [U('c')],
    operations: [{ op: 'replace', path: 'members[value eq "a"]', value: [{ value: 'b' }] }],
    error: { scimType: 'noTarget', detail: /^operation 1: path 'members\[value eq "a"\]' matched no member/ },
  },
  { name: 'an empty value names no member', operations: [{ op: 'add', path: 'members', value: [{ value: '' }] }], error: { scimType: 'invalidValue', detail: /members\[0\]: 'value'/ } },
  { name: 'a null value names no member', operations: [{ op: 'add', path: 'members', value: [{ value: null, display: 'x' }] }], error: { scimType: 'invalidValue', detail: /members\[0\]: 'value'/ } },
  { name: 'the same member twice in one value counts once', operations: [{ op: 'add', path: 'members', value: [{ value: 'a' }, { value: 'a', type: 'User' }] }], expected: { add: ['a'], remove: [] } },
  { name: 'a $ref names the member when value is absent', operations: [{ op: 'add', path: 'members', value: [{ $ref: 'https://x/scim/v2/Users/a' }] }], expected: { add: ['a'], remove: [] } },
  // Refusals
  {
    name: 'members.value is immutable (RFC 7643 §8.7.1)',
    operations: [{ op: 'replace', path: 'members[value eq "a"].value', value: 'b' }],
    error: { scimType: 'mutability', detail: /^operation 1: path 'members\[value eq "a"\]\.value': 'members\.value' is immutable/ },
  },
  { name: 'members.display is readOnly', operations: [{ op: 'replace', path: 'members.display', value: 'x' }], error: { scimType: 'mutability', detail: /'members\.display' is readOnly/ } },
  { name: 'an add into a filtered member is refused', operations: [{ op: 'add', path: 'members[value eq "a"]', value: { type: 'User' } }], error: { scimType: 'mutability', detail: /cannot be changed in place/ } },
  { name: 'a member without value', operations: [{ op: 'add', path: 'members', value: [{ type: 'User' }] }], error: { scimType: 'invalidValue', detail: /^operation 1: members\[0\]: 'value'/ } },
  { name: 'an unknown type', operations: [{ op: 'add', path: 'members', value: [{ value: 'a', type: 'Device' }] }], error: { scimType: 'invalidValue', detail: /members\[0\]\.type' must be one of/ } },
  {
    name: '$ref and value naming different resources',
    operations: [{ op: 'add', path: 'members', value: [{ value: 'a', $ref: 'https://x/scim/v2/Users/b' }] }],
    error: { scimType: 'invalidValue', detail: /name different resources/ },
  },
  {
    name: 'one member as User and as Group',
    operations: [{ op: 'add', path: 'members', value: [{ value: 'a', type: 'User' }, { value: 'a', type: 'Group' }] }],
    error: { scimType: 'invalidValue', detail: /given as both User and Group/ },
  },
  {
    name: 'the second operation is named in the detail',
    operations: [{ op: 'add', path: 'displayName', value: 'X' }, { op: 'add', path: 'members', value: [{}] }],
    error: { scimType: 'invalidValue', detail: /^operation 2: members\[0\]/ },
  },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const run = () => {
      const ops = parsePatchBody({ schemas: [PATCH_OP], Operations: c.operations });
      const split = splitMemberOperations(groups, ops, DEFAULT_LIMITS);
      const composed = composeMembers(split.steps, needsCurrentMembers(split.steps) ? (c.current ?? []) : undefined);
      return { split, composed };
    };
    if (c.error) {
      try {
        run();
        t.fail('expected an error');
      } catch (e) {
        t.ok(isScimError(e), String(e));
        if (isScimError(e)) {
          t.equal(e.scimType, c.error.scimType);
          t.match(e.message, c.error.detail);
        }
      }
      return;
    }
    const { split, composed } = run();
    const expected = c.expected!;
    if (expected.replace) t.same(composed.replace!.map((r) => r.value).sort(), [...expected.replace].sort(), 'replace');
    else {
      t.notOk(composed.replace, 'no replace');
      t.same(composed.add.map((r) => r.value).sort(), [...(expected.add ?? [])].sort(), 'add');
      t.same([...composed.remove].sort(), [...(expected.remove ?? [])].sort(), 'remove');
    }
    if (expected.others) t.same(split.others.map((o) => o.op), expected.others, 'operations left for the record');
    else t.same(split.others, [], 'no operation left for the record');
  });
}

t.test('operations on other attributes keep their index; a User has no members', async (t) => {
  const ops = parsePatchBody({ schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: 'a' }] }, { op: 'replace', path: 'displayName', value: 'X' }] });
  t.same(splitMemberOperations(groups, ops, DEFAULT_LIMITS).others, [{ op: { op: 'replace', path: 'displayName', value: 'X' }, index: 1 }]);
  const userOps = parsePatchBody({ schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'X' }] });
  t.same(splitMemberOperations(users, userOps, DEFAULT_LIMITS), { others: [{ op: { op: 'replace', path: 'title', value: 'X' }, index: 0 }], steps: [] });
});

t.test('a value list longer than the bound (SCIM_MAX_VALUES) is refused, naming the setting', async (t) => {
  const def = groups.attribute(groups.core.id, 'members')!;
  const many = Array.from({ length: 5 }, (_, i) => ({ value: `m${i}` }));
  t.throws(() => readMemberRefs(def, many, 'members', { valuesPerAttribute: 4 }), { scimType: 'invalidValue', message: /'members' has 5 values; at most 4 .*SCIM_MAX_VALUES/ });
});
