import t from 'tap';
import { CursorCodec } from '../../src/scim/cursor';
import { ScimError } from '../../src/scim/errors';

function scimTypeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof ScimError && e.status === 400 ? e.scimType : 'not a 400 ScimError';
  }
  return 'no error';
}

t.test('round trip, binding, tampering, expiry', async (t) => {
  let now = Date.parse('2026-01-01T00:00:00Z');
  const codec = new CursorCodec('secret', 60, () => now);
  const c = codec.encode({ direction: 'after', id: 'abc' }, 'User\0');
  t.same(codec.decode(c, 'User\0'), { direction: 'after', id: 'abc' });
  t.same(codec.decode(codec.encode({ direction: 'before', id: 'x' }, 'ctx'), 'ctx'), { direction: 'before', id: 'x' });

  const cases: { name: string; cursor: string; context: string; scimType: string }[] = [
    { name: 'other filter', cursor: c, context: 'User\0title pr', scimType: 'invalidCursor' },
    { name: 'garbage', cursor: 'not-a-cursor', context: 'User\0', scimType: 'invalidCursor' },
    { name: 'flipped signature', cursor: c.slice(0, -2) + (c.endsWith('A') ? 'BB' : 'AA'), context: 'User\0', scimType: 'invalidCursor' },
    { name: 'other key', cursor: new CursorCodec('other', 60, () => now).encode({ direction: 'after', id: 'abc' }, 'User\0'), context: 'User\0', scimType: 'invalidCursor' },
    { name: 'extra dot', cursor: c + '.x', context: 'User\0', scimType: 'invalidCursor' },
  ];
  for (const k of cases) {
    t.equal(scimTypeOf(() => codec.decode(k.cursor, k.context)), k.scimType, k.name);
  }
  now += 61_000;
  t.equal(scimTypeOf(() => codec.decode(c, 'User\0')), 'expiredCursor', 'expired');
});
