/**
 * What Entra ID and Okta really send (../shared/CLIENTS.md), and job-information updates (title, department,
 * costCenter, employeeNumber, division, organization, manager) through every path form.
 */
import t, { Test } from 'tap';
import { PatchCase, runPatchCases } from './harness';
import type { ScimResource } from '../../../src/scim/resource';
import { SchemaRegistry, SCHEMA_URNS } from '../../../src/scim/schema';
import type { JsonObject } from '../../../src/scim/values';

const users = SchemaRegistry.fromDirectory().resourceSchema('User');
const CORE = SCHEMA_URNS.user;
const ENT = SCHEMA_URNS.enterpriseUser;
const MANAGER_ID = '26118915-6090-4610-87e4-49d8ca9f808d';
const OTHER_MANAGER_ID = 'b1e2c3d4-0000-4000-8000-000000000001';

const BASE: ScimResource = {
  schemas: [CORE],
  id: '2819c223-7f76-453a-919d-413861904646',
  externalId: '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef',
  userName: 'Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1',
  name: { givenName: 'Barbara', familyName: 'Jensen', formatted: 'Barbara Jensen' },
  displayName: 'Barbara Jensen',
  active: true,
  emails: [{ value: 'Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com', type: 'work', primary: true }],
  meta: { resourceType: 'User', created: '2026-01-01T00:00:00Z', lastModified: '2026-01-02T00:00:00Z', version: 'W/"3"' },
};

/** BASE with top-level keys replaced; an undefined value removes the key. */
function user(changes: Record<string, unknown> = {}, from: ScimResource = BASE): ScimResource {
  const out = structuredClone(from) as Record<string, unknown>;
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete out[k];
    else out[k] = structuredClone(v);
  }
  return out as ScimResource;
}

/** BASE with the enterprise extension holding `ext` (and its URN in schemas). */
function enterprise(ext: JsonObject, from: ScimResource = BASE): ScimResource {
  return user({ schemas: [CORE, ENT], [ENT]: ext }, from);
}

const run = (t: Test, cases: PatchCase[]): void => runPatchCases(t, users, BASE, cases);

