/** Querying /Users over HTTP on every store: filters, sorting, index and cursor paging, /.search, injection. */
import t from 'tap';
import { build, eachStore, USER, ENTERPRISE, ERROR, Harness } from '../helper';

type Tap = Parameters<Parameters<typeof t.test>[0]>[0];

const SEARCH = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';

const people = [
  { userName: 'alice', displayName: 'Alice Adams', title: 'Engineer', active: true, name: { familyName: 'Adams', givenName: 'Alice' }, emails: [{ value: 'alice@example.com', type: 'work', primary: true }, { value: 'alice@home.test', type: 'home' }], [ENTERPRISE]: { department: 'R&D', employeeNumber: '001' } },
  { userName: 'Bob', displayName: 'bob brown', title: 'Manager', active: false, name: { familyName: 'Brown' }, emails: [{ value: 'BOB@Example.com', type: 'work' }], [ENTERPRISE]: { department: 'Sales', employeeNumber: '002' } },
  { userName: 'carol', title: 'engineer', active: true, name: { familyName: 'Clark' }, [ENTERPRISE]: { department: 'r&d' } },
  { userName: 'dave', active: true, emails: [{ value: 'dave@other.test', type: 'home' }] },
];

async function seed(h: Harness): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  for (const p of people) {
    const res = await h.req({ method: 'POST', url: '/scim/v2/Users', payload: { schemas: [USER, ENTERPRISE], ...p } });
    ids.set(p.userName, res.json().id);
  }
  return ids;
}

const filters: { filter: string; expected: string[] }[] = [
  { filter: 'userName eq "ALICE"', expected: ['alice'] },
  { filter: 'USERNAME Eq "bob"', expected: ['Bob'] },
  { filter: 'userName ne "alice"', expected: ['Bob', 'carol', 'dave'] },
  { filter: 'userName sw "a"', expected: ['alice'] },
  { filter: 'displayName co "B"', expected: ['Bob'] },
  { filter: 'displayName ew "ADAMS"', expected: ['alice'] },
  { filter: 'title pr', expected: ['alice', 'Bob', 'carol'] },
  { filter: 'not (title pr)', expected: ['dave'] },
  { filter: 'title eq "Engineer"', expected: ['alice', 'carol'] },
  { filter: 'active eq true', expected: ['alice', 'carol', 'dave'] },
  { filter: 'active eq false or userName eq "dave"', expected: ['Bob', 'dave'] },
  { filter: 'emails.value co "example.com"', expected: ['alice', 'Bob'] },
  { filter: 'emails co "@home.test"', expected: ['alice'] },
  { filter: 'emails[type eq "work" and value co "example"]', expected: ['alice', 'Bob'] },
  { filter: 'emails[type eq "home" and value ew ".test"] and not (userName eq "dave")', expected: ['alice'] },
  { filter: 'name.familyName ge "B" and name.familyName lt "C"', expected: ['Bob'] },
  { filter: `${ENTERPRISE}:department eq "R&D"`, expected: ['alice', 'carol'] },
  { filter: `urn:ietf:params:scim:schemas:core:2.0:User:userName eq "carol"`, expected: ['carol'] },
  { filter: 'meta.created gt "2000-01-01T00:00:00Z"', expected: ['alice', 'Bob', 'carol', 'dave'] },
  { filter: '(userName eq "alice" or userName eq "bob") and active eq true', expected: ['alice'] },
  { filter: 'userName eq "alice" or userName eq "bob" and active eq true', expected: ['alice'] },
];

/** Text a query language would read as operators: to a SCIM filter it is a string value (matching no one), or not a filter. */
const injections: { filter: string; status: 200 | 400; detail?: string }[] = [
  { filter: 'userName eq "\\" } }, { \\"$where\\": \\"1\\""', status: 200 },
  { filter: 'userName sw ".*"', status: 200 },
  { filter: 'userName co "^"', status: 200 },
  { filter: 'userName eq "$ne"', status: 200 },
  { filter: 'userName eq {"$ne": null}', status: 400, detail: `filter: expected 'and', 'or' or the end of the filter at position 13 near '"$ne"'` },
];

