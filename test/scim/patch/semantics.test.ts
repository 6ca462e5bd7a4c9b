/**
 * RFC 7644 §3.5.2.1-3 semantics of add, replace and remove on core and enterprise User attributes, table-driven:
 * `{ name, source, operations, expected }`. Each case also checks that the source is left unchanged and that
 * `changed` says whether the result differs from it.
 */
import t, { Test } from 'tap';
import { PatchCase, runPatchCases } from './harness';
import type { ScimResource } from '../../../src/scim/resource';
import { SchemaRegistry, SCHEMA_URNS } from '../../../src/scim/schema';
import type { JsonObject } from '../../../src/scim/values';

const users = SchemaRegistry.fromDirectory().resourceSchema('User');
const CORE = SCHEMA_URNS.user;
const ENT = SCHEMA_URNS.enterpriseUser;

const BASE: ScimResource = {
  schemas: [CORE],
  id: '2819c223-7f76-453a-919d-413861904646',
  externalId: 'bjensen',
  userName: 'bjensen@example.com',
  name: { givenName: 'Barbara', familyName: 'Jensen' },
  displayName: 'Babs Jensen',
  active: true,
  emails: [
    { value: 'bjensen@example.com', type: 'work', primary: true },
    { value: 'babs@jensen.org', type: 'home' },
  ],
  meta: { resourceType: 'User', created: '2026-01-01T00:00:00Z', lastModified: '2026-01-02T00:00:00Z', version: 'W/"1"' },
};

/** BASE with top-level keys replaced; an undefined value removes the key. */
function user(changes: JsonObject | Record<string, unknown> = {}, from: ScimResource = BASE): ScimResource {
  const out = structuredClone(from) as Record<string, unknown>;
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete out[k];
    else out[k] = structuredClone(v);
  }
  return out as ScimResource;
}

const run = (t: Test, cases: PatchCase[]): void => runPatchCases(t, users, BASE, cases);

t.test('add (RFC 7644 §3.5.2.1)', async (t) => {
  run(t, [
    {
      name: 'add to a singular simple attribute sets it',
      operations: [{ op: 'add', path: 'title', value: 'Tour Guide' }],
      expected: user({ title: 'Tour Guide' }),
    },
    {
      name: 'add to a present singular attribute replaces it',
      operations: [{ op: 'add', path: 'displayName', value: 'Barbara' }],
      expected: user({ displayName: 'Barbara' }),
    },
    {
      name: 'add to a multi-valued attribute appends',
      operations: [{ op: 'add', path: 'emails', value: [{ value: 'b@example.org', type: 'other' }] }],
      expected: user({ emails: [...(BASE.emails as JsonObject[]), { value: 'b@example.org', type: 'other' }] }),
    },
    {
      name: 'add of a single object to a multi-valued attribute appends it',
      operations: [{ op: 'add', path: 'phoneNumbers', value: { value: '555-1234', type: 'work' } }],
      expected: user({ phoneNumbers: [{ value: '555-1234', type: 'work' }] }),
    },
    {
      name: 'add of a value already present changes nothing ("no changes SHOULD be made")',
      operations: [{ op: 'add', path: 'emails', value: [{ value: 'BABS@jensen.org', type: 'home' }] }],
      expected: BASE,
      changed: false,
    },
    {
      name: 'add of a subset of a present element changes nothing',
      operations: [{ op: 'add', path: 'emails', value: [{ value: 'bjensen@example.com' }] }],
      expected: BASE,
    },
    {
      name: 'add of several values skips the ones present and duplicates among themselves',
      operations: [
        {
          op: 'add',
          path: 'emails',
          value: [
            { value: 'babs@jensen.org', type: 'home' },
            { value: 'x@example.org', type: 'other' },
            { value: 'x@example.org', type: 'other' },
          ],
        },
      ],
      expected: user({ emails: [...(BASE.emails as JsonObject[]), { value: 'x@example.org', type: 'other' }] }),
    },
    {
      name: 'add of a complex attribute merges sub-attributes',
      operations: [{ op: 'add', path: 'name', value: { middleName: 'Jane', givenName: 'Babs' } }],
      expected: user({ name: { givenName: 'Babs', familyName: 'Jensen', middleName: 'Jane' } }),
    },
    {
      name: 'add of a sub-attribute of an absent complex attribute creates it',
      source: user({ name: undefined }),
      operations: [{ op: 'add', path: 'name.familyName', value: 'Jensen' }],
      expected: user({ name: { familyName: 'Jensen' } }),
    },
    {
      name: 'add of an empty list to a multi-valued attribute changes nothing',
      operations: [{ op: 'add', path: 'emails', value: [] }],
      expected: BASE,
    },
    {
      name: 'add with a value filter merges into the matching element',
      operations: [{ op: 'add', path: 'emails[type eq "home"]', value: { display: 'Home' } }],
      expected: user({
        emails: [
          { value: 'bjensen@example.com', type: 'work', primary: true },
          { value: 'babs@jensen.org', type: 'home', display: 'Home' },
        ],
      }),
    },
    {
      name: 'add with a filter on type that matches nothing creates the element',
      operations: [{ op: 'add', path: 'phoneNumbers[type eq "mobile"].value', value: '555-0000' }],
      expected: user({ phoneNumbers: [{ type: 'mobile', value: '555-0000' }] }),
    },
    {
      name: 'path-less add: keys in any case (RFC example spells nickName "nickname")',
      operations: [{ op: 'add', value: { NickName: 'Babs', 'NAME.middleName': 'J' } }],
      expected: user({ nickName: 'Babs', name: { givenName: 'Barbara', familyName: 'Jensen', middleName: 'J' } }),
    },
    {
      name: 'add of a boolean given as a string',
      operations: [{ op: 'add', path: 'active', value: 'False' }],
      expected: user({ active: false }),
    },
  ]);
});

