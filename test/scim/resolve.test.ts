/**
 * One attribute resolver (ResourceSchema.resolve) for every consumer: URN-qualified names, core names unqualified,
 * and extension names unqualified when exactly one extension defines them (older Entra ID tenants PATCH
 * `"path": "manager"`); a name two extensions define is refused, naming both. Each consumer is tested once over
 * HTTP: PATCH paths and path-less values, filters, sortBy, attributes/excludedAttributes, POST/PUT body keys.
 */
import t from 'tap';
import { parsePath } from '../../src/scim/path';
import { parseFilter } from '../../src/scim/filter/parse';
import { readResourceBody } from '../../src/scim/input';
import { isScimError } from '../../src/scim/errors';
import { AttributeDefinition, ResourceSchema, SchemaRegistry, SCHEMA_URNS } from '../../src/scim/schema';
import { build } from '../helper';

const registry = SchemaRegistry.fromDirectory();
const users = registry.resourceSchema('User');
const ENT = SCHEMA_URNS.enterpriseUser;
const CORE = SCHEMA_URNS.user;

t.test('resolve: qualified, core unqualified, extension unqualified when one extension defines the name', async (t) => {
  const rows: { path: string; schema?: string; attribute?: string; sub?: string }[] = [
    { path: 'userName', schema: CORE, attribute: 'userName' },
    { path: `${CORE}:userName`, schema: CORE, attribute: 'userName' },
    { path: 'meta.lastModified', schema: CORE, attribute: 'meta', sub: 'lastModified' },
    { path: 'department', schema: ENT, attribute: 'department' },
    { path: 'DEPARTMENT', schema: ENT, attribute: 'department' },
    { path: 'manager', schema: ENT, attribute: 'manager' },
    { path: 'manager.value', schema: ENT, attribute: 'manager', sub: 'value' },
    { path: `${ENT}:manager.value`, schema: ENT, attribute: 'manager', sub: 'value' },
    { path: 'manager.nope' },
    { path: 'nope' },
    { path: `${ENT}:userName` },
  ];
  for (const row of rows) {
    const r = users.resolve(row.path);
    t.same(r && { schema: r.schema, attribute: r.attribute.name, sub: r.sub?.name }, row.schema ? { schema: row.schema, attribute: row.attribute, sub: row.sub } : undefined, row.path);
  }
  t.equal(users.unresolved('manager.nope'), "attribute 'manager' has no sub-attribute 'nope'");
  t.equal(users.unresolved('nope'), "no attribute 'nope' in User");
});

t.test('a name two extensions define is ambiguous everywhere, and the message names both', async (t) => {
  const badge = (id: string): { schema: { id: string; name: string; attributes: AttributeDefinition[] }; required: boolean } => ({
    schema: {
      id,
      name: 'Badges',
      attributes: [{ name: 'badge', type: 'string', multiValued: false, required: false, caseExact: false, mutability: 'readWrite', returned: 'default', uniqueness: 'none' } as AttributeDefinition],
    },
    required: false,
  });
  const A = 'urn:example:params:scim:schemas:extension:a:2.0:User';
  const B = 'urn:example:params:scim:schemas:extension:b:2.0:User';
  const core = users.core;
  const schema = new ResourceSchema({ ...users.type, schemaExtensions: [{ schema: A, required: false }, { schema: B, required: false }] }, core, [badge(A), badge(B)], users.common);
  t.equal(schema.resolve('badge'), undefined);
  t.same(schema.ambiguous('badge'), [A, B]);
  t.equal(schema.resolve(`${B}:badge`)?.schema, B, 'qualified, it resolves');
  const why = /'badge' is ambiguous: urn:example:params:scim:schemas:extension:a:2\.0:User:badge and urn:example:params:scim:schemas:extension:b:2\.0:User:badge both exist/;
  const refuses = (what: string, f: () => unknown, scimType: string) => {
    try {
      f();
      t.fail(`${what}: accepted`);
    } catch (e) {
      t.ok(isScimError(e) && e.scimType === scimType && why.test(e.detail ?? ''), `${what}: ${isScimError(e) ? `${e.scimType} ${e.detail}` : String(e)}`);
    }
  };
  refuses('PATCH path', () => parsePath(schema, 'badge'), 'invalidPath');
  refuses('filter', () => parseFilter(schema, 'badge eq "x"'), 'invalidFilter');
  refuses('body key', () => readResourceBody(schema, { userName: 'a', badge: 'x' }), 'invalidSyntax');
});

