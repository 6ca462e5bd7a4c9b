/**
 * The translation of one SCIM operation into RFC 6902 operations with concrete array indexes, checked operation by
 * operation, and applied with fast-json-patch (validate: true) to the expected resource.
 */
import { applyPatch as applyJsonPatch, deepClone } from 'fast-json-patch';
import t from 'tap';
import { isScimError } from '../../../src/scim/errors';
import { parsePath } from '../../../src/scim/path';
import { elementFromFilter, PatchOperation, pointer, toJsonPatch } from '../../../src/scim/patch';
import { SchemaRegistry, SCHEMA_URNS } from '../../../src/scim/schema';
import type { JsonObject } from '../../../src/scim/values';

const users = SchemaRegistry.fromDirectory().resourceSchema('User');
const CORE = SCHEMA_URNS.user;
const ENT = SCHEMA_URNS.enterpriseUser;
const E = `/${ENT}`;

const BASE: JsonObject = {
  schemas: [CORE],
  id: 'u1',
  userName: 'bjensen',
  displayName: 'Babs',
  emails: [
    { value: 'bjensen@example.com', type: 'work', primary: true },
    { value: 'babs@jensen.org', type: 'home' },
  ],
  roles: [{ value: 'r0' }, { value: 'r1' }, { value: 'r2' }],
  meta: { resourceType: 'User', created: '2026-01-01T00:00:00Z', lastModified: '2026-01-01T00:00:00Z', version: 'W/"1"' },
};

function withKeys(changes: JsonObject, from: JsonObject = BASE): JsonObject {
  return { ...deepClone(from), ...deepClone(changes) } as JsonObject;
}

interface Case {
  name: string;
  source?: JsonObject;
  op: PatchOperation;
  operations: unknown[];
  writeOnly?: JsonObject;
}

const withManager = withKeys({ schemas: [CORE, ENT], [ENT]: { manager: { value: 'm1', displayName: 'Boss' } } });

const cases: Case[] = [
  { name: 'add of an absent singular attribute', op: { op: 'add', path: 'title', value: 'Guide' }, operations: [{ op: 'add', path: '/title', value: 'Guide' }] },
  { name: 'replace of a present one', op: { op: 'replace', path: 'DisplayName', value: 'B' }, operations: [{ op: 'replace', path: '/displayName', value: 'B' }] },
  { name: 'the same value translates to nothing', op: { op: 'replace', path: 'displayName', value: 'Babs' }, operations: [] },
  { name: 'remove', op: { op: 'remove', path: 'displayName' }, operations: [{ op: 'remove', path: '/displayName' }] },
  { name: 'remove of an absent attribute translates to nothing', op: { op: 'remove', path: 'title' }, operations: [] },
  {
    name: 'append at the concrete next index',
    op: { op: 'add', path: 'emails', value: { value: 'x@example.org', type: 'other' } },
    operations: [{ op: 'add', path: '/emails/2', value: { value: 'x@example.org', type: 'other' } }],
  },
  {
    name: 'append to an absent attribute creates the array first',
    op: { op: 'add', path: 'phoneNumbers', value: [{ value: '1' }, { value: '2' }] },
    operations: [
      { op: 'add', path: '/phoneNumbers', value: [] },
      { op: 'add', path: '/phoneNumbers/0', value: { value: '1' } },
      { op: 'add', path: '/phoneNumbers/1', value: { value: '2' } },
    ],
  },
  {
    name: 'replace of a whole multi-valued attribute',
    op: { op: 'replace', path: 'roles', value: [{ value: 'x' }] },
    operations: [{ op: 'replace', path: '/roles', value: [{ value: 'x' }] }],
  },
  {
    name: 'remove by filter at the matching index',
    op: { op: 'remove', path: 'emails[type eq "home"]' },
    operations: [{ op: 'remove', path: '/emails/1' }],
  },
  {
    name: 'remove by filter of several elements, highest index first',
    op: { op: 'remove', path: 'roles[value ne "r1"]' },
    operations: [
      { op: 'remove', path: '/roles/2' },
      { op: 'remove', path: '/roles/0' },
    ],
  },
  {
    name: 'remove of a value list, highest index first',
    op: { op: 'remove', path: 'roles', value: [{ value: 'r0' }, { value: 'R2' }] },
    operations: [
      { op: 'remove', path: '/roles/2' },
      { op: 'remove', path: '/roles/0' },
    ],
  },
  {
    name: 'remove of every element removes the attribute in one operation',
    op: { op: 'remove', path: 'roles[value sw "r"]' },
    operations: [{ op: 'remove', path: '/roles' }],
  },
  {
    name: 'replace of a filtered sub-attribute at the matching index',
    op: { op: 'replace', path: 'emails[type eq "home"].value', value: 'b@home.org' },
    operations: [{ op: 'replace', path: '/emails/1/value', value: 'b@home.org' }],
  },
  {
    name: 'add of a filtered sub-attribute that is absent in the element',
    op: { op: 'add', path: 'emails[type eq "home"].display', value: 'Home' },
    operations: [{ op: 'add', path: '/emails/1/display', value: 'Home' }],
  },
  {
    name: 'replace of a whole filtered element, sub-attribute by sub-attribute',
    op: { op: 'replace', path: 'emails[type eq "home"]', value: { value: 'b@home.org', type: 'home', display: 'H' } },
    operations: [
      { op: 'replace', path: '/emails/1/value', value: 'b@home.org' },
      { op: 'add', path: '/emails/1/display', value: 'H' },
    ],
  },
  {
    name: 'a filtered write that creates the element',
    op: { op: 'add', path: 'addresses[type eq "work"].locality', value: 'Redmond' },
    operations: [
      { op: 'add', path: '/addresses', value: [] },
      { op: 'add', path: '/addresses/0', value: { type: 'work', locality: 'Redmond' } },
    ],
  },
  {
    name: 'a primary element clears primary on the others',
    op: { op: 'add', path: 'emails', value: [{ value: 'new@example.org', primary: 'true' }] },
    operations: [
      { op: 'add', path: '/emails/2', value: { value: 'new@example.org', primary: true } },
      { op: 'remove', path: '/emails/0/primary' },
    ],
  },
  {
    name: 'an extension attribute creates the extension object and lists its URN',
    op: { op: 'add', path: `${ENT}:department`, value: 'Sales' },
    operations: [
      { op: 'add', path: E, value: {} },
      { op: 'add', path: `${E}/department`, value: 'Sales' },
      { op: 'add', path: '/schemas/1', value: ENT },
    ],
  },
  {
    name: 'removing the last extension attribute removes the object and the URN',
    source: withKeys({ schemas: [CORE, ENT], [ENT]: { department: 'Sales' } }),
    op: { op: 'remove', path: `${ENT}:department` },
    operations: [
      { op: 'remove', path: `${E}/department` },
      { op: 'remove', path: E },
      { op: 'remove', path: '/schemas/1' },
    ],
  },
  {
    name: 'a new manager replaces value and drops the displayName computed for the old one',
    source: withManager,
    op: { op: 'replace', path: `${ENT}:manager`, value: [{ $ref: null, value: 'm2' }] },
    operations: [
      { op: 'remove', path: `${E}/manager/displayName` },
      { op: 'replace', path: `${E}/manager/value`, value: 'm2' },
    ],
  },
  {
    name: 'clearing the manager removes it, the extension and the URN',
    source: withManager,
    op: { op: 'replace', path: `${ENT}:manager`, value: '' },
    operations: [
      { op: 'remove', path: `${E}/manager` },
      { op: 'remove', path: E },
      { op: 'remove', path: '/schemas/1' },
    ],
  },
  {
    name: 'a path-less value translates key by key, in order',
    op: { op: 'replace', value: { displayName: 'A', 'name.givenName': 'B', [`${ENT}:costCenter`]: '4130', id: 'u1' } },
    operations: [
      { op: 'replace', path: '/displayName', value: 'A' },
      { op: 'add', path: '/name', value: { givenName: 'B' } },
      { op: 'add', path: E, value: {} },
      { op: 'add', path: `${E}/costCenter`, value: '4130' },
      { op: 'add', path: '/schemas/1', value: ENT },
    ],
  },
  {
    name: 'a password becomes a writeOnly value and no operation',
    op: { op: 'replace', path: 'password', value: 'secret' },
    operations: [],
    writeOnly: { password: 'secret' },
  },
];

