import t from 'tap';
import { build, ERROR } from '../helper';
import { SchemaRegistry } from '../../src/scim/schema';

t.test('discovery is public by default and served from schemas/', async (t) => {
  const h = await build(t);
  const spc = await h.app.inject({ method: 'GET', url: '/scim/v2/ServiceProviderConfig' });
  t.equal(spc.statusCode, 200);
  t.match(spc.headers['content-type'], /application\/scim\+json/);
  t.match(spc.json(), {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
    filter: { supported: true, maxResults: Number },
    etag: { supported: true },
    changePassword: { supported: true },
    bulk: { supported: true, maxOperations: 1000, maxPayloadSize: 4194304 },
    authenticationSchemes: [{ type: 'oauthbearertoken' }],
    meta: { resourceType: 'ServiceProviderConfig', location: 'http://localhost:80/scim/v2/ServiceProviderConfig' },
  });

  const types = (await h.app.inject({ method: 'GET', url: '/scim/v2/ResourceTypes' })).json();
  t.match(types, {
    totalResults: 2,
    Resources: [
      { id: 'Group', endpoint: '/Groups', schema: 'urn:ietf:params:scim:schemas:core:2.0:Group' },
      { id: 'User', endpoint: '/Users', schema: 'urn:ietf:params:scim:schemas:core:2.0:User' },
    ],
  });
  const userType = await h.app.inject({ method: 'GET', url: '/scim/v2/ResourceTypes/User' });
  t.match(userType.json(), { id: 'User', meta: { location: 'http://localhost:80/scim/v2/ResourceTypes/User' } });

  const schemas = (await h.app.inject({ method: 'GET', url: '/scim/v2/Schemas' })).json();
  const registry = SchemaRegistry.fromDirectory();
  t.same(
    schemas.Resources.map((s: { id: string }) => s.id).sort(),
    registry.schemas().map((s) => s.id).sort(),
  );
  const user = (await h.app.inject({ method: 'GET', url: '/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User' })).json();
  t.same(user.attributes, registry.schema('urn:ietf:params:scim:schemas:core:2.0:User')!.attributes, 'served exactly as the file says');
  t.notOk(schemas.Resources.some((s: { id: string }) => s.id.includes('internal')), 'common attributes are not a served schema');

  for (const url of ['/scim/v2/Schemas/urn:nope', '/scim/v2/ResourceTypes/Widget']) {
    const res = await h.app.inject({ method: 'GET', url });
    t.equal(res.statusCode, 404, url);
    t.match(res.json(), { schemas: [ERROR], status: '404' });
  }
  const post = await h.app.inject({ method: 'POST', url: '/scim/v2/Schemas', payload: {} });
  t.equal(post.statusCode, 405);
  t.equal(post.headers.allow, 'GET, HEAD');
});

t.test('SCIM_DISCOVERY_PUBLIC=false requires a token', async (t) => {
  const h = await build(t, 'lmdb', { SCIM_DISCOVERY_PUBLIC: 'false' });
  t.equal((await h.app.inject({ method: 'GET', url: '/scim/v2/ServiceProviderConfig' })).statusCode, 401);
  t.equal((await h.req({ method: 'GET', url: '/scim/v2/ServiceProviderConfig' })).statusCode, 200);
});

t.test('health and readiness', async (t) => {
  const h = await build(t);
  t.same((await h.app.inject({ method: 'GET', url: '/healthz' })).json(), { status: 'ok' });
  t.match((await h.app.inject({ method: 'GET', url: '/readyz' })).json(), { status: 'ready', store: 'lmdb', data: { records: 0, bytes: Number } });
  await h.req({ method: 'POST', url: '/scim/v2/Users', payload: { userName: 'counted' } });
  t.match((await h.app.inject({ method: 'GET', url: '/readyz' })).json(), { data: { records: 1 } }, 'the embedded store says how much it holds');
});
