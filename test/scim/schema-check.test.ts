import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkSchemaDefinition, SchemaFileError } from '../../src/scim/schema-check';
import { SCHEMA_URNS, SCHEMAS_DIR } from '../../src/scim/schema';

const FILE = 'hr.json';
const ID = 'urn:example:schemas:extension:hr:1.0:User';
const PROFILE = 'urn:scim-server:schemas:extension:profile:1.0:User';
const BUILT_IN = new Set([SCHEMA_URNS.user, SCHEMA_URNS.group, SCHEMA_URNS.enterpriseUser, PROFILE].map((u) => u.toLowerCase()));
const reserved = { urns: BUILT_IN };

type Json = Record<string, unknown>;

/** A valid extension schema using every characteristic; each broken case is one mutation of a fresh copy. */
function base(): Json {
  return {
    schemas: [SCHEMA_URNS.schema],
    id: ID,
    name: 'HrUser',
    description: 'HR data of a user',
    attributes: [
      { name: 'hireDate', type: 'dateTime', description: 'First day at work.' },
      { name: 'grade', type: 'string', canonicalValues: ['junior', 'senior'] },
      {
        name: 'mentor',
        type: 'complex',
        subAttributes: [
          { name: 'value', type: 'string', caseExact: true },
          { name: '$ref', type: 'reference', referenceTypes: ['User'] },
          { name: 'displayName', type: 'string', mutability: 'readOnly' },
        ],
      },
      { name: 'badge', type: 'reference', referenceTypes: ['external', 'uri'], uniqueness: 'server' },
      { name: 'pin', type: 'string', mutability: 'writeOnly', returned: 'never' },
    ],
    meta: { resourceType: 'Schema', location: `/Schemas/${ID}` },
  };
}

/** The attribute definitions of a schema copy, for mutations. */
const attrs = (s: Json) => s.attributes as Json[];
const subs = (s: Json, i: number) => attrs(s)[i]!.subAttributes as Json[];

function mutate(change: (s: Json) => void): Json {
  const s = base();
  change(s);
  return s;
}