eachStore(t, async (t, kind) => {
  const h = await build(t, kind);
  const ids = await seed(h);
  const names = (body: { Resources: { userName: string }[] }) => body.Resources.map((r) => r.userName).sort();

  for (const f of filters) {
    t.test(`filter ${f.filter}`, async (t) => {
      const res = await h.req({ method: 'GET', url: `/scim/v2/Users?filter=${encodeURIComponent(f.filter)}` });
      t.equal(res.statusCode, 200, res.body);
      t.same(names(res.json()), [...f.expected].sort());
    });
  }

  t.test('Entra: id eq … and manager eq …', async (t) => {
    const alice = ids.get('alice')!;
    const bob = ids.get('Bob')!;
    const set = await h.req({ method: 'PATCH', url: `/scim/v2/Users/${bob}`, payload: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'Add', path: `${ENTERPRISE}:manager`, value: alice }] } });
    t.equal(set.statusCode, 200);
    const q = `id eq "${bob}" and ${ENTERPRISE}:manager.value eq "${alice}"`;
    const res = await h.req({ method: 'GET', url: `/scim/v2/Users?filter=${encodeURIComponent(q)}` });
    t.same(names(res.json()), ['Bob']);
  });

  t.test('injection attempts are inert', async (t) => {
    for (const f of injections) {
      const res = await h.req({ method: 'GET', url: `/scim/v2/Users?filter=${encodeURIComponent(f.filter)}` });
      t.equal(res.statusCode, f.status, f.filter);
      if (f.status === 200) t.equal(res.json().totalResults, 0, `${f.filter}: matches no one`);
      else t.same(res.json(), { schemas: [ERROR], status: '400', scimType: 'invalidFilter', detail: f.detail }, f.filter);
    }
  });

  t.test('malformed filters -> 400 invalidFilter naming the position', async (t) => {
    for (const f of ['userName eq', 'userName zz "x"', '(userName eq "a"', 'nope eq "x"', 'active gt true', 'emails[type eq "work"', 'name eq "x"']) {
      const res = await h.req({ method: 'GET', url: `/scim/v2/Users?filter=${encodeURIComponent(f)}` });
      t.equal(res.statusCode, 400, f);
      t.match(res.json(), { schemas: [ERROR], scimType: 'invalidFilter', detail: /\w/ }, f);
    }
  });

  t.test('sortBy / sortOrder: case-insensitive, missing last ascending', async (t) => {
    const asc = (await h.req({ method: 'GET', url: '/scim/v2/Users?sortBy=name.familyName' })).json();
    t.same(asc.Resources.map((r: { userName: string }) => r.userName), ['alice', 'Bob', 'carol', 'dave']);
    const desc = (await h.req({ method: 'GET', url: '/scim/v2/Users?sortBy=userName&sortOrder=descending' })).json();
    t.same(desc.Resources.map((r: { userName: string }) => r.userName), ['dave', 'carol', 'Bob', 'alice']);
    const bad = await h.req({ method: 'GET', url: '/scim/v2/Users?sortBy=userName&sortOrder=sideways' });
    t.equal(bad.statusCode, 400);
  });

  t.test('POST /Users/.search and /.search take a SearchRequest', async (t) => {
    for (const url of ['/scim/v2/Users/.search', '/scim/v2/.search']) {
      const res = await h.req({
        method: 'POST',
        url,
        payload: { schemas: [SEARCH], filter: 'title pr', attributes: ['userName'], sortBy: 'userName', startIndex: 1, count: 2 },
      });
      t.equal(res.statusCode, 200, url);
      const body = res.json();
      t.match(body, { totalResults: 3, itemsPerPage: 2, startIndex: 1 }, url);
      t.same(body.Resources.map((r: Record<string, unknown>) => Object.keys(r).sort()), [['id', 'schemas', 'userName'], ['id', 'schemas', 'userName']], url);
      const bad = await h.req({ method: 'POST', url, payload: { filter: 'title pr' } });
      t.equal(bad.statusCode, 400, `${url} without schemas`);
      t.equal(bad.json().scimType, 'invalidSyntax');
      t.equal((await h.req({ method: 'POST', url, payload: { schemas: [SEARCH], filter: 'title zz' } })).json().scimType, 'invalidFilter');
    }
    t.equal((await h.req({ method: 'GET', url: '/scim/v2/Users/.search' })).statusCode, 405);
  });

  t.test('cursor paging (RFC 9865): first page, next, previous, tampering, other filter', async (t) => {
    const first = (await h.req({ method: 'GET', url: '/scim/v2/Users?cursor&count=2' })).json();
    t.equal(first.itemsPerPage, 2);
    t.equal(first.totalResults, 4);
    t.notOk('startIndex' in first);
    t.type(first.nextCursor, 'string');
    t.notOk('previousCursor' in first);
    const second = (await h.req({ method: 'GET', url: `/scim/v2/Users?cursor=${first.nextCursor}&count=2` })).json();
    t.equal(second.itemsPerPage, 2);
    t.notOk('nextCursor' in second, 'last page');
    t.type(second.previousCursor, 'string');
    const back = (await h.req({ method: 'GET', url: `/scim/v2/Users?cursor=${second.previousCursor}&count=2` })).json();
    t.same(back.Resources.map((r: { id: string }) => r.id), first.Resources.map((r: { id: string }) => r.id));
    const all = [...first.Resources, ...second.Resources].map((r: { id: string }) => r.id);
    t.equal(new Set(all).size, 4);

    const tampered = await h.req({ method: 'GET', url: `/scim/v2/Users?cursor=${first.nextCursor}x&count=2` });
    t.equal(tampered.statusCode, 400);
    t.equal(tampered.json().scimType, 'invalidCursor');
    const otherFilter = await h.req({ method: 'GET', url: `/scim/v2/Users?cursor=${first.nextCursor}&filter=${encodeURIComponent('title pr')}` });
    t.equal(otherFilter.json().scimType, 'invalidCursor');
    const mixed = await h.req({ method: 'GET', url: `/scim/v2/Users?cursor=${first.nextCursor}&startIndex=2` });
    t.equal(mixed.statusCode, 400);
  });

  /** Follows nextCursor (or previousCursor) from `url` to the end: the ids in result order, and the last response. */
  const walk = async (t: Tap, url: string, back = false): Promise<{ ids: string[]; last: Record<string, unknown> }> => {
    const ids: string[] = [];
    let next: string | undefined = url;
    let last: Record<string, unknown> = {};
    for (let pages = 0; next !== undefined && pages < 50; pages++) {
      const res = await h.req({ method: 'GET', url: next });
      t.equal(res.statusCode, 200, res.body);
      last = res.json();
      const got = (last.Resources as { id: string }[]).map((r) => r.id);
      if (back) ids.unshift(...got);
      else ids.push(...got);
      const cursor = (back ? last.previousCursor : last.nextCursor) as string | undefined;
      next = cursor === undefined ? undefined : withCursor(url, cursor);
    }
    return { ids, last };
  };
  const withCursor = (url: string, cursor: string) => url.replace(/cursor=[^&]*/, `cursor=${encodeURIComponent(cursor)}`);

  t.test('cursor paging follows sortBy/sortOrder (RFC 9865 §2.2), forwards and back, missing values last', async (t) => {
    const seeded = encodeURIComponent('not (userName sw "churn") and not (userName sw "gap-")');
    const [alice, bob, carol, dave] = ['alice', 'Bob', 'carol', 'dave'].map((n) => ids.get(n)!);
    const missing = [carol!, dave!].sort();
    const ascending = [alice!, bob!, ...missing];
    for (const [order, expected] of [['ascending', ascending], ['descending', [...ascending].reverse()]] as const) {
      for (const count of [1, 3]) {
        const url = `/scim/v2/Users?filter=${seeded}&sortBy=displayName&sortOrder=${order}&count=${count}&cursor=`;
        const forwards = await walk(t, url);
        t.same(forwards.ids, expected, `${order} in pages of ${count}`);
        t.notOk('nextCursor' in forwards.last, `${order}: the last page has no nextCursor`);
        const back = await walk(t, withCursor(url, forwards.last.previousCursor as string), true);
        const lastPage = (forwards.last.Resources as unknown[]).length;
        t.same(back.ids, expected.slice(0, expected.length - lastPage), `${order} in pages of ${count}: back from the last page`);
      }
    }
    const byUserName = (await h.req({ method: 'GET', url: `/scim/v2/Users?filter=${seeded}&sortBy=userName&count=2&cursor` })).json();
    t.same(byUserName.Resources.map((r: { userName: string }) => r.userName), ['alice', 'Bob'], 'sorted the way index paging sorts');
    for (const other of ['sortBy=displayName', 'sortBy=userName&sortOrder=descending', '']) {
      const res = await h.req({ method: 'GET', url: `/scim/v2/Users?filter=${seeded}&${other}&count=2&cursor=${byUserName.nextCursor}` });
      t.equal(res.statusCode, 400, `a cursor issued for sortBy=userName, used with '${other}'`);
      t.equal(res.json().scimType, 'invalidCursor');
    }
    const search = await h.req({
      method: 'POST',
      url: '/scim/v2/Users/.search',
      payload: { schemas: [SEARCH], filter: 'not (userName sw "churn") and not (userName sw "gap-")', sortBy: 'displayName', sortOrder: 'descending', cursor: '', count: 2 },
    });
    t.equal(search.statusCode, 200, search.body);
    t.same(search.json().Resources.map((r: { id: string }) => r.id), [...ascending].reverse().slice(0, 2), 'POST /.search with cursor and sortBy');
  });

  t.test('cursor paging: count above maxPageSize or unlike the first page is 400 invalidCount (RFC 9865 §2.1)', async (t) => {
    for (const url of ['/scim/v2/Users?cursor&count=1001', '/scim/v2/Users?cursor=&count=5000&sortBy=userName']) {
      const res = await h.req({ method: 'GET', url });
      t.equal(res.statusCode, 400, url);
      t.match(res.json(), { schemas: [ERROR], status: '400', scimType: 'invalidCount', detail: /1000/ }, url);
    }
    const search = await h.req({ method: 'POST', url: '/scim/v2/Users/.search', payload: { schemas: [SEARCH], cursor: '', count: 1001 } });
    t.equal(search.json().scimType, 'invalidCount', 'POST /.search too');
    const first = (await h.req({ method: 'GET', url: '/scim/v2/Users?cursor&count=2' })).json();
    t.type(first.nextCursor, 'string');
    for (const count of ['count=3', 'count=1', '', 'count=0']) {
      const res = await h.req({ method: 'GET', url: `/scim/v2/Users?cursor=${first.nextCursor}&${count}` });
      t.equal(res.statusCode, 400, `'${count}' after a cursor issued for count=2`);
      t.match(res.json(), { scimType: 'invalidCount', detail: /count 2/ });
    }
    t.equal((await h.req({ method: 'GET', url: `/scim/v2/Users?cursor=${first.nextCursor}&count=2` })).statusCode, 200, 'the same count is fine');
    const defaults = (await h.req({ method: 'GET', url: '/scim/v2/Users?cursor&count=1' })).json();
    t.equal((await h.req({ method: 'GET', url: `/scim/v2/Users?cursor=${defaults.nextCursor}&COUNT=1` })).statusCode, 200, 'parameter names in any case');
    const zero = await h.req({ method: 'GET', url: '/scim/v2/Users?cursor&count=-5' });
    t.equal(zero.statusCode, 200, 'a negative count is 0 (RFC 9865 §2)');
    t.match(zero.json(), { itemsPerPage: 0, Resources: [] });
    t.ok(zero.json().totalResults > 0, 'count 0: only totalResults');
    t.notOk('nextCursor' in zero.json(), 'no page, no cursor');
    const notInteger = await h.req({ method: 'GET', url: '/scim/v2/Users?cursor&count=ten' });
    t.equal(notInteger.json().scimType, 'invalidValue');
    // Index paging keeps capping (RFC 7644 §3.4.2.4 lets the service provider return fewer).
    const capped = await h.req({ method: 'GET', url: '/scim/v2/Users?count=5000' });
    t.equal(capped.statusCode, 200, 'index paging still caps count');
  });

  t.test('an empty previous page still carries nextCursor when later results exist', async (t) => {
    const gap: string[] = [];
    for (let i = 0; i < 4; i++) gap.push((await h.req({ method: 'POST', url: '/scim/v2/Users', payload: { userName: `gap-${i}` } })).json().id);
    const url = (cursor: string) => `/scim/v2/Users?filter=${encodeURIComponent('userName sw "gap-"')}&count=2&cursor=${cursor}`;
    const first = (await h.req({ method: 'GET', url: url('') })).json();
    const second = (await h.req({ method: 'GET', url: url(first.nextCursor) })).json();
    t.type(second.previousCursor, 'string');
    for (const r of first.Resources) await h.req({ method: 'DELETE', url: `/scim/v2/Users/${r.id}` });
    const empty = (await h.req({ method: 'GET', url: url(second.previousCursor) })).json();
    t.same(empty.Resources, [], 'nothing is left before the second page');
    t.notOk('previousCursor' in empty);
    t.type(empty.nextCursor, 'string', 'but the second page still follows');
    const again = (await h.req({ method: 'GET', url: url(empty.nextCursor) })).json();
    t.same(again.Resources.map((r: { id: string }) => r.id), second.Resources.map((r: { id: string }) => r.id), 'the next page is what was the second');
    t.notOk('previousCursor' in again, 'and it is now the first page');
    for (const r of second.Resources) await h.req({ method: 'DELETE', url: `/scim/v2/Users/${r.id}` });
    const none = (await h.req({ method: 'GET', url: url(second.previousCursor) })).json();
    t.same([none.Resources.length, none.totalResults, 'nextCursor' in none], [0, 0, false], 'no results at all: no nextCursor');
  });

  t.test('paging by cursor while the directory changes returns every user that existed throughout exactly once', async (t) => {
    const before = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const r = await h.req({ method: 'POST', url: '/scim/v2/Users', payload: { userName: `churn-${i}` } });
      before.add(r.json().id);
    }
    const seen: string[] = [];
    let cursor = '';
    let round = 0;
    const deleted = new Set<string>();
    do {
      const page = (await h.req({ method: 'GET', url: `/scim/v2/Users?cursor=${cursor}&count=7&filter=${encodeURIComponent('userName sw "churn-"')}` })).json();
      seen.push(...page.Resources.map((r: { id: string }) => r.id));
      cursor = page.nextCursor ?? '';
      // Meanwhile: create new users and delete some not yet seen.
      await h.req({ method: 'POST', url: '/scim/v2/Users', payload: { userName: `churn-new-${round}` } });
      const victim = [...before].find((id) => !seen.includes(id) && !deleted.has(id));
      if (victim && round % 2 === 0) {
        await h.req({ method: 'DELETE', url: `/scim/v2/Users/${victim}` });
        deleted.add(victim);
      }
      round++;
    } while (cursor !== '' && round < 50);
    t.equal(new Set(seen).size, seen.length, 'no duplicates');
    for (const id of before) if (!deleted.has(id)) t.ok(seen.includes(id), `user ${id} that existed throughout was returned`);
  });

  t.test('ServiceProviderConfig advertises filter, sort and both paging methods', async (t) => {
    const spc = (await h.app.inject({ method: 'GET', url: '/scim/v2/ServiceProviderConfig' })).json();
    t.match(spc, {
      filter: { supported: true, maxResults: 1000 },
      sort: { supported: true },
      patch: { supported: true },
      pagination: { cursor: true, index: true, defaultPageSize: 100, maxPageSize: 1000, cursorTimeout: 3600 },
    });
  });
});
