/**
 * A group with more members than a response renders at once (http/resources.ts renders them in slices and streams
 * the body), on both stores: the same resource as a small group's answer would be, in every projection, in either
 * content type, with its ETag; and Bulk creates of more users than one store transaction holds.
 */
import t from 'tap';
import { build, eachStore, USER } from '../helper';

const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const BULK = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
const N = 2_345;

type Json = Record<string, unknown>;

eachStore(t, async (t, kind) => {
  const h = await build(t, kind);
  const ids: string[] = [];
  for (let start = 0; start < N; start += 1000) {
    const Operations = Array.from({ length: Math.min(1000, N - start) }, (_, i) => ({
      method: 'POST',
      path: '/Users',
      bulkId: `u${start + i}`,
      data: { schemas: [USER], userName: `member-${String(start + i).padStart(5, '0')}`, displayName: `Member ${start + i}` },
    }));
    const res = await h.req({ method: 'POST', url: '/scim/v2/Bulk', payload: { schemas: [BULK], Operations } });
    t.equal(res.statusCode, 200);
    const results = (res.json() as { Operations: { status: string; location: string }[] }).Operations;
    t.ok(results.every((r) => r.status === '201'), `bulk from ${start}: every POST created`);
    ids.push(...results.map((r) => r.location.split('/').pop()!));
  }
  t.equal(new Set(ids).size, N, 'as many users as POSTs');
  const created = await h.req({ method: 'POST', url: '/scim/v2/Groups', payload: { schemas: [GROUP], displayName: 'Everyone' } });
  const group = created.json().id as string;
  for (let i = 0; i < N; i += 1000) {
    const res = await h.req({ method: 'PATCH', url: `/scim/v2/Groups/${group}`, payload: { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: ids.slice(i, i + 1000).map((value) => ({ value })) }] } });
    t.equal(res.statusCode, 204);
  }
  const sorted = [...ids].sort();
  const byId = new Map(ids.map((id, i) => [id, i]));

  t.test('GET renders every member, in member-id order, with display and $ref, and the rest of the group', async (t) => {
    const res = await h.req({ method: 'GET', url: `/scim/v2/Groups/${group}` });
    t.equal(res.statusCode, 200);
    t.match(res.headers['content-type'], /^application\/scim\+json/);
    t.ok(res.headers.etag, 'an ETag');
    const body = res.json() as Json & { members: Json[] };
    t.equal(body.displayName, 'Everyone');
    t.equal(body.id, group);
    t.same(body.schemas, [GROUP]);
    t.equal((body.meta as Json).resourceType, 'Group');
    t.equal(body.members.length, N);
    t.same(body.members.map((m) => m.value), sorted);
    const first = body.members[0]!;
    t.same(first, { value: sorted[0], display: `Member ${byId.get(sorted[0]!)}`, type: 'User', $ref: `http://localhost:80/scim/v2/Users/${sorted[0]}` });
  });

  t.test('projections apply to every slice', async (t) => {
    const values = await h.req({ method: 'GET', url: `/scim/v2/Groups/${group}?attributes=members.value` });
    const v = values.json() as Json & { members: Json[] };
    t.same(Object.keys(v).sort(), ['id', 'members', 'schemas']);
    t.equal(v.members.length, N);
    t.ok(v.members.every((m) => Object.keys(m).length === 1 && typeof m.value === 'string'), 'only value');
    const none = await h.req({ method: 'GET', url: `/scim/v2/Groups/${group}?excludedAttributes=members` });
    t.notOk('members' in (none.json() as Json));
    const onlyMembers = await h.req({ method: 'GET', url: `/scim/v2/Groups/${group}?attributes=members` });
    t.equal((onlyMembers.json() as { members: Json[] }).members.length, N);
  });

  t.test('Accept: application/json gets the same body as application/json', async (t) => {
    const res = await h.req({ method: 'GET', url: `/scim/v2/Groups/${group}?attributes=members.value`, headers: { accept: 'application/json' } });
    t.match(res.headers['content-type'], /^application\/json/);
    t.equal((res.json() as { members: Json[] }).members.length, N);
  });

  t.test('a PATCH that asks for a body gets the whole group too', async (t) => {
    const res = await h.req({ method: 'PATCH', url: `/scim/v2/Groups/${group}?excludedAttributes=meta`, payload: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'displayName', value: 'Everyone, renamed' }] } });
    t.equal(res.statusCode, 200);
    const body = res.json() as Json & { members: Json[] };
    t.equal(body.displayName, 'Everyone, renamed');
    t.notOk('meta' in body);
    t.equal(body.members.length, N);
  });
});
