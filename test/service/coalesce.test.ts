/**
 * Coalesced writes of one resource (ResourceService.coalesce), made deterministic: a rule holds the first change in
 * its turn until the test lets it go, so that the changes sent meanwhile queue up behind it and reach the store
 * together. Each must still be settled as if made alone, one after another.
 */
import t from 'tap';
import { ResourceService } from '../../src/service/resources';
import type { StoredRecord } from '../../src/scim/resource';
import { isScimError } from '../../src/scim/errors';
import { makeStore, storeKinds } from '../helper';
import { users } from '../store/contract';

const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const replaceOp = (path: string, value: unknown) => ({ schemas: [PATCH_OP], Operations: [{ op: 'replace', path, value }] });

for (const kind of storeKinds()) {
  t.test(kind, async (t) => {
    const { store, cleanup } = await makeStore(kind);
    t.teardown(cleanup);
    await store.init([users]);
    const service = new ResourceService(users, { resources: store.resources });
    let writes = 0;
    const replace = store.resources.replace.bind(store.resources);
    store.resources.replace = (...args) => {
      writes++;
      return replace(...args);
    };
    // Once armed, the next change to reach the rules waits in its turn until released; `during` runs while it waits.
    let armed = false;
    let release: () => void = () => undefined;
    let during: (() => Promise<void>) | undefined;
    service.use({
      name: 'gate',
      beforeWrite: async () => {
        if (!armed) return;
        armed = false;
        const gate = new Promise<void>((r) => (release = r));
        await during?.();
        await gate;
      },
    });
    // The rules' afterWrite of one resource run one after another in version order, however long each takes.
    const afterOrder: number[] = [];
    service.use({
      name: 'after-order',
      afterWrite: async (record) => {
        await new Promise((r) => setTimeout(r, Math.random() * 5));
        afterOrder.push(record.version);
      },
    });
    /** Sends `first` (held), then `rest` while it is held, then releases it; every outcome, in order. */
    const burst = async (id: string, first: unknown, rest: { body: unknown; ifMatch?: string }[]) => {
      armed = true;
      const held = service.patch(id, first);
      await new Promise((r) => setTimeout(r, 20));
      const queued = rest.map((c) => service.patch(id, c.body, c.ifMatch));
      await new Promise((r) => setTimeout(r, 20));
      release();
      return Promise.allSettled([held, ...queued]);
    };
    const outcome = (s: PromiseSettledResult<StoredRecord>) =>
      s.status === 'fulfilled' ? s.value.version : isScimError(s.reason) ? `${s.reason.status}${s.reason.scimType ? ` ${s.reason.scimType}` : ''}` : String(s.reason);

    t.test('the changes queued behind a running write are stored in one write, each with its own version', async (t) => {
      const { id } = await service.create({ userName: 'queued' });
      writes = 0;
      const results = await burst(id, replaceOp('title', 'hold'), Array.from({ length: 9 }, (_, i) => ({ body: replaceOp('nickName', `n${i}`) })));
      t.same(results.map(outcome), [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
      t.equal(writes, 2, 'the held change alone, then the nine queued behind it together');
      t.same(afterOrder.slice(-10), [2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 'afterWrite in version order');
      t.match((await service.get(id)).resource, { title: 'hold', nickName: 'n8', meta: { version: 'W/"11"' } });
      const log = await store.audit.log({ resourceId: id, count: 100, order: 'ascending' });
      const byVersion = [...log.entries].sort((a, b) => (a.versionAfter ?? 0) - (b.versionAfter ?? 0));
      t.same(byVersion.map((e) => [e.operation, e.versionBefore ?? null, e.versionAfter]), [['create', null, 1], ...Array.from({ length: 10 }, (_, i) => ['patch', i + 1, i + 2])]);
    });

    t.test('{ source, operations, expected }: each queued change settled as if alone', async (t) => {
      await service.create({ userName: 'holder-of-taken' });
      const table: { name: string; source: Record<string, unknown>; operations: { body: unknown; ifMatch?: string }[]; expected: (number | string)[]; writes: number; result: Record<string, unknown> }[] = [
        {
          name: 'errors and no-ops in between',
          source: { userName: 'mixed' },
          operations: [
            { body: replaceOp('nickName', 'a') },
            { body: replaceOp('nosuch', 'x') },
            { body: replaceOp('nickName', 'a') },
            { body: replaceOp('displayName', 'b'), ifMatch: 'W/"3"' },
            { body: replaceOp('displayName', 'c'), ifMatch: 'W/"3"' },
          ],
          expected: [2, 3, '400 invalidPath', 3, 4, '412'],
          writes: 2,
          result: { nickName: 'a', displayName: 'b' },
        },
        {
          name: 'a later change of a unique value ends the write before it; a taken one is refused alone',
          source: { userName: 'renamed' },
          operations: [{ body: replaceOp('nickName', 'a') }, { body: replaceOp('userName', 'holder-of-taken') }, { body: replaceOp('displayName', 'd') }, { body: replaceOp('userName', 'fresh') }, { body: replaceOp('title', 'z') }],
          expected: [2, 3, '409 uniqueness', 4, 5, 6],
          // held; [nickName]; [taken, displayName] refused; one at a time: taken (refused), displayName; [fresh, title]
          writes: 6,
          result: { userName: 'fresh', nickName: 'a', displayName: 'd', title: 'z' },
        },
      ];
      for (const row of table) {
        const { id } = await service.create(row.source);
        writes = 0;
        const results = await burst(id, replaceOp('title', 'hold'), row.operations);
        t.same(results.map(outcome), row.expected, row.name);
        t.equal(writes, row.writes, `${row.name}: store writes`);
        t.match((await service.get(id)).resource, row.result, `${row.name}: the stored resource`);
      }
    });

    t.test('a coalesced write that loses a race to another instance is made again, one change at a time', async (t) => {
      const { id } = await service.create({ userName: 'raced' });
      // While the held change waits, "another instance" writes version 2: the held change's own write then loses,
      // and it is retried; the queued ones, read after, find version 3.
      during = async () => {
        during = undefined;
        const current = (await store.resources.get(users, id))!;
        const resource = { ...current.resource, profileUrl: 'https://example.com/other', meta: { ...(current.resource.meta as object), version: 'W/"2"' } };
        await replace(users, { record: { ...current, version: 2, resource: resource as unknown as StoredRecord['resource'] }, expectedVersion: 1 });
      };
      const results = await burst(id, replaceOp('title', 'hold'), [{ body: replaceOp('nickName', 'a') }, { body: replaceOp('displayName', 'b'), ifMatch: 'W/"4"' }]);
      t.same(results.map(outcome), [3, 4, 5]);
      t.match((await service.get(id)).resource, { profileUrl: 'https://example.com/other', title: 'hold', nickName: 'a', displayName: 'b' }, 'nothing lost');
    });
  });
}
