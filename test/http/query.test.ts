/** Querying /Users over HTTP on every store: filters, sorting, index and cursor paging, /.search, injection. */
import t from 'tap';
import { build, eachStore, USER, ENTERPRISE, ERROR, Harness } from '../helper';

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

const injections = ['userName eq "\\" } }, { \\"$where\\": \\"1\\""', 'userName sw ".*"', 'userName co "^"', 'userName eq {"$ne": null}', 'userName eq "$ne"'];

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
      const res = await h.req({ method: 'GET', url: `/scim/v2/Users?filter=${encodeURIComponent(f)}` });
      t.ok(res.statusCode === 200 || res.statusCode === 400, `${f} -> ${res.statusCode}`);
      if (res.statusCode === 200) t.equal(res.json().totalResults, 0, f);
      else t.equal(res.json().scimType, 'invalidFilter', f);
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
