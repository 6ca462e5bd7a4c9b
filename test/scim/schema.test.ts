import t from 'tap';
import { SchemaRegistry, SCHEMA_URNS } from '../../src/scim/schema';

const registry = SchemaRegistry.fromDirectory();
const users = registry.resourceSchema('User');

t.test('resolves attribute paths in any case, with and without URN prefixes', async (t) => {
  const cases: { path: string; attribute: string; sub?: string; extension: boolean }[] = [
    { path: 'userName', attribute: 'userName', extension: false },
    { path: 'USERNAME', attribute: 'userName', extension: false },
    { path: 'name.givenName', attribute: 'name', sub: 'givenName', extension: false },
    { path: `${SCHEMA_URNS.user}:userName`, attribute: 'userName', extension: false },
    { path: `${SCHEMA_URNS.enterpriseUser}:department`, attribute: 'department', extension: true },
    { path: `${SCHEMA_URNS.enterpriseUser.toUpperCase()}:Manager.Value`, attribute: 'manager', sub: 'value', extension: true },
    { path: 'meta.lastModified', attribute: 'meta', sub: 'lastModified', extension: false },
    { path: 'id', attribute: 'id', extension: false },
  ];
  for (const c of cases) {
    const r = users.resolve(c.path);
    t.ok(r, c.path);
    t.equal(r?.attribute.name, c.attribute, c.path);
    t.equal(r?.sub?.name, c.sub, c.path);
    t.equal(r?.extension, c.extension, c.path);
  }
  t.equal(users.resolve('nope'), undefined);
  t.equal(users.resolve('name.nope'), undefined);
  t.equal(users.resolve(`${SCHEMA_URNS.enterpriseUser}:userName`), undefined, 'core attribute under the extension URN');
});
