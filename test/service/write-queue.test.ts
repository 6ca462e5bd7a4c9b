/** The line of writes of one resource (service/write-queue.ts) and the members a coalesced write lays over the pairs. */
import t from 'tap';
import { WriteQueue, type Settled } from '../../src/service/write-queue';
import { PendingMembers } from '../../src/service/memberships';
import type { MemberEntry } from '../../src/store/store';

t.test('a change alone starts at once; those arriving meanwhile go together, in order, up to max; tasks go alone', async (t) => {
  const calls: string[] = [];
  let open: () => void = () => undefined;
  const queue = new WriteQueue<string, string>(async (key, changes) => {
    calls.push(`${key}:${changes.join(',')}`);
    if (changes[0] === 'a1') await new Promise<void>((r) => (open = r));
    return changes.map((c): Settled<string> => (c.startsWith('bad') ? { ok: false, error: new Error(c) } : { ok: true, value: c.toUpperCase() }));
  }, 3);
  const first = queue.change('a', 'a1');
  t.same(calls, ['a:a1'], 'started before anything else queued');
  const rest = ['a2', 'bad3', 'a4', 'a5'].map((c) => queue.change('a', c));
  const task = queue.task('a', async () => {
    calls.push('a:task');
    return 42;
  });
  const after = queue.change('a', 'a6');
  const other = queue.change('b', 'b1');
  t.same(calls, ['a:a1', 'b:b1'], 'another key does not wait');
  open();
  t.equal(await first, 'A1');
  const settled = await Promise.allSettled(rest);
  t.same(settled.map((s) => (s.status === 'fulfilled' ? s.value : (s.reason as Error).message)), ['A2', 'bad3', 'A4', 'A5']);
  t.equal(await task, 42);
  t.equal(await after, 'A6');
  t.equal(await other, 'B1');
  t.same(calls, ['a:a1', 'b:b1', 'a:a2,bad3,a4', 'a:a5', 'a:task', 'a:a6'], 'at most 3 together; the task in its place');
  t.equal(queue.busy, 0, 'no line left behind');
});

t.test('a batch handler that throws fails its changes, not the line', async (t) => {
  const queue = new WriteQueue<number, number>(async (_key, changes) => {
    if (changes.includes(0)) throw new Error('database gone');
    return changes.map((c) => ({ ok: true, value: c }));
  });
  const [a, b] = await Promise.allSettled([queue.change('k', 0), queue.change('k', 1)]);
  t.equal(a!.status, 'rejected');
  t.same(b, { status: 'fulfilled', value: 1 });
  t.throws(() => new WriteQueue(async () => [], 0), /max must be a positive integer/);
});

t.test('PendingMembers: { source, operations, expected }', async (t) => {
  const entry = (value: string): MemberEntry => ({ value, type: 'User' });
  const table: { name: string; source: string[]; operations: { replace?: string[]; add?: string[]; remove?: string[] }[]; expected: { members: string[]; among: string[]; composed: unknown } }[] = [
    { name: 'nothing', source: ['a', 'b'], operations: [], expected: { members: ['a', 'b'], among: ['a', 'b'], composed: undefined } },
    { name: 'add then remove the same', source: ['a'], operations: [{ add: ['c'] }, { remove: ['c'] }], expected: { members: ['a'], among: ['a'], composed: { add: [], remove: ['c'] } } },
    { name: 'remove then add back', source: ['a', 'b'], operations: [{ remove: ['a'] }, { add: ['a'] }], expected: { members: ['a', 'b'], among: ['a', 'b'], composed: { add: [entry('a')], remove: [] } } },
    { name: 'adds and removes', source: ['a', 'b'], operations: [{ add: ['d', 'c'] }, { remove: ['b'] }], expected: { members: ['a', 'c', 'd'], among: ['a', 'c'], composed: { add: [entry('d'), entry('c')], remove: ['b'] } } },
    { name: 'a replace, then an add', source: ['a', 'b'], operations: [{ replace: ['z'] }, { add: ['c'] }, { remove: ['z'] }], expected: { members: ['c'], among: ['c'], composed: { replace: [entry('c')] } } },
  ];
  for (const row of table) {
    const stored = row.source.map(entry);
    const pending = new PendingMembers({ members: async () => stored, membersAmong: async (_g, ids) => new Set(ids.filter((id) => row.source.includes(id))) }, 'g');
    for (const op of row.operations) pending.apply({ ...(op.replace ? { replace: op.replace.map(entry) } : {}), ...(op.add ? { add: op.add.map(entry) } : {}), ...(op.remove ? { remove: op.remove } : {}) });
    t.same((await pending.members()).map((m) => m.value), row.expected.members, `${row.name}: members`);
    t.same([...(await pending.among(['a', 'b', 'c', 'x']))].sort(), row.expected.among, `${row.name}: among`);
    t.same(pending.composed(), row.expected.composed, `${row.name}: composed`);
  }
});