t.test('Microsoft Entra ID', async (t) => {
  run(t, [
    {
      name: 'capitalised ops and a boolean as a string: Replace active "False"',
      operations: [{ op: 'Replace', path: 'active', value: 'False' }],
      expected: user({ active: false }),
    },
    {
      name: 'attribute names in any case',
      operations: [
        { op: 'Replace', path: 'UserName', value: 'Barbara@contoso.com' },
        { op: 'Replace', path: 'Active', value: 'True' },
        { op: 'Add', path: 'NAME.FAMILYNAME', value: 'Jensen-Smith' },
      ],
      expected: user({ userName: 'Barbara@contoso.com', name: { givenName: 'Barbara', familyName: 'Jensen-Smith', formatted: 'Barbara Jensen' } }),
    },
    {
      name: 'Microsoft documentation sample: work email and family name',
      operations: [
        { op: 'Replace', path: 'emails[type eq "work"].value', value: 'updatedEmail@microsoft.com' },
        { op: 'Replace', path: 'name.familyName', value: 'updatedFamilyName' },
      ],
      expected: user({
        emails: [{ value: 'updatedEmail@microsoft.com', type: 'work', primary: true }],
        name: { givenName: 'Barbara', familyName: 'updatedFamilyName', formatted: 'Barbara Jensen' },
      }),
    },
    {
      name: 'path-less replace with plain, dotted and URN-qualified keys',
      operations: [{ op: 'replace', value: { displayName: 'A', 'name.givenName': 'B', [`${ENT}:department`]: 'C' } }],
      expected: user({
        schemas: [CORE, ENT],
        displayName: 'A',
        name: { givenName: 'B', familyName: 'Jensen', formatted: 'Barbara Jensen' },
        [ENT]: { department: 'C' },
      }),
    },
    {
      name: 'employeeNumber by its colon-URN path',
      operations: [{ op: 'Add', path: `${ENT}:employeeNumber`, value: '701984' }],
      expected: enterprise({ employeeNumber: '701984' }),
    },
    {
      name: 'filtered Add that creates the element, then merges a second operation into it',
      operations: [
        { op: 'Add', path: 'addresses[type eq "work"].locality', value: 'Redmond' },
        { op: 'Add', path: 'addresses[type eq "work"].postalCode', value: '98052' },
        { op: 'Add', path: 'addresses[type eq "work"].streetAddress', value: '1 Microsoft Way' },
      ],
      expected: user({ addresses: [{ type: 'work', locality: 'Redmond', postalCode: '98052', streetAddress: '1 Microsoft Way' }] }),
    },
    {
      name: 'filtered Replace that creates the element, then merges',
      operations: [
        { op: 'Replace', path: 'addresses[type eq "work"].locality', value: 'Redmond' },
        { op: 'Replace', path: 'addresses[type eq "work"].country', value: 'US' },
        { op: 'Replace', path: 'phoneNumbers[type eq "mobile"].value', value: '+1 425 555 0100' },
        { op: 'Replace', path: 'phoneNumbers[type eq "work"].value', value: '+1 425 555 0199' },
      ],
      expected: user({
        addresses: [{ type: 'work', locality: 'Redmond', country: 'US' }],
        phoneNumbers: [
          { type: 'mobile', value: '+1 425 555 0100' },
          { type: 'work', value: '+1 425 555 0199' },
        ],
      }),
    },
    {
      name: 'filtered Add on an existing element merges into it',
      source: user({ addresses: [{ type: 'work', locality: 'Redmond' }, { type: 'home', locality: 'Seattle' }] }),
      operations: [{ op: 'Add', path: 'addresses[type eq "work"].postalCode', value: '98052' }],
      expected: user({ addresses: [{ type: 'work', locality: 'Redmond', postalCode: '98052' }, { type: 'home', locality: 'Seattle' }] }),
    },
    {
      name: 'filtered Add of an email when the user has none',
      source: user({ emails: undefined }),
      operations: [{ op: 'Add', path: 'emails[type eq "work"].value', value: 'b@contoso.com' }],
      expected: user({ emails: [{ type: 'work', value: 'b@contoso.com' }] }),
    },
    {
      name: 'Remove with a value list removes only the listed values (members pattern, on roles)',
      source: user({ roles: [{ value: 'id1' }, { value: 'id2', display: 'Two' }, { value: 'id3' }] }),
      operations: [{ op: 'Remove', path: 'roles', value: [{ value: 'id1' }, { value: 'id2' }] }],
      expected: user({ roles: [{ value: 'id3' }] }),
    },
    {
      name: 'Add with several values in one operation (members pattern, on roles)',
      source: user({ roles: [{ value: 'id1' }] }),
      operations: [{ op: 'Add', path: 'roles', value: [{ value: 'id1' }, { value: 'id2' }, { value: 'id3' }] }],
      expected: user({ roles: [{ value: 'id1' }, { value: 'id2' }, { value: 'id3' }] }),
    },
    {
      name: 'Replace with "" clears',
      source: user({ title: 'Engineer' }),
      operations: [{ op: 'Replace', path: 'title', value: '' }],
      expected: BASE,
    },
    {
      name: 'Replace with null clears',
      source: user({ nickName: 'Babs' }),
      operations: [{ op: 'Replace', path: 'nickName', value: null }],
      expected: BASE,
    },
    {
      name: 'Add of externalId and a disable in one request',
      source: user({ externalId: undefined }),
      operations: [
        { op: 'Add', path: 'externalId', value: 'ext-1' },
        { op: 'Replace', path: 'active', value: false },
      ],
      expected: user({ externalId: 'ext-1', active: false }),
    },
  ]);
});