const cases: { name: string; input: unknown; pointer: string; rule: string }[] = [
  // The document and its top-level members.
  { name: 'not an object', input: [base()], pointer: '', rule: 'a schema file must be a JSON object, not an array' },
  { name: 'unknown top-level member', input: mutate((s) => (s.version = '1')), pointer: '/version', rule: "unknown member 'version'" },
  {
    name: 'schemas naming another schema',
    input: mutate((s) => (s.schemas = [SCHEMA_URNS.user])),
    pointer: '/schemas',
    rule: `'schemas' must be ["${SCHEMA_URNS.schema}"]`,
  },
  { name: 'id missing', input: mutate((s) => delete s.id), pointer: '/id', rule: "'id' (the schema's URN) is required" },
  { name: 'id not a string', input: mutate((s) => (s.id = 7)), pointer: '/id', rule: "'id' must be a string, not the number 7" },
  {
    name: 'id not a URN',
    input: mutate((s) => (s.id = 'https://example.com/hr')),
    pointer: '/id',
    rule: "'id' must be a URN: 'urn:' then colon-separated parts, no whitespace, not ending in ':' (not 'https://example.com/hr')",
  },
  {
    name: 'id with whitespace',
    input: mutate((s) => (s.id = 'urn:example:hr user')),
    pointer: '/id',
    rule: "'id' must be a URN: 'urn:' then colon-separated parts, no whitespace, not ending in ':' (not 'urn:example:hr user')",
  },
  {
    name: 'id ending in a colon',
    input: mutate((s) => (s.id = 'urn:example:hr:')),
    pointer: '/id',
    rule: "'id' must be a URN: 'urn:' then colon-separated parts, no whitespace, not ending in ':' (not 'urn:example:hr:')",
  },
  {
    name: 'id of a built-in schema, in another case',
    input: mutate((s) => (s.id = SCHEMA_URNS.enterpriseUser.toUpperCase())),
    pointer: '/id',
    rule: `redefines the built-in schema '${SCHEMA_URNS.enterpriseUser.toUpperCase()}'`,
  },
  { name: 'name not a string', input: mutate((s) => (s.name = ['HrUser'])), pointer: '/name', rule: "'name' must be a string, not an array" },
  { name: 'schema description not a string', input: mutate((s) => (s.description = null)), pointer: '/description', rule: "'description' must be a string, not null" },
  { name: 'meta of another resource type', input: mutate((s) => ((s.meta as Json).resourceType = 'User')), pointer: '/meta/resourceType', rule: "'meta.resourceType' of a schema must be 'Schema', not 'User'" },
  { name: 'unknown meta member', input: mutate((s) => ((s.meta as Json).created = '2020-01-01T00:00:00Z')), pointer: '/meta/created', rule: "unknown meta member 'created'" },
  { name: 'attributes missing', input: mutate((s) => delete s.attributes), pointer: '/attributes', rule: "'attributes' is required" },
  { name: 'attributes empty', input: mutate((s) => (s.attributes = [])), pointer: '/attributes', rule: "'attributes' must not be empty" },
  {
    name: 'attributes an object',
    input: mutate((s) => (s.attributes = { hireDate: { type: 'dateTime' } })),
    pointer: '/attributes',
    rule: "'attributes' must be an array of attribute definitions, not an object",
  },

  // One attribute's characteristics.
  { name: 'attribute not an object', input: mutate((s) => ((attrs(s) as unknown[])[1] = 'grade')), pointer: '/attributes/1', rule: "an attribute definition must be a JSON object, not 'grade'" },
  { name: 'unknown characteristic', input: mutate((s) => (attrs(s)[0]!.mutable = false)), pointer: '/attributes/0/mutable', rule: "unknown characteristic 'mutable'" },
  {
    name: 'characteristic in the wrong case',
    input: mutate((s) => (attrs(s)[0]!.MultiValued = true)),
    pointer: '/attributes/0/MultiValued',
    rule: "unknown characteristic 'MultiValued' (names of characteristics are case-sensitive here: 'multiValued')",
  },
  { name: 'unknown characteristic needing pointer escapes', input: mutate((s) => (attrs(s)[0]!['a/b~c'] = 1)), pointer: '/attributes/0/a~1b~0c', rule: "unknown characteristic 'a/b~c'" },
  { name: 'name missing', input: mutate((s) => delete attrs(s)[3]!.name), pointer: '/attributes/3/name', rule: "'name' is required" },
  {
    name: 'name with a space',
    input: mutate((s) => (attrs(s)[0]!.name = 'hire date')),
    pointer: '/attributes/0/name',
    rule: "'hire date' is not an attribute name: a letter, then letters, digits, '-' or '_' (RFC 7643 §2.1 ATTRNAME)",
  },
  {
    name: 'name starting with a digit',
    input: mutate((s) => (attrs(s)[0]!.name = '1stDay')),
    pointer: '/attributes/0/name',
    rule: "'1stDay' is not an attribute name: a letter, then letters, digits, '-' or '_' (RFC 7643 §2.1 ATTRNAME)",
  },
  {
    name: '$ref at the top level',
    input: mutate((s) => (attrs(s)[3]!.name = '$ref')),
    pointer: '/attributes/3/name',
    rule: "'$ref' is not an attribute name: a letter, then letters, digits, '-' or '_' (RFC 7643 §2.1 ATTRNAME)",
  },
  {
    name: 'common attribute name',
    input: mutate((s) => (attrs(s)[1]!.name = 'externalId')),
    pointer: '/attributes/1/name',
    rule: "'externalId' is a common attribute of every resource (RFC 7643 §3.1), defined by no schema; choose another name",
  },
  {
    name: 'common attribute name in another case',
    input: mutate((s) => (attrs(s)[1]!.name = 'ID')),
    pointer: '/attributes/1/name',
    rule: "'ID' is a common attribute of every resource (RFC 7643 §3.1), defined by no schema; choose another name",
  },
  {
    name: 'duplicate name in another case',
    input: mutate((s) => attrs(s).push({ name: 'HireDate', type: 'string' })),
    pointer: '/attributes/5/name',
    rule: "duplicate attribute name 'HireDate' (names are case-insensitive; also at /attributes/0)",
  },
  { name: 'type missing', input: mutate((s) => delete attrs(s)[0]!.type), pointer: '/attributes/0/type', rule: "'type' is required" },
  {
    name: 'type unknown',
    input: mutate((s) => (attrs(s)[0]!.type = 'int')),
    pointer: '/attributes/0/type',
    rule: "'type' must be one of string, boolean, decimal, integer, dateTime, reference, complex, binary, not 'int'",
  },
  {
    name: 'type in the wrong case',
    input: mutate((s) => (attrs(s)[0]!.type = 'DateTime')),
    pointer: '/attributes/0/type',
    rule: "'type' must be one of string, boolean, decimal, integer, dateTime, reference, complex, binary, not 'DateTime'",
  },
  { name: 'multiValued a string', input: mutate((s) => (attrs(s)[0]!.multiValued = 'yes')), pointer: '/attributes/0/multiValued', rule: "'multiValued' must be true or false, not 'yes'" },
  { name: 'required a number', input: mutate((s) => (attrs(s)[0]!.required = 1)), pointer: '/attributes/0/required', rule: "'required' must be true or false, not the number 1" },
  { name: 'caseExact a string', input: mutate((s) => (attrs(s)[1]!.caseExact = 'true')), pointer: '/attributes/1/caseExact', rule: "'caseExact' must be true or false, not 'true'" },
  { name: 'attribute description not a string', input: mutate((s) => (attrs(s)[0]!.description = 5)), pointer: '/attributes/0/description', rule: "'description' must be a string, not the number 5" },
  {
    name: 'mutability misspelt',
    input: mutate((s) => (attrs(s)[0]!.mutability = 'readonly')),
    pointer: '/attributes/0/mutability',
    rule: "'mutability' must be one of readOnly, readWrite, immutable, writeOnly, not 'readonly'",
  },
  {
    name: 'returned unknown',
    input: mutate((s) => (attrs(s)[0]!.returned = 'sometimes')),
    pointer: '/attributes/0/returned',
    rule: "'returned' must be one of always, never, default, request, not 'sometimes'",
  },
  {
    name: 'uniqueness a boolean',
    input: mutate((s) => (attrs(s)[0]!.uniqueness = true)),
    pointer: '/attributes/0/uniqueness',
    rule: "'uniqueness' must be one of none, server, global, not the boolean true",
  },
  {
    name: 'caseExact true on a dateTime',
    input: mutate((s) => (attrs(s)[0]!.caseExact = true)),
    pointer: '/attributes/0/caseExact',
    rule: "'caseExact' applies only to string, reference and binary attributes, not to dateTime",
  },
  {
    name: 'canonicalValues on an integer',
    input: mutate((s) => attrs(s).push({ name: 'level', type: 'integer', canonicalValues: ['1', '2'] })),
    pointer: '/attributes/5/canonicalValues',
    rule: "'canonicalValues' applies only to string attributes, not to integer",
  },
  { name: 'canonicalValues empty', input: mutate((s) => (attrs(s)[1]!.canonicalValues = [])), pointer: '/attributes/1/canonicalValues', rule: "'canonicalValues' must not be empty (leave it out instead)" },
  {
    name: 'canonicalValues not an array',
    input: mutate((s) => (attrs(s)[1]!.canonicalValues = 'junior')),
    pointer: '/attributes/1/canonicalValues',
    rule: "'canonicalValues' must be an array of strings, not 'junior'",
  },
  {
    name: 'canonicalValues holding a number',
    input: mutate((s) => (attrs(s)[1]!.canonicalValues = ['junior', 3])),
    pointer: '/attributes/1/canonicalValues/1',
    rule: "'canonicalValues' must hold strings only, not the number 3",
  },
  {
    name: 'canonicalValues equal but for case (caseExact false)',
    input: mutate((s) => (attrs(s)[1]!.canonicalValues = ['junior', 'senior', 'Junior'])),
    pointer: '/attributes/1/canonicalValues/2',
    rule: "duplicate value 'Junior' in 'canonicalValues' (also at /attributes/1/canonicalValues/0)",
  },
  {
    name: 'referenceTypes missing on a reference',
    input: mutate((s) => delete attrs(s)[3]!.referenceTypes),
    pointer: '/attributes/3/referenceTypes',
    rule: "a reference attribute needs 'referenceTypes' (RFC 7643 §7: resource type names, 'external' or 'uri')",
  },
  { name: 'referenceTypes empty', input: mutate((s) => (attrs(s)[3]!.referenceTypes = [])), pointer: '/attributes/3/referenceTypes', rule: "'referenceTypes' must not be empty (leave it out instead)" },
  {
    name: 'referenceTypes with a bad value',
    input: mutate((s) => (attrs(s)[3]!.referenceTypes = ['external', 'Cost Center'])),
    pointer: '/attributes/3/referenceTypes/1',
    rule: "'Cost Center' is not a reference type: 'external', 'uri' or a resource type name such as 'User' (RFC 7643 §7)",
  },
  {
    name: 'referenceTypes duplicated',
    input: mutate((s) => (attrs(s)[3]!.referenceTypes = ['uri', 'URI'])),
    pointer: '/attributes/3/referenceTypes/1',
    rule: "duplicate value 'URI' in 'referenceTypes' (also at /attributes/3/referenceTypes/0)",
  },
  {
    name: 'referenceTypes on a string',
    input: mutate((s) => (attrs(s)[1]!.referenceTypes = ['User'])),
    pointer: '/attributes/1/referenceTypes',
    rule: "'referenceTypes' applies only to reference attributes (RFC 7643 §7), not to string",
  },
  {
    name: 'writeOnly returned by default',
    input: mutate((s) => (attrs(s)[4]!.returned = 'default')),
    pointer: '/attributes/4/returned',
    rule: `a writeOnly attribute must have 'returned' 'never', not 'default' (RFC 7643 §7: writeOnly values "SHALL NOT be returned")`,
  },
  {
    name: 'writeOnly without returned (default applies)',
    input: mutate((s) => delete attrs(s)[4]!.returned),
    pointer: '/attributes/4/mutability',
    rule: `a writeOnly attribute must have 'returned' 'never', not 'default' (RFC 7643 §7: writeOnly values "SHALL NOT be returned")`,
  },
  {
    name: 'readOnly and required',
    input: mutate((s) => Object.assign(attrs(s)[0]!, { mutability: 'readOnly', required: true })),
    pointer: '/attributes/0/required',
    rule: "a readOnly attribute cannot be required of clients (its 'mutability' is readOnly)",
  },
  {
    name: 'readOnly and required sub-attribute of a readWrite attribute',
    input: mutate((s) => (subs(s, 2)[2]!.required = true)),
    pointer: '/attributes/2/subAttributes/2/required',
    rule: "a readOnly attribute cannot be required of clients (its 'mutability' is readOnly)",
  },
  {
    name: 'uniqueness on a complex attribute',
    input: mutate((s) => (attrs(s)[2]!.uniqueness = 'server')),
    pointer: '/attributes/2/uniqueness',
    rule: "'uniqueness' of a complex attribute must be 'none', not 'server' (declare it on a sub-attribute)",
  },

  // Complex attributes and their sub-attributes.
  { name: 'complex without subAttributes', input: mutate((s) => delete attrs(s)[2]!.subAttributes), pointer: '/attributes/2/subAttributes', rule: "a complex attribute needs 'subAttributes' (RFC 7643 §2.3.8)" },
  {
    name: 'complex with empty subAttributes',
    input: mutate((s) => (attrs(s)[2]!.subAttributes = [])),
    pointer: '/attributes/2/subAttributes',
    rule: `'subAttributes' must not be empty (RFC 7643 §2.3.8: "one or more simple attributes")`,
  },
  {
    name: 'subAttributes on a string',
    input: mutate((s) => (attrs(s)[1]!.subAttributes = [{ name: 'x', type: 'string' }])),
    pointer: '/attributes/1/subAttributes',
    rule: "'subAttributes' applies only to complex attributes, not to string",
  },
  {
    name: 'complex sub-attribute',
    input: mutate((s) => (subs(s, 2)[1] = { name: 'since', type: 'complex', subAttributes: [{ name: 'year', type: 'integer' }] })),
    pointer: '/attributes/2/subAttributes/1/type',
    rule: `sub-attributes may not be complex (RFC 7643 §2.3.8: "A complex attribute MUST NOT contain sub-attributes that have sub-attributes")`,
  },
  {
    name: 'sub-attribute with sub-attributes',
    input: mutate((s) => (subs(s, 2)[0]!.subAttributes = [{ name: 'x', type: 'string' }])),
    pointer: '/attributes/2/subAttributes/0/subAttributes',
    rule: 'sub-attributes may not have sub-attributes (RFC 7643 §2.3.8: complex attributes have one level)',
  },
  {
    name: 'duplicate sub-attribute name',
    input: mutate((s) => subs(s, 2).push({ name: 'VALUE', type: 'string' })),
    pointer: '/attributes/2/subAttributes/3/name',
    rule: "duplicate sub-attribute name 'VALUE' (names are case-insensitive; also at /attributes/2/subAttributes/0)",
  },
  {
    name: 'unknown characteristic of a sub-attribute',
    input: mutate((s) => (subs(s, 2)[1]!.refTypes = ['User'])),
    pointer: '/attributes/2/subAttributes/1/refTypes',
    rule: "unknown characteristic 'refTypes'",
  },
  { name: 'sub-attribute not an object', input: mutate((s) => ((subs(s, 2) as unknown[])[0] = null)), pointer: '/attributes/2/subAttributes/0', rule: 'a sub-attribute definition must be a JSON object, not null' },
  {
    name: 'bad sub-attribute name',
    input: mutate((s) => (subs(s, 2)[2]!.name = 'display.name')),
    pointer: '/attributes/2/subAttributes/2/name',
    rule: "'display.name' is not an attribute name: a letter, then letters, digits, '-' or '_' (RFC 7643 §2.1 ATTRNAME); '$ref' is the one exception",
  },
  {
    name: '$ref not a reference',
    input: mutate((s) => (subs(s, 2)[1] = { name: '$ref', type: 'string' })),
    pointer: '/attributes/2/subAttributes/1/type',
    rule: `'$ref' must be of type reference (RFC 7643 §2.4: it holds "the reference URI of a target resource")`,
  },
  {
    name: 'first problem wins: unknown members before member values, attributes in order',
    input: mutate((s) => {
      attrs(s)[0]!.type = 'int';
      attrs(s)[0]!.extra = 1;
      attrs(s)[1]!.mutable = true;
    }),
    pointer: '/attributes/0/extra',
    rule: "unknown characteristic 'extra'",
  },
];

