/**
 * Every error of the PATCH engine: the scimType, a detail naming the operation (counted from 1) and the path, and
 * the input resource left untouched.
 */
import t, { Test } from 'tap';
import { isScimError } from '../../../src/scim/errors';
import { applyPatch } from '../../../src/scim/patch';
import type { ScimResource } from '../../../src/scim/resource';
import { ResourceSchema, SchemaDefinition, SchemaRegistry, SCHEMA_URNS } from '../../../src/scim/schema';

const registry = SchemaRegistry.fromDirectory();
const users = registry.resourceSchema('User');
const CORE = SCHEMA_URNS.user;
const ENT = SCHEMA_URNS.enterpriseUser;
const PATCH_OP = SCHEMA_URNS.patchOp;

const BASE: ScimResource = {
  schemas: [CORE, ENT],
  id: '2819c223-7f76-453a-919d-413861904646',
  userName: 'bjensen',
  name: { givenName: 'Barbara', familyName: 'Jensen' },
  emails: [
    { value: 'bjensen@example.com', type: 'work', primary: true },
    { value: 'babs@jensen.org', type: 'home' },
  ],
  roles: [{ value: 'admin' }, { value: 'user' }],
  groups: [{ value: 'g1', display: 'Group 1' }],
  [ENT]: { employeeNumber: '701984', manager: { value: 'm1', displayName: 'Boss' } },
  meta: { resourceType: 'User', created: '2026-01-01T00:00:00Z', lastModified: '2026-01-02T00:00:00Z', version: 'W/"1"' },
};

interface ErrorCase {
  name: string;
  source?: ScimResource;
  body?: unknown;
  operations?: unknown[];
  scimType: string;
  detail: RegExp;
}

function run(t: Test, schema: ResourceSchema, cases: ErrorCase[]): void {
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const source = c.source ?? BASE;
      const snapshot = structuredClone(source);
      try {
        applyPatch(schema, source, c.body ?? { schemas: [PATCH_OP], Operations: c.operations });
        t.fail(`expected ${c.scimType}`);
      } catch (e) {
        t.ok(isScimError(e), 'a ScimError');
        if (isScimError(e)) {
          t.equal(e.status, 400, 'status');
          t.equal(e.scimType, c.scimType, 'scimType');
          t.match(e.detail, c.detail, 'detail');
        }
      }
      t.strictSame(source, snapshot, 'source unchanged');
    });
  }
}

const title = { op: 'replace', path: 'title', value: 'first' };

t.test('invalidSyntax: the envelope', async (t) => {
  run(t, users, [
    { name: 'body not an object', body: 'x', scimType: 'invalidSyntax', detail: /must be a JSON object/ },
    { name: 'no PatchOp schema', body: { schemas: [], Operations: [title] }, scimType: 'invalidSyntax', detail: /"schemas" must contain/ },
    { name: 'no operations', body: { schemas: [PATCH_OP], Operations: [] }, scimType: 'invalidSyntax', detail: /"Operations" must be a non-empty array/ },
    { name: 'op unknown', operations: [title, { op: 'copy', path: 'title' }], scimType: 'invalidSyntax', detail: /^operation 2: "op" must be add, replace or remove/ },
    { name: 'op missing', operations: [{ path: 'title', value: 'x' }], scimType: 'invalidSyntax', detail: /^operation 1: "op" must be/ },
    { name: 'operation not an object', operations: [title, null], scimType: 'invalidSyntax', detail: /^operation 2: must be an object/ },
    { name: 'path a number', operations: [{ op: 'add', path: 1, value: 'x' }], scimType: 'invalidSyntax', detail: /^operation 1: "path" must be a string/ },
    {
      name: 'unknown sub-attribute inside a complex value',
      operations: [{ op: 'add', path: 'name', value: { givenName: 'B', nickname: 'x' } }],
      scimType: 'invalidSyntax',
      detail: /^operation 1: 'name' has no sub-attribute 'nickname'/,
    },
  ]);
});

