/** service/page-walks.ts: where a caller's walk by startIndex stands, and when that is forgotten. */
import t from 'tap';
import { PageWalks } from '../../src/service/page-walks';

const key = (id: string) => ({ id });

t.test('the next page and a retry of the last one have positions; nothing else does', async (t) => {
  const walks = new PageWalks({ ttlSeconds: 60, now: () => 0 });
  t.equal(walks.position('w', 11), null, 'no walk yet');
  walks.served('w', 1, { after: undefined }, 10, key('j'));
  t.same(walks.position('w', 11), { after: key('j') }, 'the page after');
  t.same(walks.position('w', 1), { after: undefined }, 'the first page again');
  t.equal(walks.position('w', 21), null, 'a jump');
  t.equal(walks.position('other', 11), null, "another walk's page");
  walks.served('w', 11, { after: key('j') }, 10, key('t'));
  t.same(walks.position('w', 21), { after: key('t') });
  t.same(walks.position('w', 11), { after: key('j') }, 'a retry');
  t.equal(walks.position('w', 1), null, 'two pages back: skipped to');
  // A page read by skipping continues a walk, but its retry is read by skipping again.
  walks.served('w', 40, null, 5, key('z'));
  t.same(walks.position('w', 45), { after: key('z') });
  t.equal(walks.position('w', 40), null);
});

t.test('an empty page changes nothing', async (t) => {
  const walks = new PageWalks({ ttlSeconds: 60, now: () => 0 });
  walks.served('w', 1, { after: undefined }, 3, key('c'));
  walks.served('w', 4, { after: key('c') }, 0, undefined);
  t.same(walks.position('w', 4), { after: key('c') });
});

t.test('walks expire, and the least recently used go first', async (t) => {
  let now = 0;
  const walks = new PageWalks({ ttlSeconds: 10, max: 2, now: () => now });
  walks.served('a', 1, { after: undefined }, 1, key('a1'));
  walks.served('b', 1, { after: undefined }, 1, key('b1'));
  walks.served('a', 2, { after: key('a1') }, 1, key('a2'));
  walks.served('c', 1, { after: undefined }, 1, key('c1'));
  t.equal(walks.size, 2);
  t.equal(walks.position('b', 2), null, 'b was the least recently used');
  t.same(walks.position('a', 3), { after: key('a2') });
  now = 10_000;
  t.equal(walks.position('a', 3), null, 'expired');
  t.equal(walks.size, 1);
});
