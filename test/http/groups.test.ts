/**
 * /Groups as Entra ID and Okta use it (../shared/CLIENTS.md), on both stores: members added, removed and replaced in
 * the shapes each client sends, display and $ref filled by the server, User.groups direct and indirect, filters on
 * membership, referential integrity (members must exist; deleting a user or a group takes it out of every group; no
 * cycles), and concurrent member adds to one group, none lost.
 */
import t from 'tap';
import { build, eachStore, ERROR, user } from '../helper';

const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const MS_GROUP = 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

type Json = Record<string, unknown>;

eachStore(t, async (t, kind) => {
  const h = await build(t, kind);
  const post = async (url: string, payload: Json) => h.req({ method: 'POST', url: `/scim/v2${url}`, payload });
  const newUser = async (name: string, extra: Json = {}) => {
    const res = await post('/Users', user(name, extra));
    if (res.statusCode !== 201) throw new Error(`user ${name}: ${res.statusCode} ${res.body}`);
    return h.json(res).id as string;
  };
  const newGroup = async (displayName: string, members: Json[] = [], extra: Json = {}) => {
    const res = await post('/Groups', { schemas: [GROUP], displayName, members, ...extra });
    if (res.statusCode !== 201) throw new Error(`group ${displayName}: ${res.statusCode} ${res.body}`);
    return h.json(res).id as string;
  };
  const patch = (id: string, Operations: unknown[], query = '') =>
    h.req({ method: 'PATCH', url: `/scim/v2/Groups/${id}${query}`, payload: { schemas: [PATCH_OP], Operations } });
  const getGroup = async (id: string, query = '') => h.json(await h.req({ method: 'GET', url: `/scim/v2/Groups/${id}${query}` }));
  const memberIds = async (id: string) => ((((await getGroup(id)).members as Json[] | undefined) ?? []).map((m) => m.value as string)).sort();
  const groupsOf = async (userId: string) =>
    ((h.json(await h.req({ method: 'GET', url: `/scim/v2/Users/${userId}` })).groups as Json[] | undefined) ?? []).map((g) => `${g.value as string}:${g.type as string}`).sort();

  t.test('discovery advertises Groups', async (t) => {
    const types = h.json(await h.req({ method: 'GET', url: '/scim/v2/ResourceTypes' }));
    t.ok((types.Resources as Json[]).some((r) => r.id === 'Group' && r.endpoint === '/Groups'));
    const schema = h.json(await h.req({ method: 'GET', url: `/scim/v2/Schemas/${GROUP}` }));
    t.equal(schema.id, GROUP);
  });

  t.test('Entra ID: POST with its group schema URN and client meta, lookup by displayName excluding members, then member PATCHes', async (t) => {
    const a = await newUser('entra-a', { displayName: 'Entra A' });
    const b = await newUser('entra-b');
    const c = await newUser('entra-c');
    const created = await post('/Groups', {
      schemas: [GROUP, MS_GROUP],
      externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159',
      displayName: 'Entra Sales',
      meta: { resourceType: 'Group' },
    });
    t.equal(created.statusCode, 201, created.body);
    const g = h.json(created);
    t.same(g.schemas, [GROUP]);
    t.notOk('members' in g, 'no members yet');
    t.equal((g.meta as Json).location, `http://localhost:80/scim/v2/Groups/${g.id as string}`);
    const id = g.id as string;

    const found = h.json(await h.req({ method: 'GET', url: `/scim/v2/Groups?filter=${encodeURIComponent('displayName eq "entra sales"')}&excludedAttributes=members` }));
    t.equal(found.totalResults, 1, 'displayName eq matches regardless of case');
    t.equal((found.Resources as Json[])[0]!.id, id);

    // Entra sends `$ref: null` beside the value.
    const add = await patch(id, [{ op: 'Add', path: 'members', value: [{ $ref: null, value: a }, { value: b }, { value: c }] }]);
    t.equal(add.statusCode, 204, 'a group PATCH answers 204 without attributes');
    t.equal(add.body, '');
    t.equal(add.headers.etag, 'W/"2"');
    t.same(await memberIds(id), [a, b, c].sort());
    const full = await getGroup(id);
    t.same(
      (full.members as Json[]).find((m) => m.value === a),
      { value: a, $ref: `http://localhost:80/scim/v2/Users/${a}`, display: 'Entra A', type: 'User' },
      'display from the member, $ref computed, type inferred',
    );
    t.match((full.members as Json[]).find((m) => m.value === b), { display: 'entra-b' }, 'a user without displayName shows its userName');

    // Entra checks a membership with a filter on id and members.
    const check = h.json(
      await h.req({ method: 'GET', url: `/scim/v2/Groups?filter=${encodeURIComponent(`id eq "${id}" and members.value eq "${a}"`)}&excludedAttributes=members` }),
    );
    t.equal(check.totalResults, 1);
    t.notOk('members' in (check.Resources as Json[])[0]!, 'excludedAttributes=members');

    const removed = await patch(id, [{ op: 'Remove', path: 'members', value: [{ value: a }, { value: c }] }]);
    t.equal(removed.statusCode, 204);
    t.same(await memberIds(id), [b], 'Remove with a value list removes only those');
    const none = h.json(
      await h.req({ method: 'GET', url: `/scim/v2/Groups?filter=${encodeURIComponent(`id eq "${id}" and members[value eq "${a}"]`)}` }),
    );
    t.equal(none.totalResults, 0);

    const again = await patch(id, [{ op: 'Remove', path: 'members', value: [{ value: a }] }]);
    t.equal(again.statusCode, 204, 'removing a member the group does not have succeeds');
    t.equal(again.headers.etag, 'W/"3"', '... and changes nothing');
    const withBody = await patch(id, [{ op: 'add', path: 'members', value: [{ value: a }] }], '?attributes=members');
    t.equal(withBody.statusCode, 200, 'attributes asks for a body');
    t.same(((h.json(withBody).members as Json[]) ?? []).map((m) => m.value).sort(), [a, b].sort());
  });

  t.test('Okta: add without type, remove by filter, rename carrying id, full replace', async (t) => {
    const [a, b, c] = [await newUser('okta-a'), await newUser('okta-b'), await newUser('okta-c')];
    const id = await newGroup('Okta Push', [{ value: a, display: 'whatever the client says' }]);
    t.same(await memberIds(id), [a]);
    const res = await patch(id, [
      { op: 'remove', path: `members[value eq "${a}"]` },
      { op: 'add', path: 'members', value: [{ value: b, display: 'okta-b' }, { value: c }] },
    ]);
    t.equal(res.statusCode, 204, res.body);
    t.same(await memberIds(id), [b, c].sort());
    const renamed = await patch(id, [{ op: 'replace', value: { id, displayName: 'Okta Push Renamed' } }]);
    t.equal(renamed.statusCode, 204, renamed.body);
    const g = await getGroup(id);
    t.equal(g.displayName, 'Okta Push Renamed');
    t.same(((g.members as Json[]) ?? []).map((m) => m.value).sort(), [b, c].sort(), 'a rename keeps the members');
    const replaced = await patch(id, [{ op: 'replace', path: 'members', value: [{ value: a }, { value: c }] }]);
    t.equal(replaced.statusCode, 204);
    t.same(await memberIds(id), [a, c].sort());
    // Okta custom apps PUT the whole group.
    const put = await h.req({ method: 'PUT', url: `/scim/v2/Groups/${id}`, payload: { schemas: [GROUP], id, displayName: 'Okta Put', members: [{ value: b }] } });
    t.equal(put.statusCode, 200, put.body);
    t.same(((h.json(put).members as Json[]) ?? []).map((m) => m.value), [b]);
    const rename = await h.req({ method: 'PUT', url: `/scim/v2/Groups/${id}`, payload: { schemas: [GROUP], displayName: 'Okta Put 2' } });
    t.equal(rename.statusCode, 200);
    t.same(await memberIds(id), [b], 'a PUT without members keeps them');
    const clear = await h.req({ method: 'PUT', url: `/scim/v2/Groups/${id}`, payload: { schemas: [GROUP], displayName: 'Okta Put 2', members: [] } });
    t.equal(clear.statusCode, 200);
    t.same(await memberIds(id), [], '"members": [] clears them');
  });

  t.test('path-less add and replace carrying members; remove of all; other value filters', async (t) => {
    const [a, b] = [await newUser('pl-a'), await newUser('pl-b')];
    const sub = await newGroup('PL Sub');
    const id = await newGroup('PL');
    t.equal((await patch(id, [{ op: 'add', value: { members: [{ value: a }, { value: sub, type: 'Group' }] } }])).statusCode, 204);
    t.same(await memberIds(id), [a, sub].sort());
    t.equal((await patch(id, [{ op: 'remove', path: 'members[type eq "Group"]' }])).statusCode, 204);
    t.same(await memberIds(id), [a], 'a filter on type selects among the current members');
    t.equal((await patch(id, [{ op: 'replace', value: { displayName: 'PL 2', members: [{ value: b }] } }])).statusCode, 204);
    const g = await getGroup(id);
    t.equal(g.displayName, 'PL 2');
    t.same(await memberIds(id), [b]);
    t.equal((await patch(id, [{ op: 'remove', path: 'members' }])).statusCode, 204);
    t.same(await memberIds(id), []);
  });

  t.test('User.groups: direct and indirect, readOnly, filterable', async (t) => {
    const u = await newUser('nest-u', { groups: [] });
    const inner = await newGroup('Nest Inner', [{ value: u }]);
    const outer = await newGroup('Nest Outer', [{ value: inner, type: 'Group' }]);
    const top = await newGroup('Nest Top', [{ value: outer }]);
    t.same(await groupsOf(u), [`${inner}:direct`, `${outer}:indirect`, `${top}:indirect`].sort());
    const got = h.json(await h.req({ method: 'GET', url: `/scim/v2/Users/${u}` }));
    t.match((got.groups as Json[]).find((g) => g.value === inner), { display: 'Nest Inner', $ref: `http://localhost:80/scim/v2/Groups/${inner}`, type: 'direct' });
    const byGroup = h.json(await h.req({ method: 'GET', url: `/scim/v2/Users?filter=${encodeURIComponent(`groups.value eq "${top}"`)}` }));
    t.same((byGroup.Resources as Json[]).map((r) => r.id), [u], 'groups.value eq finds indirect members');
    const excluded = h.json(await h.req({ method: 'GET', url: `/scim/v2/Users/${u}?excludedAttributes=groups` }));
    t.notOk('groups' in excluded);
    // groups is readOnly: a client's value is ignored (POST, PUT, PATCH path-less), a path naming it refused.
    const put = await h.req({ method: 'PUT', url: `/scim/v2/Users/${u}`, payload: user('nest-u', { groups: [{ value: 'x' }] }) });
    t.equal(put.statusCode, 200);
    t.same(await groupsOf(u), [`${inner}:direct`, `${outer}:indirect`, `${top}:indirect`].sort());
    const refused = await h.req({ method: 'PATCH', url: `/scim/v2/Users/${u}`, payload: { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'groups', value: [{ value: top }] }] } });
    t.equal(refused.statusCode, 400);
    t.equal(h.json(refused).scimType, 'mutability');
    // A user in no group has no groups attribute and is served from its view.
    const loner = await newUser('nest-loner');
    t.notOk('groups' in h.json(await h.req({ method: 'GET', url: `/scim/v2/Users/${loner}` })));
    // display follows a rename of the group.
    await patch(inner, [{ op: 'replace', path: 'displayName', value: 'Nest Inner Renamed' }]);
    const after = h.json(await h.req({ method: 'GET', url: `/scim/v2/Users/${u}` }));
    t.match((after.groups as Json[]).find((g) => g.value === inner), { display: 'Nest Inner Renamed' });
    t.match(((await getGroup(outer)).members as Json[])[0], { value: inner, display: 'Nest Inner Renamed', type: 'Group' });
  });

  t.test('referential integrity: members must exist, no cycles, deletes cascade', async (t) => {
    const u = await newUser('ri-u', { displayName: 'RI U' });
    const g1 = await newGroup('RI 1', [{ value: u }]);
    const g2 = await newGroup('RI 2', [{ value: g1 }]);
    const missing = await patch(g1, [
      { op: 'add', path: 'members', value: [{ value: u }] },
      { op: 'add', path: 'members', value: [{ value: '0000-nope' }] },
    ]);
    t.equal(missing.statusCode, 400);
    t.match(h.json(missing), { schemas: [ERROR], scimType: 'invalidValue', detail: /operation 2: members\[0\]: no User or Group with id "0000-nope" exists/ });
    const other = await newUser('ri-other');
    const wrongType = await patch(g1, [{ op: 'add', path: 'members', value: [{ value: other, type: 'Group' }] }]);
    t.match(h.json(wrongType), { scimType: 'invalidValue', detail: /no Group with id/ });
    const self = await patch(g1, [{ op: 'add', path: 'members', value: [{ value: g1 }] }]);
    t.match(h.json(self), { scimType: 'invalidValue', detail: /cannot be a member of itself/ });
    const cycle = await patch(g1, [{ op: 'add', path: 'members', value: [{ value: g2, type: 'Group' }] }]);
    t.equal(cycle.statusCode, 400);
    t.match(h.json(cycle), { scimType: 'invalidValue', detail: /cycle/ });
    t.same(await memberIds(g1), [u], 'a refused PATCH changed nothing');
    for (const members of [[{ display: 'Babs' }], [{ value: '' }], [{ value: null }]]) {
      const noMember = await post('/Groups', { schemas: [GROUP], displayName: 'RI none', members });
      t.match(h.json(noMember), { scimType: 'invalidValue', detail: /^members\[0\]: 'value'/ }, `POST ${JSON.stringify(members)}`);
      const put = await h.req({ method: 'PUT', url: `/scim/v2/Groups/${g1}`, payload: { schemas: [GROUP], displayName: 'RI 1', members } });
      t.match(h.json(put), { scimType: 'invalidValue', detail: /^members\[0\]: 'value'/ }, `PUT ${JSON.stringify(members)}`);
    }
    const noTarget = await patch(g1, [{ op: 'replace', path: 'members[value eq "not-a-member"]', value: [{ value: u }] }]);
    t.match(h.json(noTarget), { scimType: 'noTarget', detail: /matched no member/ });
    const badPost = await post('/Groups', { schemas: [GROUP], displayName: 'RI bad', members: [{ value: 'ghost' }] });
    t.match(h.json(badPost), { scimType: 'invalidValue', detail: /members\[0\]: no User or Group with id "ghost"/ });
    t.equal(h.json(await h.req({ method: 'GET', url: `/scim/v2/Groups?filter=${encodeURIComponent('displayName eq "RI bad"')}` })).totalResults, 0, 'nothing was created');
    const immutable = await patch(g1, [{ op: 'replace', path: `members[value eq "${u}"].value`, value: g2 }]);
    t.match(h.json(immutable), { scimType: 'mutability', detail: /operation 1: path/ });
    const noValue = await patch(g1, [{ op: 'add', path: 'members', value: [{ display: 'x' }] }]);
    t.match(h.json(noValue), { scimType: 'invalidValue', detail: /operation 1: members\[0\]: 'value'/ });
    const badType = await patch(g1, [{ op: 'add', path: 'members', value: [{ value: u, type: 'Robot' }] }]);
    t.match(h.json(badType), { scimType: 'invalidValue', detail: /members\[0\].type' must be one of "User", "Group", got "Robot"/ });

    t.equal((await h.req({ method: 'DELETE', url: `/scim/v2/Users/${u}` })).statusCode, 204);
    t.same(await memberIds(g1), [], 'a deleted user leaves every group');
    t.equal((await h.req({ method: 'DELETE', url: `/scim/v2/Groups/${g1}` })).statusCode, 204);
    t.same(await memberIds(g2), [], 'a deleted group leaves every group');
    t.equal((await h.req({ method: 'GET', url: `/scim/v2/Groups/${g1}` })).statusCode, 404);
  });

  t.test('displayName: required, unique regardless of case', async (t) => {
    await newGroup('Unique Name');
    const dup = await post('/Groups', { schemas: [GROUP], displayName: 'UNIQUE name' });
    t.equal(dup.statusCode, 409);
    t.equal(h.json(dup).scimType, 'uniqueness');
    const none = await post('/Groups', { schemas: [GROUP] });
    t.equal(none.statusCode, 400);
  });

  t.test('100 concurrent member adds to one group: all succeed, none lost', async (t) => {
    const id = await newGroup('Concurrent');
    const users: string[] = [];
    for (let i = 0; i < 100; i++) users.push(await newUser(`conc-${i}`));
    const results = await Promise.all(users.map((u) => patch(id, [{ op: 'add', path: 'members', value: [{ value: u }] }])));
    t.same([...new Set(results.map((r) => r.statusCode))], [204], 'every add succeeded');
    t.same(await memberIds(id), [...users].sort(), 'every member is there');
    t.equal((await getGroup(id)).meta && ((await getGroup(id)).meta as Json).version, 'W/"101"', 'one version per add');
  });
});