t.test('invalidPath', async (t) => {
  run(t, users, [
    { name: 'unknown attribute', operations: [title, { op: 'add', path: 'jobTitle', value: 'x' }], scimType: 'invalidPath', detail: /^operation 2: path 'jobTitle': no attribute 'jobTitle'/ },
    { name: 'unknown sub-attribute', operations: [{ op: 'replace', path: 'name.nickname', value: 'x' }], scimType: 'invalidPath', detail: /^operation 1: path 'name\.nickname': attribute 'name' has no sub-attribute 'nickname'/ },
    { name: 'unknown attribute on remove', operations: [{ op: 'remove', path: 'nope' }], scimType: 'invalidPath', detail: /^operation 1: path 'nope'/ },
    { name: 'core attribute under the extension URN', operations: [{ op: 'add', path: `${ENT}:title`, value: 'x' }], scimType: 'invalidPath', detail: /no attribute 'title' in urn:ietf:params:scim:schemas:extension:enterprise:2\.0:User/ },
    { name: 'unknown schema URN', operations: [{ op: 'add', path: 'urn:example:custom:1.0:User:title', value: 'x' }], scimType: 'invalidPath', detail: /unknown schema/ },
    { name: 'malformed path', operations: [{ op: 'add', path: 'name.', value: 'x' }], scimType: 'invalidPath', detail: /^operation 1: path 'name\.' is malformed/ },
    { name: 'empty path', operations: [{ op: 'remove', path: '' }], scimType: 'invalidPath', detail: /^operation 1: path is empty/ },
    { name: 'unclosed filter', operations: [{ op: 'remove', path: 'emails[type eq "work"' }], scimType: 'invalidPath', detail: /unclosed/ },
    { name: 'unknown sub-attribute after a filter', operations: [{ op: 'replace', path: 'emails[type eq "work"].address', value: 'x' }], scimType: 'invalidPath', detail: /'emails' has no sub-attribute 'address'/ },
    { name: 'unknown key in a path-less value', operations: [{ op: 'replace', value: { displayName: 'x', jobTitle: 'y' } }], scimType: 'invalidPath', detail: /^operation 1: path 'jobTitle': no attribute 'jobTitle'/ },
    { name: 'unknown key in an extension object', operations: [{ op: 'replace', value: { [ENT]: { department: 'x', title: 'y' } } }], scimType: 'invalidPath', detail: /no attribute 'title' in urn:ietf:params:scim:schemas:extension:enterprise:2\.0:User/ },
    { name: 'remove of the core schema', operations: [{ op: 'remove', path: CORE }], scimType: 'invalidPath', detail: /the core schema cannot be removed/ },
  ]);
});

t.test('invalidFilter', async (t) => {
  run(t, users, [
    { name: 'filter on a singular attribute', operations: [{ op: 'replace', path: 'title[value eq "x"]', value: 'y' }], scimType: 'invalidFilter', detail: /^operation 1: path 'title\[value eq "x"\]': 'title' is not multi-valued/ },
    { name: 'filter on a singular complex attribute', operations: [{ op: 'remove', path: 'name[givenName eq "x"]' }], scimType: 'invalidFilter', detail: /'name' is not multi-valued/ },
    { name: 'filter on the manager', operations: [{ op: 'remove', path: `${ENT}:manager[value eq "m1"]` }], scimType: 'invalidFilter', detail: /'manager' is not multi-valued/ },
    { name: 'malformed filter', operations: [{ op: 'remove', path: 'emails[type eq]' }], scimType: 'invalidFilter', detail: /^operation 1: path 'emails\[type eq\]'/ },
    { name: 'unknown attribute in a filter', operations: [{ op: 'remove', path: 'emails[kind eq "work"]' }], scimType: 'invalidFilter', detail: /^operation 1: path 'emails\[kind eq "work"\]'/ },
    { name: 'empty filter', operations: [{ op: 'remove', path: 'emails[ ]' }], scimType: 'invalidFilter', detail: /empty value filter/ },
  ]);
});

