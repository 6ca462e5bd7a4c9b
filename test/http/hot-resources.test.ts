/**
 * Hot resources (issue 28): changes of one resource that queue up behind a running write are stored together in one
 * write (service/write-queue.ts, ResourceService.coalesce), yet each is answered exactly as if it had been made
 * alone, one after another: its own version, its own audit entry, its own error, If-Match compared with the version
 * before it, a unique value checked as it is taken, nothing lost.
 */
import t from 'tap';
import { build, eachStore, ERROR, user } from '../helper';

const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

type Json = Record<string, unknown>;

eachStore(t, async (t, kind) => {
  const h = await build(t, kind);
  // Counts the store writes of resources: a burst of changes of one resource should need far fewer than one each.
  let replaces = 0;
  const resources = h.store.resources;
  const replace = resources.replace.bind(resources);
  resources.replace = (...args) => {
    replaces++;
    return replace(...args);
  };
  const newUser = async (name: string, extra: Json = {}) => {
    const res = await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user(name, extra) });
    if (res.statusCode !== 201) throw new Error(`user ${name}: ${res.statusCode} ${res.body}`);
    return h.json(res).id as string;
  };
  const patch = (type: string, id: string, Operations: unknown[], ifMatch?: string) =>
    h.req({ method: 'PATCH', url: `/scim/v2/${type}/${id}`, payload: { schemas: [PATCH_OP], Operations }, headers: ifMatch ? { 'if-match': ifMatch } : {} });
  const audit = async (id: string) =>
    ((h.json(await h.req({ method: 'GET', url: `/scim/v2/AuditEvents?resourceId=${id}&count=1000`, roles: ['globalAdmin'] })).Resources as Json[]) ?? []);
  const versionOf = (res: { headers: Record<string, unknown> }) => Number(/W\/"(\d+)"/.exec(String(res.headers.etag))?.[1]);

  t.test('50 concurrent PATCHes of one user: one version each, in order, none lost, in far fewer writes', async (t) => {
    const id = await newUser('hot-user');
    replaces = 0;
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => patch('Users', id, [{ op: 'replace', path: 'title', value: `T${i}` }])));
    t.same([...new Set(results.map((r) => r.statusCode))], [200], 'every PATCH succeeded');
    const versions = results.map(versionOf);
    t.same([...versions].sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i + 2), 'versions 2..51, one each');
    results.forEach((r, i) => t.equal(h.json(r).title, `T${i}`, `PATCH ${i} answered with its own change`));
    const last = results[versions.indexOf(51)]!;
    const now = h.json(await h.req({ method: 'GET', url: `/scim/v2/Users/${id}` }));
    t.equal(now.title, h.json(last).title, 'the stored user is the last version');
    t.equal((now.meta as Json).version, 'W/"51"');
    t.ok(replaces < 50, `${replaces} store writes for 50 changes`);
    const entries = (await audit(id)).filter((e) => e.operation === 'patch');
    t.equal(entries.length, 50, 'one audit entry per change');
    t.same(entries.map((e) => [e.versionBefore, e.versionAfter]).sort((a, b) => (a[0] as number) - (b[0] as number)), Array.from({ length: 50 }, (_, i) => [i + 1, i + 2]));
  });

  t.test('a burst of changes each settled on its own: errors, If-Match, no-ops', async (t) => {
    const id = await newUser('burst-user', { title: 'start' });
    // Whatever order they reach the line in, each gets the answer it would get alone, one after another.
    const cases: { name: string; operations: unknown[]; ifMatch?: string; status: number; scimType?: string }[] = [
      { name: 'a title', operations: [{ op: 'replace', path: 'title', value: 'A' }], status: 200 },
      { name: 'a path that names nothing', operations: [{ op: 'replace', path: 'nosuch', value: 'x' }], status: 400, scimType: 'invalidPath' },
      { name: 'a stale If-Match', operations: [{ op: 'replace', path: 'nickName', value: 'x' }], ifMatch: 'W/"999"', status: 412 },
      { name: 'a displayName', operations: [{ op: 'replace', path: 'displayName', value: 'D' }], status: 200 },
      { name: 'removing a required attribute', operations: [{ op: 'remove', path: 'userName' }], status: 400 },
      { name: 'a locale', operations: [{ op: 'add', path: 'locale', value: 'en-US' }], status: 200 },
    ];
    const results = await Promise.all(cases.map((c) => patch('Users', id, c.operations, c.ifMatch)));
    cases.forEach((c, i) => {
      const res = results[i]!;
      t.equal(res.statusCode, c.status, `${c.name}: ${res.body}`);
      if (c.status >= 400) t.match(h.json(res), { schemas: [ERROR], status: String(c.status), ...(c.scimType ? { scimType: c.scimType } : {}) }, c.name);
    });
    const now = h.json(await h.req({ method: 'GET', url: `/scim/v2/Users/${id}` }));
    t.match(now, { title: 'A', displayName: 'D', locale: 'en-US', userName: 'burst-user', meta: { version: 'W/"4"' } });
    t.notOk('nickName' in now, 'the refused change left nothing');
    t.equal((await audit(id)).length, 4, 'create and three changes');
  });

  t.test('If-Match of a version an earlier change of the burst made', async (t) => {
    const id = await newUser('chain-user');
    // Sent together: the second asserts the version the first makes, as a client chaining its own writes would.
    const [a, b, c] = await Promise.all([
      patch('Users', id, [{ op: 'replace', path: 'title', value: 'one' }], 'W/"1"'),
      patch('Users', id, [{ op: 'replace', path: 'title', value: 'two' }], 'W/"2"'),
      patch('Users', id, [{ op: 'replace', path: 'title', value: 'three' }], 'W/"2"'),
    ]);
    t.equal(a!.statusCode, 200);
    t.equal(b!.statusCode, 200, 'If-Match W/"2" holds after the first');
    t.equal(c!.statusCode, 412, 'and no longer after the second');
    t.equal(h.json(await h.req({ method: 'GET', url: `/scim/v2/Users/${id}` })).title, 'two');
  });

  t.test('a unique value in a burst is checked as it is taken', async (t) => {
    await newUser('taken-name');
    const id = await newUser('renamed-user');
    const results = await Promise.all([
      patch('Users', id, [{ op: 'replace', path: 'title', value: 'first' }]),
      patch('Users', id, [{ op: 'replace', path: 'userName', value: 'taken-name' }]),
      patch('Users', id, [{ op: 'replace', path: 'nickName', value: 'nick' }]),
      patch('Users', id, [{ op: 'replace', path: 'userName', value: 'fresh-name' }]),
      patch('Users', id, [{ op: 'replace', path: 'displayName', value: 'last' }]),
    ]);
    t.same(
      results.map((r) => r.statusCode),
      [200, 409, 200, 200, 200],
    );
    t.match(h.json(results[1]!), { scimType: 'uniqueness' });
    const now = h.json(await h.req({ method: 'GET', url: `/scim/v2/Users/${id}` }));
    t.match(now, { userName: 'fresh-name', title: 'first', displayName: 'last', nickName: 'nick', meta: { version: 'W/"5"' } });
  });

  t.test('member adds and removes of one group in a burst, composed', async (t) => {
    const users: string[] = [];
    for (let i = 0; i < 20; i++) users.push(await newUser(`burst-member-${i}`));
    const created = await h.req({ method: 'POST', url: '/scim/v2/Groups', payload: { schemas: [GROUP], displayName: 'Burst', members: users.slice(0, 10).map((value) => ({ value })) } });
    const gid = h.json(created).id as string;
    replaces = 0;
    const ops = [
      ...users.slice(0, 5).map((u) => [{ op: 'remove', path: `members[value eq "${u}"]` }]),
      ...users.slice(10).map((u) => [{ op: 'add', path: 'members', value: [{ value: u }] }]),
      [{ op: 'add', path: 'members', value: [{ value: users[5] }] }],
      [{ op: 'add', path: 'members', value: [{ value: 'no-such-user' }] }],
    ];
    const results = await Promise.all(ops.map((o) => patch('Groups', gid, o)));
    t.same(results.slice(0, 16).map((r) => r.statusCode), Array(16).fill(204), 'removes, adds and the add of a member it has');
    t.equal(results[16]!.statusCode, 400, 'a member that does not exist');
    t.ok(replaces < 15, `${replaces} store writes for 15 changes`);
    const group = h.json(await h.req({ method: 'GET', url: `/scim/v2/Groups/${gid}` }));
    t.same(((group.members as Json[]).map((m) => m.value as string)).sort(), users.slice(5).sort());
    t.equal((group.meta as Json).version, 'W/"16"', 'one version per change that changed the members');
    for (const u of users.slice(0, 5)) t.notOk(h.json(await h.req({ method: 'GET', url: `/scim/v2/Users/${u}` })).groups, 'a removed member is in no group');
  });

  t.test('a delete in a burst of changes: each change is stored before it or answered 404 after it', async (t) => {
    const id = await newUser('doomed-user');
    const results = await Promise.all([
      patch('Users', id, [{ op: 'replace', path: 'title', value: 'a' }]),
      patch('Users', id, [{ op: 'replace', path: 'nickName', value: 'b' }]),
      h.req({ method: 'DELETE', url: `/scim/v2/Users/${id}` }),
      patch('Users', id, [{ op: 'replace', path: 'displayName', value: 'c' }]),
    ]);
    // The line keeps arrival order, which a DELETE (no body to read) can reach before the PATCHes sent with it.
    t.equal(results[2]!.statusCode, 204);
    const changes = [results[0]!, results[1]!, results[3]!];
    for (const r of changes) t.ok(r.statusCode === 200 || r.statusCode === 404, `a change is stored or 404: ${r.statusCode}`);
    const stored = changes.filter((r) => r.statusCode === 200).map(versionOf).sort();
    t.same(stored, stored.map((_, i) => i + 2), 'the changes before the delete made versions 2, 3, …');
    t.equal((await h.req({ method: 'GET', url: `/scim/v2/Users/${id}` })).statusCode, 404);
  });
});