t.test('replace (RFC 7644 §3.5.2.3)', async (t) => {
  run(t, [
    {
      name: 'replace of a singular attribute',
      operations: [{ op: 'replace', path: 'displayName', value: 'B. Jensen' }],
      expected: user({ displayName: 'B. Jensen' }),
    },
    {
      name: 'replace of an absent attribute is an add',
      operations: [{ op: 'replace', path: 'nickName', value: 'Babs' }],
      expected: user({ nickName: 'Babs' }),
    },
    {
      name: 'replace of a multi-valued attribute replaces all values',
      operations: [{ op: 'replace', path: 'emails', value: [{ value: 'new@example.com', type: 'work' }] }],
      expected: user({ emails: [{ value: 'new@example.com', type: 'work' }] }),
    },
    {
      name: 'replace of a complex attribute leaves unspecified sub-attributes unchanged',
      operations: [{ op: 'replace', path: 'name', value: { givenName: 'Babs' } }],
      expected: user({ name: { givenName: 'Babs', familyName: 'Jensen' } }),
    },
    {
      name: 'replace of a sub-attribute',
      operations: [{ op: 'replace', path: 'name.familyName', value: 'Jensen-Smith' }],
      expected: user({ name: { givenName: 'Barbara', familyName: 'Jensen-Smith' } }),
    },
    {
      name: 'replace with a value filter replaces the matching element',
      operations: [{ op: 'replace', path: 'emails[type eq "home"]', value: { value: 'babs@home.org', type: 'home' } }],
      expected: user({
        emails: [
          { value: 'bjensen@example.com', type: 'work', primary: true },
          { value: 'babs@home.org', type: 'home' },
        ],
      }),
    },
    {
      name: 'replace of a sub-attribute of the matching elements',
      operations: [{ op: 'replace', path: 'emails[type eq "work"].value', value: 'babs@example.com' }],
      expected: user({
        emails: [
          { value: 'babs@example.com', type: 'work', primary: true },
          { value: 'babs@jensen.org', type: 'home' },
        ],
      }),
    },
    {
      name: 'replace matching several elements changes all of them',
      source: user({ phoneNumbers: [{ value: '1', type: 'work' }, { value: '2', type: 'home' }, { value: '3', type: 'work' }] }),
      operations: [{ op: 'replace', path: 'phoneNumbers[type eq "work"].display', value: 'office' }],
      expected: user({
        phoneNumbers: [
          { value: '1', type: 'work', display: 'office' },
          { value: '2', type: 'home' },
          { value: '3', type: 'work', display: 'office' },
        ],
      }),
    },
    {
      name: 'replace with a compound filter',
      source: user({ phoneNumbers: [{ value: '1', type: 'work' }, { value: '2', type: 'work', primary: true }] }),
      operations: [{ op: 'replace', path: 'phoneNumbers[type eq "work" and primary eq true].value', value: '22' }],
      expected: user({ phoneNumbers: [{ value: '1', type: 'work' }, { value: '22', type: 'work', primary: true }] }),
    },
    {
      name: 'replace of attr.sub on a multi-valued attribute changes every element',
      operations: [{ op: 'replace', path: 'emails.display', value: 'mail' }],
      expected: user({
        emails: [
          { value: 'bjensen@example.com', type: 'work', primary: true, display: 'mail' },
          { value: 'babs@jensen.org', type: 'home', display: 'mail' },
        ],
      }),
    },
    {
      name: 'replace with the current value changes nothing',
      operations: [
        { op: 'replace', path: 'displayName', value: 'Babs Jensen' },
        { op: 'replace', path: 'emails[type eq "work"].value', value: 'bjensen@example.com' },
      ],
      expected: BASE,
      changed: false,
    },
    {
      name: 'path-less replace (Okta deactivate)',
      operations: [{ op: 'replace', value: { active: false } }],
      expected: user({ active: false }),
    },
  ]);
});