t.test('noTarget', async (t) => {
  run(t, users, [
    { name: 'remove without a path (RFC 7644 §3.5.2.2)', operations: [{ op: 'remove' }], scimType: 'noTarget', detail: /^operation 1: remove needs a "path"/ },
    {
      name: 'replace of a sub-attribute through a filter without a type equality that matches nothing',
      operations: [title, { op: 'replace', path: 'emails[value eq "nobody@example.com"].display', value: 'x' }],
      scimType: 'noTarget',
      detail: /^operation 2: path 'emails\[value eq "nobody@example\.com"\]\.display' matched no value/,
    },
    {
      name: 'replace of a whole element through a non-equality filter that matches nothing',
      operations: [{ op: 'replace', path: 'emails[value co "nobody"]', value: { value: 'x@example.com' } }],
      scimType: 'noTarget',
      detail: /matched no value/,
    },
    {
      name: 'a type filter or-ed with another cannot create',
      operations: [{ op: 'add', path: 'phoneNumbers[type eq "work" or type eq "home"].value', value: '1' }],
      scimType: 'noTarget',
      detail: /matched no value/,
    },
    {
      name: 'a type filter with a non-equality cannot create',
      operations: [{ op: 'add', path: 'phoneNumbers[type eq "work" and value sw "+1"].value', value: '1' }],
      scimType: 'noTarget',
      detail: /matched no value/,
    },
    {
      name: 'add through a filter on value that matches nothing',
      operations: [{ op: 'add', path: 'roles[value eq "nope"].display', value: 'x' }],
      scimType: 'noTarget',
      detail: /^operation 1: path 'roles\[value eq "nope"\]\.display' matched no value/,
    },
    {
      name: 'attr.sub of a multi-valued attribute with no values',
      operations: [{ op: 'replace', path: 'phoneNumbers.display', value: 'x' }],
      scimType: 'noTarget',
      detail: /^operation 1: path 'phoneNumbers\.display' matched no value/,
    },
  ]);
});

t.test('mutability: readOnly', async (t) => {
  run(t, users, [
    { name: 'replace id', operations: [{ op: 'replace', path: 'id', value: 'other' }], scimType: 'mutability', detail: /^operation 1: path 'id' targets 'id', which is readOnly/ },
    { name: 'replace id with the same value by path', operations: [{ op: 'replace', path: 'id', value: BASE.id }], scimType: 'mutability', detail: /path 'id' targets 'id', which is readOnly/ },
    { name: 'remove id', operations: [title, { op: 'remove', path: 'id' }], scimType: 'mutability', detail: /^operation 2: path 'id' targets 'id', which is readOnly/ },
    { name: 'replace meta', operations: [{ op: 'replace', path: 'meta', value: { version: 'W/"9"' } }], scimType: 'mutability', detail: /path 'meta' targets 'meta', which is readOnly/ },
    { name: 'replace meta.created', operations: [{ op: 'replace', path: 'meta.created', value: '2020-01-01T00:00:00Z' }], scimType: 'mutability', detail: /path 'meta\.created' targets 'meta', which is readOnly/ },
    { name: 'add groups', operations: [{ op: 'add', path: 'groups', value: [{ value: 'g2' }] }], scimType: 'mutability', detail: /path 'groups' targets 'groups', which is readOnly/ },
    { name: 'remove groups', operations: [{ op: 'remove', path: 'groups[value eq "g1"]' }], scimType: 'mutability', detail: /path 'groups\[value eq "g1"\]' targets 'groups', which is readOnly/ },
    { name: 'manager.displayName', operations: [{ op: 'replace', path: `${ENT}:manager.displayName`, value: 'x' }], scimType: 'mutability', detail: /targets 'manager\.displayName', which is readOnly/ },
    {
      name: 'path-less replace with a different id',
      operations: [{ op: 'replace', value: { id: 'another-id', displayName: 'x' } }],
      scimType: 'mutability',
      detail: /^operation 1: attribute 'id' is readOnly; the value given differs from the current one/,
    },
    {
      name: 'path-less id differing only in case (id is caseExact)',
      operations: [{ op: 'replace', value: { id: BASE.id.toUpperCase() } }],
      scimType: 'mutability',
      detail: /attribute 'id' is readOnly/,
    },
  ]);
});

t.test('mutability: required', async (t) => {
  run(t, users, [
    { name: 'remove userName', operations: [{ op: 'remove', path: 'userName' }], scimType: 'mutability', detail: /^operation 1: 'userName' is required and cannot be removed/ },
    { name: 'replace userName with ""', operations: [{ op: 'Replace', path: 'UserName', value: '' }], scimType: 'mutability', detail: /'userName' is required/ },
    { name: 'replace userName with null, path-less', operations: [{ op: 'replace', value: { userName: null } }], scimType: 'mutability', detail: /'userName' is required/ },
    { name: 'remove of the core-URN-qualified userName', operations: [title, { op: 'remove', path: `${CORE}:userName` }], scimType: 'mutability', detail: /^operation 2: 'userName' is required/ },
  ]);
});

t.test('mutability: writeOnly password', async (t) => {
  run(t, users, [
    { name: 'remove password', operations: [{ op: 'remove', path: 'password' }], scimType: 'mutability', detail: /'password' is writeOnly: it can be replaced but not removed/ },
    { name: 'password null', operations: [{ op: 'replace', value: { password: null } }], scimType: 'mutability', detail: /'password' is writeOnly/ },
  ]);
});