t.test('every consumer accepts an unqualified enterprise attribute over HTTP', async (t) => {
  const h = await build(t);
  const create = async (body: Record<string, unknown>) => {
    const res = await h.req({ method: 'POST', url: '/scim/v2/Users', payload: { schemas: [CORE], ...body } });
    t.equal(res.statusCode, 201, res.body);
    return res.json() as Record<string, unknown> & { id: string };
  };
  const boss = await create({ userName: 'boss', displayName: 'The Boss' });

  // POST body key: `department` lands in the enterprise extension.
  const a = await create({ userName: 'resolve-a', department: 'Finance' });
  t.same(a[ENT], { department: 'Finance' }, 'POST: an unqualified department is the enterprise one');
  const twice = await h.req({ method: 'POST', url: '/scim/v2/Users', payload: { userName: 'resolve-x', department: 'A', [ENT]: { department: 'B' } } });
  t.equal(twice.statusCode, 400);
  t.match(twice.json(), { scimType: 'invalidSyntax', detail: /department' is given twice/ });

  // PATCH path: what older Entra ID tenants send for the manager (the value is the manager's id).
  const patched = await h.req({
    method: 'PATCH',
    url: `/scim/v2/Users/${a.id}`,
    payload: {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [
        { op: 'Replace', path: 'manager', value: boss.id },
        { op: 'replace', path: 'department', value: 'Sales' },
        { op: 'add', value: { costCenter: 'CC-1' } },
      ],
    },
  });
  t.equal(patched.statusCode, 200, patched.body);
  t.match(patched.json()[ENT], { department: 'Sales', costCenter: 'CC-1', manager: { value: boss.id, displayName: 'The Boss' } }, 'PATCH: path and path-less value keys');

  await create({ userName: 'resolve-b', department: 'Legal' });
  // Filter, sortBy, attributes, excludedAttributes.
  const byDept = await h.req({ method: 'GET', url: `/scim/v2/Users?filter=${encodeURIComponent('department eq "sales"')}` });
  t.same(byDept.json().Resources.map((r: { userName: string }) => r.userName), ['resolve-a'], 'filter');
  const byManager = await h.req({ method: 'GET', url: `/scim/v2/Users?filter=${encodeURIComponent(`manager.value eq "${boss.id}"`)}` });
  t.equal(byManager.json().totalResults, 1, 'filter on a sub-attribute');
  const sorted = async (sortBy: string) =>
    (await h.req({ method: 'GET', url: `/scim/v2/Users?filter=${encodeURIComponent('userName sw "resolve-"')}&sortBy=${encodeURIComponent(sortBy)}&sortOrder=descending` }))
      .json()
      .Resources.map((r: { userName: string }) => r.userName);
  t.same(await sorted('department'), await sorted(`${ENT}:department`), 'sortBy');
  t.same(await sorted('department'), ['resolve-a', 'resolve-b'], 'sortBy: Sales after Legal, descending');
  const only = await h.req({ method: 'GET', url: `/scim/v2/Users/${a.id}?attributes=department` });
  t.same(only.json()[ENT], { department: 'Sales' }, 'attributes');
  t.equal(only.json().userName, undefined, 'attributes: nothing else but what is always returned');
  const without = await h.req({ method: 'GET', url: `/scim/v2/Users/${a.id}?excludedAttributes=department,manager` });
  t.same(without.json()[ENT], { costCenter: 'CC-1' }, 'excludedAttributes');

  // PUT body key.
  const put = await h.req({ method: 'PUT', url: `/scim/v2/Users/${a.id}`, payload: { schemas: [CORE], userName: 'resolve-a', employeeNumber: 'E-7' } });
  t.equal(put.statusCode, 200, put.body);
  t.same(put.json()[ENT], { employeeNumber: 'E-7' }, 'PUT: an unqualified employeeNumber is the enterprise one');
});
