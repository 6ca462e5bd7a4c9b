/** Rules are an ordered list per resource type, registered from service/rules.ts for every type the schemas define. */
import t from 'tap';
import { createHmac } from 'node:crypto';
import { ResourceService, ResourceRule } from '../../src/service/resources';
import { RULES } from '../../src/service/rules';
import { build, makeStore, SECRET } from '../helper';
import { users } from '../store/contract';

t.test('a service runs its rules in the order they were registered, each hook of each', async (t) => {
  const { store, cleanup } = await makeStore('lmdb');
  t.teardown(cleanup);
  await store.init([users]);
  const service = new ResourceService(users, { resources: store.resources });
  const calls: string[] = [];
  const rule = (name: string): ResourceRule => ({
    name,
    beforeWrite: async (next) => {
      calls.push(`${name}.before`);
      next.title = `${(next.title as string | undefined) ?? ''}${name}`;
    },
    afterWrite: async () => void calls.push(`${name}.after`),
    afterDelete: async () => void calls.push(`${name}.delete`),
  });
  service.use(rule('a'));
  service.use(rule('b'));
  t.throws(() => service.use(rule('a')), /registered twice/);
  t.same(service.ruleNames, ['a', 'b']);
  const created = await service.create({ userName: 'ordered' });
  t.equal(created.resource.title, 'ab', 'beforeWrite in order, each seeing the one before');
  await service.patch(created.id, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'displayName', value: 'x' }] });
  await service.delete(created.id);
  t.same(calls, ['a.before', 'b.before', 'a.before', 'b.before', 'a.after', 'b.after', 'a.delete', 'b.delete']);
});

t.test('the app builds a service per resource type with the rules rules.ts lists, after the sections rule where there are sections', async (t) => {
  const h = await build(t);
  t.same([...h.app.services.keys()], h.app.registry.resourceTypes().map((r) => r.id));
  for (const [id, service] of h.app.services) {
    const first = service.schema === h.app.sections.schema ? ['sections'] : [];
    t.same(service.ruleNames, [...first, ...(RULES[id] ?? []).map((make) => make(service, h.store).name)], id);
  }
  t.same(h.app.users.ruleNames, ['sections', 'manager', 'member display']);
});

t.test("rules see who writes (the token's subject, client and scopes) and how; the server's own repairs say so", async (t) => {
  const h = await build(t);
  const seen: string[] = [];
  h.app.users.use({
    name: 'audit-probe',
    beforeWrite: async (next, _current, context) => {
      const c = context.caller;
      seen.push(`${context.operation} ${next.userName} by ${c.system ? 'system' : `${c.subject}/${c.clientId}/${c.scopes.join(',')}/${String(c.claims.tenant)}`}`);
    },
  });
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: 'hr-feed', azp: 'workday', scope: 'scim:read scim:write', tenant: 'acme', exp: Math.floor(Date.now() / 1000) + 60 })}`;
  const token = `${body}.${createHmac('sha256', SECRET).update(body).digest('base64url')}`;
  const as = { authorization: `Bearer ${token}` };
  const boss = await h.req({ method: 'POST', url: '/scim/v2/Users', payload: { userName: 'boss', displayName: 'Boss' }, headers: as });
  const report = await h.req({ method: 'POST', url: '/scim/v2/Users', payload: { userName: 'report', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { manager: { value: boss.json().id } } }, headers: as });
  await h.req({ method: 'PUT', url: `/scim/v2/Users/${boss.json().id}`, payload: { userName: 'boss', displayName: 'Big Boss' }, headers: as });
  await h.req({ method: 'PATCH', url: `/scim/v2/Users/${report.json().id}`, payload: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'title', value: 'x' }] }, headers: as });
  t.same(seen, [
    'create boss by hr-feed/workday/scim:read,scim:write/acme',
    'create report by hr-feed/workday/scim:read,scim:write/acme',
    'replace boss by hr-feed/workday/scim:read,scim:write/acme',
    // The rename reaches the report's manager.displayName: the server's repair, not the client's write.
    'repair report by system',
    'patch report by hr-feed/workday/scim:read,scim:write/acme',
  ]);
});