t.test('mutability: immutable (on a schema variant: employeeNumber, name.givenName and roles.value immutable)', async (t) => {
  const core = structuredClone(users.core) as SchemaDefinition;
  const name = core.attributes.find((a) => a.name === 'name')!;
  name.subAttributes!.find((s) => s.name === 'givenName')!.mutability = 'immutable';
  const roles = core.attributes.find((a) => a.name === 'roles')!;
  roles.subAttributes!.find((s) => s.name === 'value')!.mutability = 'immutable';
  const ent = structuredClone(users.extensions[0]!.schema) as SchemaDefinition;
  ent.attributes.find((a) => a.name === 'employeeNumber')!.mutability = 'immutable';
  const variant = new ResourceSchema(users.type, core, [{ schema: ent, required: false }], users.common);

  // What immutable allows: "a client MAY "add" a value to an "immutable" attribute if the attribute had no
  // previous value"; elements carrying an immutable sub-attribute may be added and removed.
  const allowed: { name: string; source: ScimResource; operations: unknown[]; expected: ScimResource }[] = [
    {
      name: 'add employeeNumber when absent',
      source: { ...BASE, [ENT]: { department: 'x' } },
      operations: [{ op: 'add', path: `${ENT}:employeeNumber`, value: '1' }],
      expected: { ...BASE, [ENT]: { department: 'x', employeeNumber: '1' } },
    },
    {
      name: 'replace employeeNumber with the same value',
      source: BASE,
      operations: [{ op: 'replace', path: `${ENT}:employeeNumber`, value: '701984' }],
      expected: BASE,
    },
    {
      name: 'add and remove roles elements',
      source: BASE,
      operations: [
        { op: 'add', path: 'roles', value: [{ value: 'new' }] },
        { op: 'remove', path: 'roles[value eq "admin"]' },
      ],
      expected: { ...BASE, roles: [{ value: 'user' }, { value: 'new' }] },
    },
    {
      name: 'change another sub-attribute of a roles element',
      source: BASE,
      operations: [{ op: 'replace', path: 'roles[value eq "admin"].display', value: 'Admin' }],
      expected: { ...BASE, roles: [{ value: 'admin', display: 'Admin' }, { value: 'user' }] },
    },
    {
      name: 'set name.givenName when absent',
      source: { ...BASE, name: { familyName: 'Jensen' } },
      operations: [{ op: 'add', path: 'name.givenName', value: 'Barbara' }],
      expected: { ...BASE, name: { familyName: 'Jensen', givenName: 'Barbara' } },
    },
  ];
  for (const c of allowed) {
    t.test(c.name, async (t) => {
      const snapshot = structuredClone(c.source);
      const r = applyPatch(variant, c.source, { schemas: [PATCH_OP], Operations: c.operations });
      t.strictSame(r.resource, c.expected);
      t.strictSame(c.source, snapshot);
    });
  }

  run(t, variant, [
    { name: 'replace employeeNumber', operations: [{ op: 'replace', path: `${ENT}:employeeNumber`, value: '2' }], scimType: 'mutability', detail: /^operation 1: 'urn:ietf:params:scim:schemas:extension:enterprise:2\.0:User:employeeNumber' is immutable/ },
    { name: 'add employeeNumber when present', operations: [{ op: 'add', value: { [ENT]: { employeeNumber: '2' } } }], scimType: 'mutability', detail: /employeeNumber' is immutable/ },
    { name: 'remove employeeNumber', operations: [title, { op: 'remove', path: `${ENT}:employeeNumber` }], scimType: 'mutability', detail: /^operation 2: .*employeeNumber' is immutable/ },
    { name: 'remove the extension holding it', operations: [{ op: 'remove', path: ENT }], scimType: 'mutability', detail: /employeeNumber' is immutable/ },
    { name: 'replace name.givenName', operations: [{ op: 'replace', path: 'name.givenName', value: 'Babs' }], scimType: 'mutability', detail: /^operation 1: 'name\.givenName' is immutable/ },
    { name: 'replace name merging a new givenName', operations: [{ op: 'replace', path: 'name', value: { givenName: 'Babs' } }], scimType: 'mutability', detail: /'name\.givenName' is immutable/ },
    { name: 'change roles.value in place', operations: [{ op: 'replace', path: 'roles[value eq "admin"].value', value: 'root' }], scimType: 'mutability', detail: /^operation 1: path 'roles\[value eq "admin"\]\.value' would change 'roles\.value', which is immutable/ },
    { name: 'replace a roles element in place', operations: [{ op: 'replace', path: 'roles[value eq "admin"]', value: { value: 'root' } }], scimType: 'mutability', detail: /would change 'roles\.value'/ },
    { name: 'remove roles.value from an element', operations: [{ op: 'remove', path: 'roles[value eq "admin"].value' }], scimType: 'mutability', detail: /would change 'roles\.value'/ },
  ]);
});

t.test('invalidValue: types and canonical values', async (t) => {
  run(t, users, [
    { name: 'boolean not a boolean', operations: [{ op: 'replace', path: 'active', value: 'yes' }], scimType: 'invalidValue', detail: /^operation 1: 'active' must be a boolean, got "yes"/ },
    { name: 'boolean as a number', operations: [title, { op: 'replace', value: { active: 1 } }], scimType: 'invalidValue', detail: /^operation 2: 'active' must be a boolean/ },
    { name: 'string as a number', operations: [{ op: 'add', path: 'displayName', value: 42 }], scimType: 'invalidValue', detail: /'displayName' must be a string, got number/ },
    { name: 'string as an object', operations: [{ op: 'add', path: 'nickName', value: { value: 'x' } }], scimType: 'invalidValue', detail: /'nickName' must be a string, got object/ },
    { name: 'singular as an array of two', operations: [{ op: 'add', path: 'title', value: ['a', 'b'] }], scimType: 'invalidValue', detail: /'title' is single-valued but got an array of 2/ },
    { name: 'complex as a string', operations: [{ op: 'replace', path: 'name', value: 'Barbara' }], scimType: 'invalidValue', detail: /'name' must be an object/ },
    { name: 'email type not canonical', operations: [{ op: 'add', path: 'emails', value: [{ value: 'x@example.com', type: 'office' }] }], scimType: 'invalidValue', detail: /'emails\[0\]\.type' must be one of "work", "home", "other"/ },
    { name: 'filtered type not canonical, when creating', operations: [{ op: 'add', path: 'emails[type eq "office"].value', value: 'x@example.com' }], scimType: 'invalidValue', detail: /\.type' must be one of "work", "home", "other"/ },
    { name: 'filtered sub-attribute of the wrong type', operations: [{ op: 'replace', path: 'emails[type eq "work"].primary', value: 'maybe' }], scimType: 'invalidValue', detail: /'emails\[type eq "work"\]\.primary' must be a boolean/ },
    { name: 'filtered element as a bare value of the wrong type', operations: [{ op: 'replace', path: 'emails[type eq "work"]', value: true }], scimType: 'invalidValue', detail: /'emails\[type eq "work"\]\.value' must be a string, got boolean/ },
    { name: 'filtered element as an array of two', operations: [{ op: 'replace', path: 'emails[type eq "work"]', value: [{}, {}] }], scimType: 'invalidValue', detail: /is single-valued but got an array of 2/ },
    { name: 'filtered element replaced with only readOnly or empty sub-attributes', operations: [{ op: 'replace', path: 'emails[type eq "work"]', value: { value: '' } }], scimType: 'invalidValue', detail: /gives no sub-attribute to set/ },
    { name: 'binary malformed', operations: [{ op: 'replace', path: 'x509Certificates', value: [{ value: '%%%' }] }], scimType: 'invalidValue', detail: /base64/ },
    { name: 'extension object not an object', operations: [{ op: 'replace', value: { [ENT]: 'Sales' } }], scimType: 'invalidValue', detail: /'urn:ietf:params:scim:schemas:extension:enterprise:2\.0:User' must be an object/ },
    { name: 'extension path with a string value', operations: [{ op: 'add', path: ENT, value: 'Sales' }], scimType: 'invalidValue', detail: /must be an object/ },
    { name: 'two primaries', operations: [{ op: 'add', path: 'emails', value: [{ value: 'a@x.org', primary: true }, { value: 'b@x.org', primary: 'true' }] }], scimType: 'invalidValue', detail: /has 2 values with primary true/ },
    { name: 'add without value', operations: [{ op: 'add', path: 'title' }], scimType: 'invalidValue', detail: /^operation 1: add needs a "value"/ },
  ]);
});