t.test('the base schema is valid (the broken cases each break one rule of it)', async (t) => {
  t.doesNotThrow(() => checkSchemaDefinition(base(), FILE, reserved));
});

t.test('broken schemas: the first problem, with file, pointer and rule', async (t) => {
  t.ok(cases.length >= 25, `${cases.length} cases`);
  const names = new Set<string>();
  for (const c of cases) {
    t.notOk(names.has(c.name), `case names are unique: ${c.name}`);
    names.add(c.name);
    let caught: unknown;
    try {
      checkSchemaDefinition(c.input, FILE, reserved);
    } catch (e) {
      caught = e;
    }
    if (!(caught instanceof SchemaFileError)) {
      t.fail(`${c.name}: expected a SchemaFileError, got ${String(caught)}`);
      continue;
    }
    t.equal(caught.message, `${FILE} at ${c.pointer || '/'}: ${c.rule}`, c.name);
    t.equal(caught.pointer, c.pointer, `${c.name}: pointer`);
    t.equal(caught.rule, c.rule, `${c.name}: rule`);
    t.equal(caught.file, FILE, `${c.name}: file`);
    t.ok(caught instanceof Error, `${c.name}: an Error`);
  }
});

t.test('what the rules allow', async (t) => {
  const ok: { name: string; input: Json }[] = [
    { name: 'no schemas, name, description or meta', input: mutate((s) => ['schemas', 'name', 'description', 'meta'].forEach((k) => delete s[k])) },
    { name: 'schemas URN in another case', input: mutate((s) => (s.schemas = [SCHEMA_URNS.schema.toLowerCase()])) },
    { name: 'caseExact false on a dateTime (the default, says nothing)', input: mutate((s) => (attrs(s)[0]!.caseExact = false)) },
    { name: 'caseExact on binary and reference', input: mutate((s) => attrs(s).push({ name: 'photo', type: 'binary', caseExact: true }, { name: 'site', type: 'reference', referenceTypes: ['uri'], caseExact: true })) },
    { name: 'canonical values differing in case when caseExact', input: mutate((s) => Object.assign(attrs(s)[1]!, { caseExact: true, canonicalValues: ['a', 'A'] })) },
    {
      name: 'required readOnly sub-attribute of a readOnly attribute (the server writes every element)',
      input: mutate((s) => {
        attrs(s)[2]!.mutability = 'readOnly';
        subs(s, 2)[2]!.required = true;
      }),
    },
    { name: 'required readWrite attribute', input: mutate((s) => (attrs(s)[0]!.required = true)) },
    { name: 'the same sub-attribute names under two attributes', input: mutate((s) => attrs(s).push({ name: 'buddy', type: 'complex', multiValued: true, subAttributes: [{ name: 'value', type: 'string' }] })) },
    { name: 'a sub-attribute named like a common attribute', input: mutate((s) => subs(s, 2).push({ name: 'id', type: 'string' })) },
    { name: 'names with digits, - and _', input: mutate((s) => attrs(s).push({ name: 'x-Level_2', type: 'integer' })) },
    { name: 'URN with odd but legal characters', input: mutate((s) => (s.id = 'URN:example:a.b/c%20d:1.0:User')) },
  ];
  for (const c of ok) t.doesNotThrow(() => checkSchemaDefinition(c.input, FILE, reserved), c.name);
});

