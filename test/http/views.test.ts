/**
 * GET by id answers from the view (the stored default representation), which both stores keep with the record: what it sends
 * must be what rendering the record sends (a list, a record stored without a view), for every write that changes a
 * user, and never a text left from an earlier version or other schemas.
 */
import t from 'tap';
import { build, eachStore, user, ENTERPRISE } from '../helper';
import type { StoredRecord } from '../../src/scim/resource';

const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

eachStore(t, async (t, kind) => {
  const h = await build(t, kind);
  const users = h.app.users;
  /**
   * The user as rendered from the record, never from a view: excluding `password` (returned "never") asks
   * for the default set by another name, which views do not serve.
   */
  const listed = async (id: string) => {
    const res = await h.req({ method: 'GET', url: `/scim/v2/Users?excludedAttributes=password&filter=${encodeURIComponent(`id eq "${id}"`)}` });
    return (h.json(res).Resources as Record<string, unknown>[])[0];
  };

  t.test('GET equals the rendered resource after POST, PATCH, PUT and a manager rename', async (t) => {
    const boss = h.json(await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user('v-boss', { displayName: 'Boss' }) }));
    const ann = h.json(
      await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user('v-ann', { [ENTERPRISE]: { manager: { value: boss.id } } }) }),
    );
    const id = ann.id as string;
    const check = async (label: string) => {
      const got = await h.req({ method: 'GET', url: `/scim/v2/Users/${id}` });
      t.equal(got.statusCode, 200, label);
      t.match(got.headers['content-type'], /^application\/scim\+json/, label);
      t.same(got.json(), await listed(id), label);
      t.equal(got.headers.etag, (got.json() as { meta: { version: string } }).meta.version, `${label}: ETag is meta.version`);
      t.equal(got.headers.location, `http://localhost:80/scim/v2/Users/${id}`, `${label}: Location`);
    };
    await check('created');
    const patched = await h.req({
      method: 'PATCH',
      url: `/scim/v2/Users/${id}`,
      payload: { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { title: 'Lead', [`${ENTERPRISE}:department`]: 'Sales' } }] },
    });
    t.equal(patched.statusCode, 200);
    t.same(patched.json(), await listed(id), 'the PATCH response is the rendered resource');
    await check('patched');
    await h.req({ method: 'PUT', url: `/scim/v2/Users/${id}`, payload: user('v-ann', { title: 'Lead', [ENTERPRISE]: { manager: { value: boss.id } } }) });
    await check('replaced');
    // A rename of the manager reaches the report's manager.displayName through the rule's repair: a write too.
    await h.req({ method: 'PATCH', url: `/scim/v2/Users/${boss.id}`, payload: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'displayName', value: 'Big Boss' }] } });
    await check('manager renamed');
    t.match(((await h.req({ method: 'GET', url: `/scim/v2/Users/${id}` })).json() as Record<string, { manager: unknown }>)[ENTERPRISE]!.manager, {
      displayName: 'Big Boss',
    });
  });

  t.test('lists: the views spliced into a ListResponse read as the rendered list, by GET and by .search', async (t) => {
    for (let i = 0; i < 5; i++) {
      await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user(`v-list-${i}`, { title: i % 2 ? 'odd "quoted"' : 'even', emails: [{ value: `l${i}@example.com`, type: 'work' }] }) });
    }
    const filter = encodeURIComponent('userName sw "v-list-"');
    const rendered = await h.req({ method: 'GET', url: `/scim/v2/Users?excludedAttributes=password&sortBy=userName&filter=${filter}` });
    const fast = await h.req({ method: 'GET', url: `/scim/v2/Users?sortBy=userName&filter=${filter}` });
    t.equal(fast.statusCode, 200);
    t.match(fast.headers['content-type'], /^application\/scim\+json/);
    t.same(fast.json(), rendered.json());
    t.equal((fast.json() as { totalResults: number }).totalResults, 5);
    const searched = await h.req({ method: 'POST', url: '/scim/v2/Users/.search', payload: { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter: 'userName sw "v-list-"', sortBy: 'userName' } });
    t.same(searched.json(), rendered.json());
    const root = await h.req({ method: 'POST', url: '/scim/v2/.search', payload: { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter: 'userName sw "v-list-"', sortBy: 'userName' } });
    t.same(root.json(), rendered.json());
    const cursor = await h.req({ method: 'GET', url: `/scim/v2/Users?cursor=&count=2&filter=${filter}` });
    t.equal((cursor.json() as { Resources: unknown[] }).Resources.length, 2);
    t.type((cursor.json() as { nextCursor: string }).nextCursor, 'string');
  });

  t.test('the base URL the client used, JSON-escaped, and the default attribute set only without attributes', async (t) => {
    const id = h.json(await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user('v-host') })).id as string;
    const res = await h.req({ method: 'GET', url: `/scim/v2/Users/${id}`, headers: { host: 'scim.example.com:8443' } });
    t.equal((res.json() as { meta: { location: string } }).meta.location, `http://scim.example.com:8443/scim/v2/Users/${id}`);
    const some = await h.req({ method: 'GET', url: `/scim/v2/Users/${id}?attributes=userName` });
    t.same(Object.keys(some.json() as object).sort(), ['id', 'schemas', 'userName']);
    const without = await h.req({ method: 'GET', url: `/scim/v2/Users/${id}?excludedAttributes=emails` });
    t.notOk('emails' in (without.json() as object));
    t.ok('userName' in (without.json() as object));
  });

  t.test('a view is written with the record and goes with it', async (t) => {
    const created = h.json(await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user('v-kept') }));
    const id = created.id as string;
    const view = (await users.viewOf(id));
    t.equal(view?.version, 1);
    await h.req({ method: 'PATCH', url: `/scim/v2/Users/${id}`, payload: { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'title', value: 'x' }] } });
    t.equal((await users.viewOf(id))?.version, 2, 'rewritten with the record');
    t.equal((await h.req({ method: 'DELETE', url: `/scim/v2/Users/${id}` })).statusCode, 204);
    t.equal((await users.viewOf(id)), undefined, 'deleted with the record');
    t.equal((await h.req({ method: 'GET', url: `/scim/v2/Users/${id}` })).statusCode, 404);
  });

  t.test('a record written without a view (or with another format) is rendered, never served stale', async (t) => {
    const id = h.json(await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user('v-stale', { title: 'old' }) })).id as string;
    const current = (await h.store.resources.get(users.schema, id))!;
    // A write that brings no view (another version of the server, or a resource holding the placeholder) must
    // remove the one stored for the previous version.
    const next: StoredRecord = { ...current, version: 2, resource: { ...current.resource, title: 'new', meta: { ...current.resource.meta, version: 'W/"2"' } } };
    t.equal(await h.store.resources.replace(users.schema, { record: next, expectedVersion: 1 }), 'ok');
    t.equal((await users.viewOf(id)), undefined);
    const got = await h.req({ method: 'GET', url: `/scim/v2/Users/${id}` });
    t.equal((got.json() as { title: string }).title, 'new');
    t.equal(got.headers.etag, 'W/"2"');
    // A text made with other schemas (an older server) is not served.
    const third: StoredRecord = { ...next, version: 3, resource: { ...next.resource, title: 'third', meta: { ...next.resource.meta, version: 'W/"3"' } }, view: 'old-fingerprint:User\n{"title":"stale"}' };
    t.equal(await h.store.resources.replace(users.schema, { record: third, expectedVersion: 2 }), 'ok');
    t.equal((await users.viewOf(id))?.version, 3);
    t.equal(((await h.req({ method: 'GET', url: `/scim/v2/Users/${id}` })).json() as { title: string }).title, 'third');
  });

  t.test('a resource holding the placeholder is stored without a view and still served right', async (t) => {
    const res = await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user('v-nul', { displayName: '\u0000scim-base-url' }) });
    t.equal(res.statusCode, 201);
    const id = h.json(res).id as string;
    t.equal((await users.viewOf(id)), undefined);
    t.equal(((await h.req({ method: 'GET', url: `/scim/v2/Users/${id}` })).json() as { displayName: string }).displayName, '\u0000scim-base-url');
  });
});
