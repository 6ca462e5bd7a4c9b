/** Rules are an ordered list per resource type, registered from service/rules.ts for every type the schemas define. */
import t from 'tap';
import { ResourceService, ResourceRule } from '../../src/service/resources';
import { RULES } from '../../src/service/rules';
import { build, makeStore } from '../helper';
import { users } from '../store/contract';

t.test('a service runs its rules in the order they were registered, each hook of each', async (t) => {
  const { store, cleanup } = await makeStore('lmdb');
  t.teardown(cleanup);
  await store.init([users]);
  const service = new ResourceService(users, store);
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

t.test('the app builds a service per resource type with the rules rules.ts lists', async (t) => {
  const h = await build(t);
  t.same([...h.app.services.keys()], h.app.registry.resourceTypes().map((r) => r.id));
  for (const [id, service] of h.app.services) t.same(service.ruleNames, (RULES[id] ?? []).map((make) => make(service, h.store).name), id);
  t.same(h.app.users.ruleNames, ['manager']);
});
