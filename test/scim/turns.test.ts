/** src/turns.ts: work in slices, and a sort that gives the event loop back, with the order Array.sort gives. */
import t from 'tap';
import { sortInTurns, Turns } from '../../src/turns';
import { turnsDuring } from '../support/turns';

const shuffled = (n: number, seed: number) => {
  let k = seed;
  return Array.from({ length: n }, (_, i) => ({ key: (k = (k * 1103515245 + 12345) % 2147483648) % 1000, at: i }));
};

for (const n of [0, 1, 5, 4096, 4097, 10_000, 50_001]) {
  t.test(`sortInTurns of ${n} items is Array.sort's order, ties kept in arrival order`, async (t) => {
    const items = shuffled(n, n + 7);
    const expected = [...items].sort((a, b) => a.key - b.key);
    await sortInTurns(items, (a, b) => a.key - b.key, new Turns(0));
    t.same(items, expected);
  });
}

t.test('a sort of many items lets other callbacks run', async (t) => {
  const items = shuffled(200_000, 3);
  const { turns } = await turnsDuring(() => sortInTurns(items, (a, b) => a.key - b.key, new Turns(1)));
  t.ok(turns > 2, `callbacks ran while it sorted (${turns})`);
  for (let i = 1; i < items.length; i++) if (items[i - 1]!.key > items[i]!.key) return t.fail(`out of order at ${i}`);
});
