import t from 'tap';
import { CursorCodec, CursorState } from '../../src/scim/cursor';
import { ScimError } from '../../src/scim/errors';

function scimTypeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof ScimError && e.status === 400 ? e.scimType : 'not a 400 ScimError';
  }
  return 'no error';
}

const after = (id: string, value?: string | number | boolean): CursorState => ({
  position: { direction: 'after', key: value === undefined ? { id } : { id, value } },
  count: 10,
});

t.test('round trip, binding, tampering, expiry', async (t) => {
  let now = Date.parse('2026-01-01T00:00:00Z');
  const codec = new CursorCodec('secret', 60, () => now);
  const c = codec.encode(after('abc'), 'User\0');
  t.same(codec.decode(c, 'User\0'), after('abc'));
  const before: CursorState = { position: { direction: 'before', key: { id: 'x', value: 'a value' } }, count: 0 };
  t.same(codec.decode(codec.encode(before, 'ctx'), 'ctx'), before, 'a sort value and count 0 survive');
  for (const value of [42, false, '', 'ünïcødé 😀']) t.same(codec.decode(codec.encode(after('i', value), 'ctx'), 'ctx'), after('i', value), `value ${JSON.stringify(value)}`);
  const start: CursorState = { position: { direction: 'start' }, count: 5 };
  t.same(codec.decode(codec.encode(start, 'ctx'), 'ctx'), start, 'the start of the result');
  t.match(c, /^[A-Za-z0-9_.-]+$/, 'only unreserved URL characters (RFC 9865 §2)');

  const cases: { name: string; cursor: string; context: string; scimType: string }[] = [
    { name: 'other filter', cursor: c, context: 'User\0title pr', scimType: 'invalidCursor' },
    { name: 'garbage', cursor: 'not-a-cursor', context: 'User\0', scimType: 'invalidCursor' },
    { name: 'flipped signature', cursor: c.slice(0, -2) + (c.endsWith('A') ? 'BB' : 'AA'), context: 'User\0', scimType: 'invalidCursor' },
    { name: 'other key', cursor: new CursorCodec('other', 60, () => now).encode(after('abc'), 'User\0'), context: 'User\0', scimType: 'invalidCursor' },
    { name: 'extra dot', cursor: c + '.x', context: 'User\0', scimType: 'invalidCursor' },
  ];
  for (const k of cases) {
    t.equal(scimTypeOf(() => codec.decode(k.cursor, k.context)), k.scimType, k.name);
  }
  now += 61_000;
  t.equal(scimTypeOf(() => codec.decode(c, 'User\0')), 'expiredCursor', 'expired');
});

t.test('cursorTimeout is a minimum: the expiry rounds up, so a cursor lives at least that long', async (t) => {
  // Issued half a second into a second: rounding down would end it half a second early.
  const issued = Date.parse('2026-01-01T00:00:00.500Z');
  let now = issued;
  const codec = new CursorCodec('secret', 60, () => now);
  const c = codec.encode(after('abc'), 'ctx');
  now = issued + 60_000;
  t.equal(scimTypeOf(() => codec.decode(c, 'ctx')), 'no error', 'valid exactly cursorTimeout seconds after it was issued');
  now = issued + 60_500;
  t.equal(scimTypeOf(() => codec.decode(c, 'ctx')), 'no error', 'still valid at the next whole second');
  now = issued + 60_501;
  t.equal(scimTypeOf(() => codec.decode(c, 'ctx')), 'expiredCursor', 'expired after it');
});

t.test('a cursor of another version or with a malformed payload is invalid, not a crash', async (t) => {
  const codec = new CursorCodec('secret', 60);
  const forge = (payload: unknown) => {
    // Signed with the right key, so only the payload checks stand between it and the store.
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    const mac = (codec as unknown as { sign(b: string): string }).sign(body);
    return `${body}.${mac}`;
  };
  const exp = Math.ceil(Date.now() / 1000) + 60;
  const good = JSON.parse(Buffer.from(codec.encode(after('abc'), 'ctx').split('.')[0]!, 'base64url').toString()) as Record<string, unknown>;
  for (const [name, payload] of [
    ['version 1', { v: 1, d: 'a', id: 'abc', q: good.q, exp }],
    ['no id', { ...good, id: undefined }],
    ['id not a string', { ...good, id: 5 }],
    ['unknown direction', { ...good, d: 'x' }],
    ['count not an integer', { ...good, c: 'ten' }],
    ['negative count', { ...good, c: -1 }],
    ['not an object', 'string'],
    ['null', null],
  ] as const) {
    t.equal(scimTypeOf(() => codec.decode(forge(payload), 'ctx')), 'invalidCursor', name);
  }
});