t.test('the built-in extension schemas pass, and may not be redefined', async (t) => {
  for (const file of ['EnterpriseUser.json', 'ProfileUser.json']) {
    const json = JSON.parse(readFileSync(join(SCHEMAS_DIR, file), 'utf8')) as Json;
    const checked = checkSchemaDefinition(json, file, { urns: new Set() });
    // Nothing the file says is lost or changed; only absent defaults are added.
    t.has(checked, json, `${file}: as written`);
    t.same(checkSchemaDefinition(checked, file, { urns: new Set() }), checked, `${file}: checking is idempotent`);

    const urn = json.id as string;
    t.throws(
      () => checkSchemaDefinition(json, file, { urns: new Set([urn.toLowerCase()]) }),
      { message: `${file} at /id: redefines the built-in schema '${urn}'`, pointer: '/id', file },
      `${file}: its own URN reserved`,
    );
  }
  // A definition spelling out every characteristic comes back as it was, member order included.
  const enterprise = JSON.parse(readFileSync(join(SCHEMAS_DIR, 'EnterpriseUser.json'), 'utf8')) as Json;
  const checked = checkSchemaDefinition(enterprise, 'EnterpriseUser.json', { urns: new Set() });
  t.equal(JSON.stringify(checked.attributes[0]), JSON.stringify(attrs(enterprise)[0]), 'member order kept');
});