t.test('remove (RFC 7644 §3.5.2.2)', async (t) => {
  run(t, [
    {
      name: 'remove of a singular attribute',
      operations: [{ op: 'remove', path: 'displayName' }],
      expected: user({ displayName: undefined }),
    },
    {
      name: 'remove of an absent attribute is a no-op',
      operations: [{ op: 'remove', path: 'title' }],
      expected: BASE,
      changed: false,
    },
    {
      name: 'remove of a multi-valued attribute removes all values',
      operations: [{ op: 'remove', path: 'emails' }],
      expected: user({ emails: undefined }),
    },
    {
      name: 'remove with a filter removes the matching elements only',
      operations: [{ op: 'remove', path: 'emails[type eq "home"]' }],
      expected: user({ emails: [{ value: 'bjensen@example.com', type: 'work', primary: true }] }),
    },
    {
      name: 'remove with a filter matching every element removes the attribute',
      operations: [{ op: 'remove', path: 'emails[value ew "example.com" or value ew "jensen.org"]' }],
      expected: user({ emails: undefined }),
    },
    {
      name: 'remove with a filter that matches nothing is a no-op',
      operations: [{ op: 'remove', path: 'emails[type eq "other"]' }],
      expected: BASE,
      changed: false,
    },
    {
      name: 'remove of a sub-attribute of the matching elements',
      operations: [{ op: 'remove', path: 'emails[type eq "work"].primary' }],
      expected: user({
        emails: [
          { value: 'bjensen@example.com', type: 'work' },
          { value: 'babs@jensen.org', type: 'home' },
        ],
      }),
    },
    {
      name: 'remove of the last sub-attribute of an element removes the element',
      source: user({ phoneNumbers: [{ value: '1' }, { value: '2', type: 'work' }] }),
      operations: [{ op: 'remove', path: 'phoneNumbers[type pr].type' }, { op: 'remove', path: 'phoneNumbers.value' }],
      expected: user({ phoneNumbers: undefined }),
    },
    {
      name: 'remove of a sub-attribute of a singular complex attribute',
      operations: [{ op: 'remove', path: 'name.givenName' }],
      expected: user({ name: { familyName: 'Jensen' } }),
    },
    {
      name: 'remove of the last sub-attribute removes the complex attribute',
      source: user({ name: { givenName: 'Barbara' } }),
      operations: [{ op: 'remove', path: 'name.givenName' }],
      expected: user({ name: undefined }),
    },
    {
      name: 'remove with a value list removes only the listed values',
      operations: [{ op: 'remove', path: 'emails', value: [{ value: 'BABS@jensen.org' }] }],
      expected: user({ emails: [{ value: 'bjensen@example.com', type: 'work', primary: true }] }),
    },
    {
      name: 'remove with a value list naming nothing present is a no-op',
      operations: [{ op: 'remove', path: 'emails', value: [{ value: 'nobody@example.com' }] }],
      expected: BASE,
    },
    {
      name: 'remove with an empty value list removes nothing',
      operations: [{ op: 'remove', path: 'emails', value: [] }],
      expected: BASE,
    },
    {
      name: 'remove with a value list naming every value removes the attribute',
      operations: [{ op: 'Remove', path: 'emails', value: [{ value: 'babs@jensen.org' }, { value: 'bjensen@example.com', type: 'work' }] }],
      expected: user({ emails: undefined }),
    },
    {
      name: 'remove with a value on a singular attribute ignores the value',
      operations: [{ op: 'remove', path: 'displayName', value: 'someone else' }],
      expected: user({ displayName: undefined }),
    },
  ]);
});