t.test('Okta', async (t) => {
  run(t, [
    {
      name: 'deactivate: path-less replace of active',
      operations: [{ op: 'replace', value: { active: false } }],
      expected: user({ active: false }),
    },
    {
      name: 'path-less replace echoing id (and meta) with a new displayName',
      operations: [
        {
          op: 'replace',
          value: { id: BASE.id, displayName: 'New Name', meta: { resourceType: 'User', created: '2020-01-01T00:00:00Z' } },
        },
      ],
      expected: user({ displayName: 'New Name' }),
    },
    {
      name: 'path-less replace echoing groups: [] and an empty password-less body',
      operations: [{ op: 'replace', value: { groups: [], displayName: 'X' } }],
      expected: user({ displayName: 'X' }),
    },
    {
      name: 'remove by filter plus add without type (members pattern, on roles)',
      source: user({ roles: [{ value: 'r1' }, { value: 'r2' }] }),
      operations: [
        { op: 'remove', path: 'roles[value eq "r1"]' },
        { op: 'add', path: 'roles', value: [{ value: 'r3', display: 'Role 3' }] },
      ],
      expected: user({ roles: [{ value: 'r2' }, { value: 'r3', display: 'Role 3' }] }),
    },
    {
      name: 'full replace of a multi-valued attribute (members pattern, on roles)',
      source: user({ roles: [{ value: 'r1' }, { value: 'r2' }] }),
      operations: [{ op: 'replace', path: 'roles', value: [{ value: 'r9' }] }],
      expected: user({ roles: [{ value: 'r9' }] }),
    },
  ]);
});

t.test('job information: core title through every path form', async (t) => {
  const forms: { name: string; op: (v: unknown) => Record<string, unknown> }[] = [
    { name: 'path title', op: (v) => ({ op: 'replace', path: 'title', value: v }) },
    { name: 'path TITLE, Add', op: (v) => ({ op: 'Add', path: 'TITLE', value: v }) },
    { name: 'core-URN path', op: (v) => ({ op: 'Replace', path: `${CORE}:title`, value: v }) },
    { name: 'path-less key', op: (v) => ({ op: 'replace', value: { title: v } }) },
    { name: 'path-less core-URN key', op: (v) => ({ op: 'add', value: { [`${CORE}:title`]: v } }) },
    { name: 'path-less core-URN object', op: (v) => ({ op: 'replace', value: { [CORE]: { Title: v } } }) },
  ];
  const cases: PatchCase[] = [];
  for (const f of forms) {
    cases.push({ name: `set by ${f.name}`, operations: [f.op('Tour Guide')], expected: user({ title: 'Tour Guide' }) });
    cases.push({ name: `change by ${f.name}`, source: user({ title: 'Old' }), operations: [f.op('New')], expected: user({ title: 'New' }) });
    cases.push({ name: `clear with "" by ${f.name}`, source: user({ title: 'Old' }), operations: [f.op('')], expected: BASE });
    cases.push({ name: `clear with null by ${f.name}`, source: user({ title: 'Old' }), operations: [f.op(null)], expected: BASE });
    cases.push({
      name: `wrong type by ${f.name}`,
      operations: [f.op(7)],
      error: { scimType: 'invalidValue', detail: /^operation 1: '.*title' must be a string, got number/i },
    });
  }
  cases.push({ name: 'remove title', source: user({ title: 'Old' }), operations: [{ op: 'remove', path: 'title' }], expected: BASE });
  cases.push({ name: 'Remove by core-URN path', source: user({ title: 'Old' }), operations: [{ op: 'Remove', path: `${CORE}:Title` }], expected: BASE });
  run(t, cases);
});