t.test('defaults are filled, the input is left alone', async (t) => {
  const input = {
    id: ID,
    attributes: [
      { name: 'nickName', type: 'string' },
      { name: 'level', type: 'integer' },
      { name: 'mentor', type: 'complex', subAttributes: [{ name: '$ref', type: 'reference', referenceTypes: ['User'] }, { name: 'since', type: 'dateTime' }] },
    ],
  };
  const before = structuredClone(input);
  const checked = checkSchemaDefinition(input, FILE, reserved);
  t.same(input, before, 'input not modified');
  const defaults = { multiValued: false, required: false, mutability: 'readWrite', returned: 'default', uniqueness: 'none' };
  t.same(checked, {
    id: ID,
    // RFC 7643 §7 makes name OPTIONAL, SchemaDefinition does not: the URN stands in.
    name: ID,
    attributes: [
      { name: 'nickName', type: 'string', ...defaults, caseExact: false },
      { name: 'level', type: 'integer', ...defaults },
      {
        name: 'mentor',
        type: 'complex',
        ...defaults,
        subAttributes: [
          { name: '$ref', type: 'reference', referenceTypes: ['User'], ...defaults, caseExact: false },
          { name: 'since', type: 'dateTime', ...defaults },
        ],
      },
    ],
  });
  t.notOk('caseExact' in checked.attributes[1]!, 'no caseExact on an integer');
  t.notOk('caseExact' in checked.attributes[2]!, 'no caseExact on a complex attribute');

  const explicit = checkSchemaDefinition(base(), FILE, reserved);
  t.equal(explicit.name, 'HrUser', 'a given name is kept');
  t.equal(explicit.attributes[4]!.mutability, 'writeOnly', 'given characteristics are kept');
  t.equal(explicit.attributes[4]!.returned, 'never');
  t.equal(explicit.attributes[3]!.uniqueness, 'server');
  t.equal(explicit.attributes[2]!.subAttributes![0]!.caseExact, true);
});
