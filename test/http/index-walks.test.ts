/**
 * Walks by startIndex (RFC 7644 §3.4.2.4), as Okta imports a directory: startIndex=1, then 1+count, ... to the end.
 * A caller's next page is read after the last result of its previous page (service/page-walks.ts), on every store:
 * the same results as skipping while nothing changes, none of the unchanged resources twice or left out when
 * something does, and only for the caller whose walk it is.
 */
import t from 'tap';
import { build, eachStore, USER, type Harness } from '../helper';

type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

const N = 23;
const name = (i: number) => `walker${String(i).padStart(3, '0')}`;

async function seed(h: Harness): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  for (let i = 0; i < N; i++) {
    const res = await h.req({ method: 'POST', url: '/scim/v2/Users', payload: { schemas: [USER], userName: name(i), title: i % 3 === 0 ? 'Engineer' : 'Manager' } });
    ids.set(name(i), res.json().id);
  }
  return ids;
}

interface Page {
  totalResults: number;
  startIndex: number;
  itemsPerPage: number;
  Resources?: { id: string; userName: string }[];
}

async function page(h: Harness, query: string, startIndex: number, count: number, client?: string): Promise<Page> {
  const res = await h.req({ method: 'GET', url: `/scim/v2/Users?${query}${query ? '&' : ''}startIndex=${startIndex}&count=${count}`, client });
  if (res.statusCode !== 200) throw new Error(`${res.statusCode}: ${res.body}`);
  return res.json() as Page;
}

/** A whole walk, page by page, as a client that follows itemsPerPage. */
async function walk(h: Harness, query: string, count: number, client?: string): Promise<string[]> {
  const out: string[] = [];
  for (let start = 1; ; ) {
    const p = await page(h, query, start, count, client);
    const got = (p.Resources ?? []).map((r) => r.userName);
    out.push(...got);
    if (got.length < count || start + got.length > p.totalResults) return out;
    start += got.length;
  }
}

const queries: { query: string; why: string }[] = [
  { query: '', why: 'the whole type, in id order' },
  { query: 'sortBy=userName', why: 'sorted by an indexed attribute' },
  { query: 'sortBy=userName&sortOrder=descending', why: 'sorted the other way' },
  { query: 'sortBy=title', why: 'sorted by a value many share (ties broken by id)' },
  { query: `filter=${encodeURIComponent('title eq "Manager"')}`, why: 'filtered' },
  { query: `filter=${encodeURIComponent('userName sw "walker0"')}&sortBy=meta.created&sortOrder=descending`, why: 'filtered and sorted' },
];

eachStore(t, async (t: Tap, kind) => {
  const h = await build(t, kind);
  const ids = await seed(h);

  for (const { query, why } of queries) {
    t.test(`a walk returns what one page does, each exactly once: ${why}`, async (t) => {
      const all = (await page(h, query, 1, 1000)).Resources!.map((r) => r.userName);
      for (const count of [1, 4, 7]) {
        const walked = await walk(h, query, count);
        t.same(walked, all, `count ${count}`);
        // Pages asked out of order are read by skipping: the same pages.
        const third = await page(h, query, 2 * count + 1, count);
        t.same(third.Resources?.map((r) => r.userName) ?? [], all.slice(2 * count, 3 * count), `count ${count}: page 3 asked directly`);
      }
    });
  }

  t.test('while resources come and go, a walk continues after its last result; another caller gets the offset', async (t) => {
    const q = 'sortBy=userName';
    const first = await page(h, q, 1, 5);
    t.same(first.Resources!.map((r) => r.userName), [0, 1, 2, 3, 4].map(name));
    // Before the walk's position: one deleted, two created (sorting first).
    t.equal((await h.req({ method: 'DELETE', url: `/scim/v2/Users/${ids.get(name(1))}` })).statusCode, 204);
    for (const userName of ['walker-early', 'walker-early2']) {
      const early = await h.req({ method: 'POST', url: '/scim/v2/Users', payload: { schemas: [USER], userName } });
      t.equal(early.statusCode, 201);
      t.teardown(async () => {
        await h.req({ method: 'DELETE', url: `/scim/v2/Users/${early.json().id}` });
      });
    }
    // Ahead of it: one created, which the walk meets.
    const late = await h.req({ method: 'POST', url: '/scim/v2/Users', payload: { schemas: [USER], userName: 'walker005a' } });
    t.equal(late.statusCode, 201);
    t.teardown(async () => {
      await h.req({ method: 'DELETE', url: `/scim/v2/Users/${late.json().id}` });
    });

    const second = await page(h, q, 6, 5);
    t.same(second.Resources!.map((r) => r.userName), [name(5), 'walker005a', name(6), name(7), name(8)], 'the walk: after walker004, nothing twice, nothing left out');
    t.equal(second.startIndex, 6);
    t.equal(second.totalResults, N + 2);
    // The same page again (a client's retry) is the same page.
    t.same((await page(h, q, 6, 5)).Resources!.map((r) => r.userName), second.Resources!.map((r) => r.userName), 'a retry');
    // Another client asking for startIndex 6 has no walk: the sixth result of the directory as it is now.
    const other = await page(h, q, 6, 5, 'another-client');
    t.same(other.Resources!.map((r) => r.userName), [name(4), name(5), 'walker005a', name(6), name(7)], 'another caller: by offset');
    // The walk goes on to the end, without the early ones.
    const rest: string[] = [];
    for (let start = 11; ; start += 5) {
      const p = await page(h, q, start, 5);
      rest.push(...(p.Resources ?? []).map((r) => r.userName));
      if ((p.Resources ?? []).length < 5) break;
    }
    t.same([...first.Resources!.map((r) => r.userName), ...second.Resources!.map((r) => r.userName), ...rest], [0, 1, 2, 3, 4, 5].map(name).concat(['walker005a'], Array.from({ length: N - 6 }, (_, k) => name(k + 6))));
  });

  t.test('startIndex below 1 is 1, and an empty page ends nothing', async (t) => {
    const zero = await page(h, '', 0, 3);
    t.equal(zero.Resources!.length, 3);
    const past = await page(h, '', 10_000, 3);
    t.same(past.Resources ?? [], []);
    t.equal(past.startIndex, 10_000);
  });
});