t.test('job information: enterprise attributes through every path form', async (t) => {
  const attributes = ['department', 'costCenter', 'employeeNumber', 'division', 'organization'];
  const forms: { name: string; op: (name: string, v: unknown) => Record<string, unknown> }[] = [
    { name: 'URN path', op: (n, v) => ({ op: 'replace', path: `${ENT}:${n}`, value: v }) },
    { name: 'URN path in other case, Add', op: (n, v) => ({ op: 'Add', path: `${ENT.toUpperCase()}:${n.toLowerCase()}`, value: v }) },
    { name: 'path-less URN key', op: (n, v) => ({ op: 'Replace', value: { [`${ENT}:${n}`]: v } }) },
    { name: 'path-less extension object', op: (n, v) => ({ op: 'add', value: { [ENT]: { [n]: v } } }) },
    { name: 'extension URN as path', op: (n, v) => ({ op: 'replace', path: ENT, value: { [n]: v } }) },
  ];
  const cases: PatchCase[] = [];
  for (const a of attributes) {
    for (const f of forms) {
      cases.push({ name: `${a}: set by ${f.name}`, operations: [f.op(a, 'X-1')], expected: enterprise({ [a]: 'X-1' }) });
      cases.push({
        name: `${a}: change by ${f.name}, keeping the others`,
        source: enterprise({ [a]: 'old', organization: 'Contoso', division: 'West' }),
        operations: [f.op(a, 'new')],
        expected: enterprise({ organization: 'Contoso', division: 'West', [a]: 'new' }),
      });
      cases.push({
        name: `${a}: clear with "" by ${f.name}, the last one drops the extension`,
        source: enterprise({ [a]: 'old' }),
        operations: [f.op(a, '')],
        expected: BASE,
      });
      cases.push({
        name: `${a}: clear with null by ${f.name}`,
        source: enterprise({ [a]: 'old', manager: { value: MANAGER_ID } }),
        operations: [f.op(a, null)],
        expected: enterprise({ manager: { value: MANAGER_ID } }),
      });
      cases.push({
        name: `${a}: wrong type by ${f.name}`,
        operations: [f.op(a, { value: 'x' })],
        error: { scimType: 'invalidValue', detail: new RegExp(`^operation 1: '.*${a}' must be a string, got object`, 'i') },
      });
    }
    cases.push({
      name: `${a}: Remove by URN path`,
      source: enterprise({ [a]: 'old', department: 'Sales' }),
      operations: [{ op: 'Remove', path: `${ENT}:${a}` }],
      expected: a === 'department' ? BASE : enterprise({ department: 'Sales' }),
    });
  }
  cases.push({
    name: 'all job fields in one path-less replace',
    operations: [
      {
        op: 'replace',
        value: {
          title: 'Manager',
          [`${ENT}:department`]: 'Sales',
          [ENT]: { costCenter: '4130', employeeNumber: '701984', division: 'West', organization: 'Contoso' },
          [`${ENT}:manager`]: MANAGER_ID,
        },
      },
    ],
    expected: user(
      { title: 'Manager' },
      enterprise({
        department: 'Sales',
        costCenter: '4130',
        employeeNumber: '701984',
        division: 'West',
        organization: 'Contoso',
        manager: { value: MANAGER_ID },
      }),
    ),
  });
  cases.push({
    name: 'all job fields as separate Entra operations',
    operations: [
      { op: 'Add', path: 'title', value: 'Manager' },
      { op: 'Add', path: `${ENT}:department`, value: 'Sales' },
      { op: 'Add', path: `${ENT}:costCenter`, value: '4130' },
      { op: 'Add', path: `${ENT}:employeeNumber`, value: '701984' },
      { op: 'Add', path: `${ENT}:division`, value: 'West' },
      { op: 'Add', path: `${ENT}:organization`, value: 'Contoso' },
      { op: 'Add', path: `${ENT}:manager`, value: { value: MANAGER_ID } },
    ],
    expected: user(
      { title: 'Manager' },
      enterprise({
        department: 'Sales',
        costCenter: '4130',
        employeeNumber: '701984',
        division: 'West',
        organization: 'Contoso',
        manager: { value: MANAGER_ID },
      }),
    ),
  });
  cases.push({
    name: 'clearing every job field at once leaves no extension',
    source: user(
      { title: 'Manager' },
      enterprise({ department: 'Sales', costCenter: '4130', employeeNumber: '1', division: 'W', organization: 'C', manager: { value: MANAGER_ID } }),
    ),
    operations: [
      { op: 'Replace', path: 'title', value: '' },
      { op: 'Remove', path: `${ENT}:department` },
      { op: 'Replace', path: `${ENT}:costCenter`, value: null },
      { op: 'replace', value: { [`${ENT}:employeeNumber`]: '', [ENT]: { division: null, organization: '' } } },
      { op: 'Replace', path: `${ENT}:manager`, value: '' },
    ],
    expected: BASE,
  });
  run(t, cases);
});