t.test('null and "" clear', async (t) => {
  run(t, [
    { name: 'replace with ""', source: user({ title: 'Boss' }), operations: [{ op: 'replace', path: 'title', value: '' }], expected: BASE },
    { name: 'replace with null', source: user({ title: 'Boss' }), operations: [{ op: 'replace', path: 'title', value: null }], expected: BASE },
    { name: 'add with null', source: user({ title: 'Boss' }), operations: [{ op: 'add', path: 'title', value: null }], expected: BASE },
    { name: 'replace of a multi-valued attribute with []', operations: [{ op: 'replace', path: 'emails', value: [] }], expected: user({ emails: undefined }) },
    {
      name: 'path-less replace with null keys',
      source: user({ title: 'Boss', nickName: 'B' }),
      operations: [{ op: 'replace', value: { title: null, nickName: '' } }],
      expected: BASE,
    },
    {
      name: 'a sub-attribute set to null in a complex value is removed',
      operations: [{ op: 'replace', path: 'name', value: { givenName: null, middleName: 'J' } }],
      expected: user({ name: { familyName: 'Jensen', middleName: 'J' } }),
    },
    {
      name: 'replace of a sub-attribute with "" removes it',
      operations: [{ op: 'replace', path: 'name.givenName', value: '' }],
      expected: user({ name: { familyName: 'Jensen' } }),
    },
    {
      name: 'replace of a filtered sub-attribute with null removes it from the matching elements',
      operations: [{ op: 'replace', path: 'emails[type eq "work"].primary', value: null }],
      expected: user({ emails: [{ value: 'bjensen@example.com', type: 'work' }, { value: 'babs@jensen.org', type: 'home' }] }),
    },
    {
      name: 'clearing an absent attribute is a no-op',
      operations: [{ op: 'replace', path: 'title', value: null }],
      expected: BASE,
      changed: false,
    },
  ]);
});

t.test('primary: "true" MUST appear no more than once (RFC 7643 §2.4)', async (t) => {
  run(t, [
    {
      name: 'adding a primary value clears primary on the others',
      operations: [{ op: 'add', path: 'emails', value: [{ value: 'new@example.com', type: 'other', primary: true }] }],
      expected: user({
        emails: [
          { value: 'bjensen@example.com', type: 'work' },
          { value: 'babs@jensen.org', type: 'home' },
          { value: 'new@example.com', type: 'other', primary: true },
        ],
      }),
    },
    {
      name: 'setting primary through a filter clears it on the others',
      operations: [{ op: 'replace', path: 'emails[type eq "home"].primary', value: 'True' }],
      expected: user({
        emails: [
          { value: 'bjensen@example.com', type: 'work' },
          { value: 'babs@jensen.org', type: 'home', primary: true },
        ],
      }),
    },
    {
      name: 'replacing an element with a primary one clears the others',
      operations: [{ op: 'replace', path: 'emails[type eq "home"]', value: { value: 'babs@jensen.org', type: 'home', primary: true } }],
      expected: user({
        emails: [
          { value: 'bjensen@example.com', type: 'work' },
          { value: 'babs@jensen.org', type: 'home', primary: true },
        ],
      }),
    },
    {
      name: 'a created element that is primary clears the others',
      operations: [{ op: 'add', path: 'emails[type eq "other" and primary eq true].value', value: 'o@example.com' }],
      expected: user({
        emails: [
          { value: 'bjensen@example.com', type: 'work' },
          { value: 'babs@jensen.org', type: 'home' },
          { type: 'other', primary: true, value: 'o@example.com' },
        ],
      }),
    },
    {
      name: 'primary false leaves the others alone',
      operations: [{ op: 'replace', path: 'emails[type eq "home"].primary', value: false }],
      expected: user({
        emails: [
          { value: 'bjensen@example.com', type: 'work', primary: true },
          { value: 'babs@jensen.org', type: 'home', primary: false },
        ],
      }),
    },
    {
      name: 'two primaries in one value are refused',
      operations: [{ op: 'replace', path: 'emails', value: [{ value: 'a@x.org', primary: true }, { value: 'b@x.org', primary: true }] }],
      error: { scimType: 'invalidValue', detail: /^operation 1: 'emails' has 2 values with primary true/ },
    },
    {
      name: 'a filter setting primary on two elements is refused',
      source: user({ phoneNumbers: [{ value: '1', type: 'work' }, { value: '2', type: 'work' }] }),
      operations: [{ op: 'add', path: 'phoneNumbers[type eq "work"].primary', value: true }],
      error: { scimType: 'invalidValue', detail: /^operation 1: 'phoneNumbers' has 2 values with primary true/ },
    },
  ]);
});