t.test('translations', async (t) => {
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const source = c.source ?? BASE;
      const snapshot = deepClone(source);
      const result = toJsonPatch(users, source, c.op, 0);
      t.strictSame(result.operations, c.operations, 'RFC 6902 operations');
      t.strictSame(result.writeOnly, c.writeOnly ?? {}, 'writeOnly');
      t.strictSame(source, snapshot, 'source unchanged');
      // The operations apply cleanly with fast-json-patch's validation on.
      t.doesNotThrow(() => applyJsonPatch(deepClone(source), deepClone(result.operations), true, false));
    });
  }
});

t.test('errors carry the operation number (index + 1)', async (t) => {
  try {
    toJsonPatch(users, BASE, { op: 'replace', path: 'nope', value: 1 }, 4);
    t.fail('expected invalidPath');
  } catch (e) {
    t.ok(isScimError(e));
    if (isScimError(e)) t.match(e.detail, /^operation 5: path 'nope'/);
  }
});

t.test('pointer escapes RFC 6901 reference tokens', async (t) => {
  t.equal(pointer(['a/b', 'c~d', 0]), '/a~1b/c~0d/0');
  t.equal(pointer([ENT, 'manager', 'value']), `/${ENT}/manager/value`);
  t.equal(pointer([]), '');
});

t.test('elementFromFilter: only type equalities, possibly and-ed with other equalities, create', async (t) => {
  const filterOf = (path: string) => {
    const p = parsePath(users, path);
    if (p.kind !== 'valuePath') throw new Error('not a value path');
    return p.filter;
  };
  t.strictSame(elementFromFilter(filterOf('addresses[type eq "work"]')), { type: 'work' });
  t.strictSame(elementFromFilter(filterOf('addresses[TYPE eq "work" and primary eq true]')), { type: 'work', primary: true });
  t.strictSame(elementFromFilter(filterOf('emails[value eq "a@x.org" and type eq "home"]')), { value: 'a@x.org', type: 'home' });
  t.equal(elementFromFilter(filterOf('emails[value eq "a@x.org"]')), undefined, 'no type');
  t.equal(elementFromFilter(filterOf('emails[type eq "work" or type eq "home"]')), undefined, 'or');
  t.equal(elementFromFilter(filterOf('emails[type ne "work"]')), undefined, 'ne');
  t.equal(elementFromFilter(filterOf('emails[type eq "work" and type eq "home"]')), undefined, 'contradiction');
  t.equal(elementFromFilter(filterOf('emails[not (type eq "work")]')), undefined, 'not');
  t.equal(elementFromFilter(filterOf('emails[type pr]')), undefined, 'pr');
  t.equal(elementFromFilter(undefined), undefined);
});