t.test('job information: manager', async (t) => {
  const M = `${ENT}:manager`;
  const withManager = enterprise({ department: 'Sales', manager: { value: MANAGER_ID } });
  const setShapes: { name: string; op: JsonObject }[] = [
    { name: '{"value": id}', op: { op: 'Add', path: M, value: { value: MANAGER_ID } } },
    { name: 'a bare id', op: { op: 'Replace', path: M, value: MANAGER_ID } },
    { name: 'a one-element array with $ref null', op: { op: 'Replace', path: M, value: [{ $ref: null, value: MANAGER_ID }] } },
    { name: 'manager.value', op: { op: 'replace', path: `${M}.value`, value: MANAGER_ID } },
    { name: 'Manager.Value in other case', op: { op: 'Add', path: `${ENT.toLowerCase()}:Manager.Value`, value: MANAGER_ID } },
    { name: 'a path-less URN key', op: { op: 'replace', value: { [M]: { value: MANAGER_ID } } } },
    { name: 'a path-less extension object', op: { op: 'add', value: { [ENT]: { manager: MANAGER_ID } } } },
    { name: 'a path-less dotted URN key', op: { op: 'replace', value: { [`${M}.value`]: MANAGER_ID } } },
    {
      name: 'an object echoing displayName (readOnly, ignored)',
      op: { op: 'replace', path: M, value: { value: MANAGER_ID, displayName: 'Boss' } },
    },
    {
      name: 'a path-less object echoing manager.displayName',
      op: { op: 'replace', value: { [M]: { value: MANAGER_ID }, [`${M}.displayName`]: 'Boss' } },
    },
  ];
  const cases: PatchCase[] = [];
  for (const s of setShapes) {
    cases.push({ name: `set by ${s.name}`, operations: [s.op], expected: enterprise({ manager: { value: MANAGER_ID } }) });
    cases.push({
      name: `set again by ${s.name} is no change`,
      source: enterprise({ manager: { value: MANAGER_ID } }),
      operations: [s.op],
      expected: enterprise({ manager: { value: MANAGER_ID } }),
      changed: false,
    });
  }
  const clearShapes: { name: string; op: JsonObject }[] = [
    { name: 'Remove with no value', op: { op: 'Remove', path: M } },
    { name: 'Remove with the old value (ignored on a singular attribute)', op: { op: 'Remove', path: M, value: [{ value: MANAGER_ID }] } },
    { name: 'Replace with ""', op: { op: 'Replace', path: M, value: '' } },
    { name: 'Replace with null', op: { op: 'Replace', path: M, value: null } },
    { name: 'Replace with {"value": ""}', op: { op: 'Replace', path: M, value: { value: '' } } },
    { name: 'Replace with [{"$ref": null, "value": null}]', op: { op: 'Replace', path: M, value: [{ $ref: null, value: null }] } },
    { name: 'remove manager.value', op: { op: 'remove', path: `${M}.value` } },
    { name: 'path-less null', op: { op: 'replace', value: { [M]: null } } },
    { name: 'path-less extension object with ""', op: { op: 'replace', value: { [ENT]: { manager: '' } } } },
  ];
  for (const s of clearShapes) {
    cases.push({ name: `clear by ${s.name}`, source: withManager, operations: [s.op], expected: enterprise({ department: 'Sales' }) });
    cases.push({
      name: `clear by ${s.name}, the last extension attribute`,
      source: enterprise({ manager: { value: MANAGER_ID, displayName: 'Boss' } }),
      operations: [s.op],
      expected: BASE,
    });
    cases.push({ name: `clear by ${s.name} when there is none`, operations: [s.op], expected: BASE, changed: false });
  }
  cases.push({
    name: 'change of manager drops the displayName computed for the old one',
    source: enterprise({ manager: { value: MANAGER_ID, displayName: 'Boss' } }),
    operations: [{ op: 'Replace', path: M, value: OTHER_MANAGER_ID }],
    expected: enterprise({ manager: { value: OTHER_MANAGER_ID } }),
  });
  cases.push({
    name: 'same manager keeps the computed displayName',
    source: enterprise({ manager: { value: MANAGER_ID, displayName: 'Boss' } }),
    operations: [{ op: 'Replace', path: M, value: { value: MANAGER_ID } }],
    expected: enterprise({ manager: { value: MANAGER_ID, displayName: 'Boss' } }),
    changed: false,
  });
  cases.push({
    name: 'set in a second request after the user exists (Entra), alongside department',
    source: enterprise({ department: 'Sales' }),
    operations: [{ op: 'Add', path: M, value: MANAGER_ID }],
    expected: withManager,
  });
  cases.push({
    name: 'manager.displayName path is readOnly',
    source: withManager,
    operations: [{ op: 'replace', path: `${M}.displayName`, value: 'Boss' }],
    error: { scimType: 'mutability', detail: /^operation 1: path '.*manager\.displayName' targets 'manager\.displayName', which is readOnly/ },
  });
  // RFC 7643 §8.7.2 makes manager.$ref readWrite: the engine keeps what the client wrote; the service derives the
  // value from it and never stores it (test/http/patch.test.ts).
  cases.push({
    name: 'manager.$ref is writable (the service turns it into the value)',
    operations: [{ op: 'add', path: `${M}.$ref`, value: 'https://example.com/Users/x' }],
    expected: enterprise({ manager: { $ref: 'https://example.com/Users/x' } }),
  });
  cases.push({
    name: 'an object with value and $ref keeps both for the service to reconcile',
    operations: [{ op: 'replace', path: M, value: { value: MANAGER_ID, $ref: `../Users/${MANAGER_ID}` } }],
    expected: enterprise({ manager: { value: MANAGER_ID, $ref: `../Users/${MANAGER_ID}` } }),
  });
  cases.push({
    name: 'manager as an array of two',
    operations: [{ op: 'replace', path: M, value: [{ value: 'a' }, { value: 'b' }] }],
    error: { scimType: 'invalidValue', detail: /^operation 1: '.*manager' is single-valued but got an array of 2/ },
  });
  cases.push({
    name: 'manager value of the wrong type',
    operations: [{ op: 'replace', path: M, value: { value: 42 } }],
    error: { scimType: 'invalidValue', detail: /^operation 1: '.*manager\.value' must be a string/ },
  });
  cases.push({
    name: 'manager as a bare number',
    operations: [{ op: 'replace', path: M, value: 42 }],
    error: { scimType: 'invalidValue', detail: /^operation 1: '.*manager\.value' must be a string/ },
  });
  cases.push({
    name: 'manager with an unknown sub-attribute',
    operations: [{ op: 'replace', path: M, value: { value: MANAGER_ID, email: 'x' } }],
    error: { scimType: 'invalidSyntax', detail: /^operation 1: '.*manager' has no sub-attribute 'email'/ },
  });
  cases.push({
    name: 'manager.value with a filter',
    operations: [{ op: 'replace', path: `${M}[value eq "x"]`, value: MANAGER_ID }],
    error: { scimType: 'invalidFilter', detail: /^operation 1: path '.*manager\[value eq "x"\]': 'manager' is not multi-valued/ },
  });
  run(t, cases);
});