t.test('enterprise extension and schemas', async (t) => {
  const withEnt = user({ schemas: [CORE, ENT], [ENT]: { department: 'Tour Operations', costCenter: '4130' } });
  run(t, [
    {
      name: 'adding an extension attribute adds the URN to schemas',
      operations: [{ op: 'add', path: `${ENT}:department`, value: 'Sales' }],
      expected: user({ schemas: [CORE, ENT], [ENT]: { department: 'Sales' } }),
    },
    {
      name: 'removing the last extension attribute removes the object and the URN',
      source: user({ schemas: [CORE, ENT], [ENT]: { department: 'Sales' } }),
      operations: [{ op: 'remove', path: `${ENT}:department` }],
      expected: BASE,
    },
    {
      name: 'removing one of several keeps the URN',
      source: withEnt,
      operations: [{ op: 'remove', path: `${ENT}:department` }],
      expected: user({ [ENT]: { costCenter: '4130' } }, withEnt),
    },
    {
      name: 'remove of an absent extension attribute changes nothing',
      operations: [{ op: 'remove', path: `${ENT}:department` }],
      expected: BASE,
      changed: false,
    },
    {
      name: 'the extension URN as a path with an object value',
      operations: [{ op: 'add', path: ENT, value: { department: 'Sales', Division: 'West' } }],
      expected: user({ schemas: [CORE, ENT], [ENT]: { department: 'Sales', division: 'West' } }),
    },
    {
      name: 'remove with the extension URN as the path removes the extension',
      source: withEnt,
      operations: [{ op: 'remove', path: ENT }],
      expected: BASE,
    },
    {
      name: 'path-less add keyed by the extension URN',
      operations: [{ op: 'add', value: { [ENT]: { employeeNumber: '701984' } } }],
      expected: user({ schemas: [CORE, ENT], [ENT]: { employeeNumber: '701984' } }),
    },
    {
      name: 'path-less replace keyed by the core URN',
      operations: [{ op: 'replace', value: { [CORE]: { displayName: 'B' } } }],
      expected: user({ displayName: 'B' }),
    },
    {
      name: 'the extension URN in a different case still lands under the canonical key',
      operations: [{ op: 'add', path: `${ENT.toLowerCase()}:DEPARTMENT`, value: 'Sales' }],
      expected: user({ schemas: [CORE, ENT], [ENT]: { department: 'Sales' } }),
    },
    {
      name: 'a URN listed in schemas without data is left alone when the extension is not touched',
      source: user({ schemas: [CORE, ENT] }),
      operations: [{ op: 'replace', path: 'title', value: 'x' }],
      expected: user({ schemas: [CORE, ENT], title: 'x' }),
    },
    {
      name: 'schemas echoed in a path-less value are ignored',
      operations: [{ op: 'replace', value: { schemas: [CORE], displayName: 'B' } }],
      expected: user({ displayName: 'B' }),
    },
  ]);
});

t.test('operations apply in order', async (t) => {
  run(t, [
    {
      name: 'a later operation sees an earlier one',
      operations: [
        { op: 'add', path: 'title', value: 'A' },
        { op: 'replace', path: 'title', value: 'B' },
        { op: 'add', path: 'nickName', value: 'C' },
        { op: 'remove', path: 'nickName' },
      ],
      expected: user({ title: 'B' }),
    },
    {
      name: 'remove and re-add leaves the resource as it was',
      operations: [
        { op: 'remove', path: 'emails[type eq "home"]' },
        { op: 'add', path: 'emails', value: [{ value: 'babs@jensen.org', type: 'home' }] },
      ],
      expected: BASE,
      changed: false,
    },
    {
      name: 'a failing operation leaves nothing applied',
      operations: [
        { op: 'replace', path: 'title', value: 'A' },
        { op: 'remove', path: 'userName' },
      ],
      error: { scimType: 'mutability', detail: /^operation 2: 'userName' is required/ },
    },
  ]);
});

t.test('password (writeOnly) is returned, never stored', async (t) => {
  run(t, [
    {
      name: 'replace of password',
      operations: [{ op: 'replace', path: 'password', value: 't1meMa$heen' }],
      expected: BASE,
      password: 't1meMa$heen',
      changed: false,
    },
    {
      name: 'path-less add with a password and other attributes; the last password wins',
      operations: [
        { op: 'add', value: { password: 'first', title: 'x' } },
        { op: 'Replace', path: 'PASSWORD', value: 'second' },
      ],
      expected: user({ title: 'x' }),
      password: 'second',
    },
    {
      name: 'remove of password is refused',
      operations: [{ op: 'remove', path: 'password' }],
      error: { scimType: 'mutability', detail: /^operation 1: 'password' is writeOnly/ },
    },
    {
      name: 'clearing password is refused',
      operations: [{ op: 'replace', path: 'password', value: '' }],
      error: { scimType: 'mutability', detail: /^operation 1: 'password' is writeOnly/ },
    },
    {
      name: 'a password of the wrong type',
      operations: [{ op: 'replace', path: 'password', value: 42 }],
      error: { scimType: 'invalidValue', detail: /^operation 1: 'password' must be a string/ },
    },
  ]);
});
