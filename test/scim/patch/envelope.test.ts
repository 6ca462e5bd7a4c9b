import t from 'tap';
import { isScimError } from '../../../src/scim/errors';
import { parsePatchBody } from '../../../src/scim/patch';

const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

t.test('accepts the RFC form and what clients send', async (t) => {
  t.strictSame(
    parsePatchBody({ schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'title', value: 'x' }] }),
    [{ op: 'add', path: 'title', value: 'x' }],
  );
  t.strictSame(
    parsePatchBody({
      schemas: [PATCH_OP.toUpperCase()],
      operations: [
        { op: 'Add', path: 'title', value: 'x' },
        { op: 'REPLACE', value: { active: false } },
        { op: 'Remove', path: 'title' },
        { Op: 'replace', Path: 'displayName', Value: null },
      ],
    }),
    [
      { op: 'add', path: 'title', value: 'x' },
      { op: 'replace', value: { active: false } },
      { op: 'remove', path: 'title' },
      { op: 'replace', path: 'displayName', value: null },
    ],
    'op names, member names and the Operations key in any case',
  );
  t.strictSame(
    parsePatchBody({ schemas: [PATCH_OP], Operations: [{ op: 'remove', path: 'members', value: [{ value: 'id1' }] }] }),
    [{ op: 'remove', path: 'members', value: [{ value: 'id1' }] }],
    'a value on remove is kept',
  );
  t.strictSame(
    parsePatchBody({ schemas: [PATCH_OP], Operations: [{ op: 'replace', path: null, value: { title: 'x' } }] }),
    [{ op: 'replace', value: { title: 'x' } }],
    '"path": null is no path',
  );
});

t.test('rejects malformed envelopes, naming the operation (counted from 1)', async (t) => {
  const ok = { op: 'add', path: 'title', value: 'x' };
  const cases: { name: string; body: unknown; scimType: string; detail: RegExp }[] = [
    { name: 'not an object', body: [ok], scimType: 'invalidSyntax', detail: /must be a JSON object/ },
    { name: 'null body', body: null, scimType: 'invalidSyntax', detail: /must be a JSON object/ },
    { name: 'no schemas', body: { Operations: [ok] }, scimType: 'invalidSyntax', detail: /"schemas" must contain/ },
    { name: 'schemas a string', body: { schemas: PATCH_OP, Operations: [ok] }, scimType: 'invalidSyntax', detail: /"schemas" must contain/ },
    {
      name: 'wrong schema',
      body: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], Operations: [ok] },
      scimType: 'invalidSyntax',
      detail: /"schemas" must contain/,
    },
    { name: 'no Operations', body: { schemas: [PATCH_OP] }, scimType: 'invalidSyntax', detail: /"Operations" must be a non-empty array/ },
    { name: 'empty Operations', body: { schemas: [PATCH_OP], Operations: [] }, scimType: 'invalidSyntax', detail: /non-empty array/ },
    { name: 'Operations an object', body: { schemas: [PATCH_OP], Operations: ok }, scimType: 'invalidSyntax', detail: /non-empty array/ },
    {
      name: 'Operations twice',
      body: { schemas: [PATCH_OP], Operations: [ok], operations: [ok] },
      scimType: 'invalidSyntax',
      detail: /"Operations" is given 2 times/,
    },
    { name: 'op not an object', body: { schemas: [PATCH_OP], Operations: [ok, 'add'] }, scimType: 'invalidSyntax', detail: /^operation 2: must be an object/ },
    {
      name: 'unknown op',
      body: { schemas: [PATCH_OP], Operations: [ok, { op: 'move', path: 'title' }] },
      scimType: 'invalidSyntax',
      detail: /^operation 2: "op" must be add, replace or remove, got "move"/,
    },
    {
      name: 'missing op',
      body: { schemas: [PATCH_OP], Operations: [{ path: 'title', value: 'x' }] },
      scimType: 'invalidSyntax',
      detail: /^operation 1: "op" must be add, replace or remove, got nothing/,
    },
    {
      name: 'op not a string',
      body: { schemas: [PATCH_OP], Operations: [{ op: 1, path: 'title', value: 'x' }] },
      scimType: 'invalidSyntax',
      detail: /^operation 1: "op" must be/,
    },
    {
      name: 'path not a string',
      body: { schemas: [PATCH_OP], Operations: [ok, ok, { op: 'add', path: 3, value: 'x' }] },
      scimType: 'invalidSyntax',
      detail: /^operation 3: "path" must be a string/,
    },
    {
      name: 'remove without path (RFC 7644 §3.5.2.2)',
      body: { schemas: [PATCH_OP], Operations: [{ op: 'remove' }] },
      scimType: 'noTarget',
      detail: /^operation 1: remove needs a "path"/,
    },
    {
      name: 'add without value',
      body: { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'title' }] },
      scimType: 'invalidValue',
      detail: /^operation 1: add needs a "value"/,
    },
    {
      name: 'replace without value',
      body: { schemas: [PATCH_OP], Operations: [{ op: 'Replace', path: 'title' }] },
      scimType: 'invalidValue',
      detail: /^operation 1: replace needs a "value"/,
    },
    {
      name: 'path-less add of a non-object',
      body: { schemas: [PATCH_OP], Operations: [{ op: 'add', value: 'x' }] },
      scimType: 'invalidValue',
      detail: /^operation 1: without a "path", "value" must be an object/,
    },
    {
      name: 'path-less replace of an array',
      body: { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: [{ title: 'x' }] }] },
      scimType: 'invalidValue',
      detail: /must be an object of attributes/,
    },
  ];
  for (const c of cases) {
    try {
      parsePatchBody(c.body);
      t.fail(`${c.name}: expected ${c.scimType}`);
    } catch (e) {
      t.ok(isScimError(e), c.name);
      if (!isScimError(e)) continue;
      t.equal(e.scimType, c.scimType, c.name);
      t.match(e.detail, c.detail, c.name);
      t.equal(e.status, 400, c.name);
    }
  }
});
