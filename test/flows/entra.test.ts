/** Microsoft Entra ID's provisioning flow, as ../shared/CLIENTS.md describes it, over HTTP on every store. */
import t from 'tap';
import { randomUUID } from 'node:crypto';
import { build, eachStore, USER, ENTERPRISE } from '../helper';

const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

eachStore(t, async (t, kind) => {
  const h = await build(t, kind);
  const list = async (filter: string) =>
    (await h.req({ method: 'GET', url: `/scim/v2/Users?filter=${encodeURIComponent(filter)}` })).json();
  const patch = (id: string, Operations: unknown[]) => h.req({ method: 'PATCH', url: `/scim/v2/Users/${id}`, payload: { schemas: [PATCH_OP], Operations } });

  t.test('test connection: a random id answers 200 with an empty list', async (t) => {
    const res = await h.req({ method: 'GET', url: `/scim/v2/Users?filter=${encodeURIComponent(`id eq "${randomUUID()}"`)}` });
    t.equal(res.statusCode, 200);
    t.match(res.json(), { totalResults: 0, Resources: [] });
  });

  t.test('create with nulls and string booleans, manager in a second request, capitalised Replace, disable, clear, delete', async (t) => {
    const mk = (userName: string, externalId: string) => ({
      schemas: [USER, ENTERPRISE],
      externalId,
      userName,
      active: 'True',
      displayName: userName.split('@')[0],
      title: null,
      emails: [{ primary: true, type: 'work', value: userName }],
      meta: { resourceType: 'User' },
      name: { formatted: 'Test User', familyName: 'User', givenName: 'Test' },
      roles: [],
      [ENTERPRISE]: { employeeNumber: null, department: 'Finance', manager: null },
    });
    const mgrRes = await h.req({ method: 'POST', url: '/scim/v2/Users', payload: mk('manager@contoso.com', 'mgr') });
    t.equal(mgrRes.statusCode, 201, mgrRes.body);
    const mgr = mgrRes.json();
    t.equal(mgr.active, true);
    const empRes = await h.req({ method: 'POST', url: '/scim/v2/Users', payload: mk('employee@contoso.com', 'emp') });
    const emp = empRes.json();
    t.same(emp[ENTERPRISE], { department: 'Finance' });

    const setManager = await patch(emp.id, [{ op: 'Add', path: `${ENTERPRISE}:manager`, value: mgr.id }]);
    t.equal(setManager.statusCode, 200);
    t.equal((await list(`id eq "${emp.id}" and manager eq "${mgr.id}"`)).totalResults, 1, 'verified the way Entra does');
    t.equal((await list(`id eq "${emp.id}" and ${ENTERPRISE}:manager.value eq "${mgr.id}"`)).totalResults, 1);

    const replaced = await patch(emp.id, [
      { op: 'Replace', path: `${ENTERPRISE}:employeeNumber`, value: '12345' },
      { op: 'Replace', path: `${ENTERPRISE}:costCenter`, value: 'CC-9' },
      { op: 'Replace', path: 'title', value: 'Analyst' },
      { op: 'Replace', path: 'emails[type eq "work"].value', value: 'employee2@contoso.com' },
      { op: 'Replace', path: 'name.familyName', value: 'Userson' },
    ]);
    t.equal(replaced.statusCode, 200, replaced.body);
    t.match(replaced.json(), {
      title: 'Analyst',
      name: { familyName: 'Userson' },
      emails: [{ type: 'work', value: 'employee2@contoso.com', primary: true }],
      [ENTERPRISE]: { employeeNumber: '12345', costCenter: 'CC-9', department: 'Finance', manager: { value: mgr.id } },
    });

    const disabled = await patch(emp.id, [{ op: 'Replace', path: 'active', value: 'False' }]);
    t.equal(disabled.json().active, false);

    const cleared = await patch(emp.id, [
      { op: 'Replace', path: 'title', value: '' },
      { op: 'Replace', path: `${ENTERPRISE}:costCenter`, value: null },
      { op: 'Remove', path: `${ENTERPRISE}:manager` },
    ]);
    t.equal(cleared.statusCode, 200);
    t.notOk('title' in cleared.json());
    t.same(cleared.json()[ENTERPRISE], { department: 'Finance', employeeNumber: '12345' });

    t.equal((await h.req({ method: 'DELETE', url: `/scim/v2/Users/${emp.id}` })).statusCode, 204);
    t.equal((await h.req({ method: 'GET', url: `/scim/v2/Users/${emp.id}` })).statusCode, 404);
  });

  t.test('userName, externalId and displayName queries', async (t) => {
    await h.req({ method: 'POST', url: '/scim/v2/Users', payload: { schemas: [USER], userName: 'Query.Me@contoso.com', externalId: 'q-1', displayName: 'Query Me' } });
    t.equal((await list('userName eq "query.me@CONTOSO.com"')).totalResults, 1);
    t.equal((await list('externalId eq "q-1"')).totalResults, 1);
    t.equal((await list('externalId eq q-1')).totalResults, 1, 'unquoted values as Entra docs show');
    t.equal((await list('displayName eq "Query Me"')).totalResults, 1);
  });
});
