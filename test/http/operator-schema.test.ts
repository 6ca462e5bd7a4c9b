/**
 * The operator's own schemas (SCIM_SCHEMA_DIR, examples/schema/), used the way an HR feed, Entra ID and Okta use
 * them: discovery from /Schemas and /ResourceTypes, writes with URN-qualified PATCH paths and path-less bodies keyed
 * by the URN, filters, sorting and projection, sections and sources of authority, uniqueness, Bulk.
 */
import t from 'tap';
import { join } from 'node:path';
import { build, eachStore, ERROR, user } from '../helper';
import { mintToken } from '../../src/cli/mint';

const DIR = join(__dirname, '..', '..', 'examples', 'schema');
const HR = 'urn:example:params:scim:schemas:extension:hr:2.0:User';
const ENTRA = 'urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User';
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';

eachStore(t, async (t, kind) => {
  const h = await build(t, kind, { SCIM_SCHEMA_DIR: DIR, SCIM_AUTHORITIES: '{"hr-feed":["jobInfo","employment"]}' });

  t.test('discovery names the extensions, their attributes and the resource type that carries them', async (t) => {
    const schemas = h.json(await h.req({ method: 'GET', url: '/scim/v2/Schemas' }));
    const ids = (schemas.Resources as { id: string }[]).map((s) => s.id);
    t.ok(ids.includes(HR) && ids.includes(ENTRA), 'both extensions in /Schemas');
    const one = h.json(await h.req({ method: 'GET', url: `/scim/v2/Schemas/${HR}` }));
    t.same((one.attributes as { name: string }[]).map((a) => a.name), ['hireDate', 'terminationDate', 'jobCode', 'workerType', 'badgeNumber', 'workLocation', 'costCenterOwner']);
    const type = h.json(await h.req({ method: 'GET', url: '/scim/v2/ResourceTypes/User' }));
    t.same(
      (type.schemaExtensions as { schema: string; required: boolean }[]).slice(-2),
      [
        { schema: HR, required: false },
        { schema: ENTRA, required: false },
      ],
    );
  });

  t.test('create, read, filter, sort and project operator attributes', async (t) => {
    const created = await h.req({
      method: 'POST',
      url: '/scim/v2/Users',
      payload: user('ada@example.com', {
        schemas: [USER, HR, ENTRA],
        [HR]: { hireDate: '2021-03-01T00:00:00Z', jobCode: 'ENG-3', workerType: 'Employee', badgeNumber: 'B-100', workLocation: { site: 'Berlin', building: 'A', floor: 3 } },
        [ENTRA]: { CustomAttribute: 'blue' },
      }),
    });
    t.equal(created.statusCode, 201, created.body);
    const body = h.json(created);
    t.same(body.schemas, [USER, HR, ENTRA]);
    t.same(body[HR], { hireDate: '2021-03-01T00:00:00Z', jobCode: 'ENG-3', workerType: 'Employee', badgeNumber: 'B-100', workLocation: { site: 'Berlin', building: 'A', floor: 3 } });
    await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user('bob@example.com', { [HR]: { hireDate: '2019-07-15T00:00:00Z', jobCode: 'OPS-1', workLocation: { site: 'Lisbon' } } }) });
    const list = async (q: string) => {
      const res = await h.req({ method: 'GET', url: `/scim/v2/Users?${q}` });
      t.equal(res.statusCode, 200, res.body);
      return (h.json(res).Resources as Record<string, unknown>[]).map((r) => r.userName);
    };
    t.same(await list(`filter=${encodeURIComponent(`${HR}:jobCode eq "eng-3"`)}`), ['ada@example.com'], 'eq, caseExact false');
    t.same(await list(`filter=${encodeURIComponent('jobCode sw "OPS"')}`), ['bob@example.com'], 'unqualified name of the one extension that has it');
    t.same(await list(`filter=${encodeURIComponent(`${HR}:hireDate gt "2020-01-01T00:00:00Z"`)}`), ['ada@example.com'], 'dateTime range');
    t.same(await list(`filter=${encodeURIComponent(`${HR}:workLocation.site eq "lisbon"`)}`), ['bob@example.com'], 'sub-attribute');
    t.same(await list(`filter=${encodeURIComponent(`${ENTRA}:CustomAttribute pr`)}`), ['ada@example.com'], 'presence');
    t.same(await list(`sortBy=${encodeURIComponent(`${HR}:hireDate`)}`), ['bob@example.com', 'ada@example.com'], 'sortBy');
    const projected = h.json(await h.req({ method: 'GET', url: `/scim/v2/Users?attributes=${encodeURIComponent(`${HR}:jobCode`)}&filter=${encodeURIComponent('userName eq "ada@example.com"')}` }));
    t.same((projected.Resources as Record<string, unknown>[])[0]![HR], { jobCode: 'ENG-3' });
  });

  t.test('PATCH with URN-qualified paths (as Entra sends them) and path-less bodies keyed by the URN', async (t) => {
    const id = h.json(await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user('cy@example.com') })).id as string;
    const patch = (Operations: unknown[]) => h.req({ method: 'PATCH', url: `/scim/v2/Users/${id}`, payload: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations } });
    let res = await patch([
      { op: 'Add', path: `${ENTRA}:CustomAttribute`, value: 'green' },
      { op: 'Replace', path: `${HR}:workLocation.floor`, value: 7 },
      { op: 'add', value: { [`${HR}:jobCode`]: 'FIN-2', [HR]: { workerType: 'Contractor' } } },
    ]);
    t.equal(res.statusCode, 200, res.body);
    let body = h.json(res);
    t.same(body[ENTRA], { CustomAttribute: 'green' });
    t.same(body[HR], { workLocation: { floor: 7 }, jobCode: 'FIN-2', workerType: 'Contractor' });
    res = await patch([{ op: 'replace', path: `${HR}:workLocation.floor`, value: 'seventh' }]);
    t.equal(res.statusCode, 400);
    t.equal(h.json(res).scimType, 'invalidValue');
    t.match(h.json(res).detail, /floor/);
    res = await patch([{ op: 'remove', path: `${HR}:workLocation` }]);
    body = h.json(res);
    t.same(body[HR], { jobCode: 'FIN-2', workerType: 'Contractor' });
  });

  t.test('a unique operator attribute is unique, regardless of case', async (t) => {
    const a = await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user('u1@example.com', { [HR]: { badgeNumber: 'X-1' } }) });
    t.equal(a.statusCode, 201);
    const b = await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user('u2@example.com', { [HR]: { badgeNumber: 'x-1' } }) });
    t.equal(b.statusCode, 409);
    t.equal(h.json(b).scimType, 'uniqueness');
    t.match(h.json(b).detail, `${HR}:badgeNumber`);
  });

  t.test('types, canonical values and unknown names are checked like any attribute', async (t) => {
    const cases: { name: string; ext: Record<string, unknown>; status: number; scimType: string; detail: RegExp }[] = [
      { name: 'dateTime', ext: { [HR]: { hireDate: 'yesterday' } }, status: 400, scimType: 'invalidValue', detail: /hireDate/ },
      { name: 'integer', ext: { [HR]: { workLocation: { floor: 1.5 } } }, status: 400, scimType: 'invalidValue', detail: /floor/ },
      { name: 'unknown attribute of an extension', ext: { [HR]: { shoeSize: 44 } }, status: 400, scimType: 'invalidSyntax', detail: /shoeSize/ },
      { name: 'unknown extension', ext: { 'urn:example:nope:2.0:User': { a: 1 } }, status: 400, scimType: 'invalidSyntax', detail: /urn:example:nope:2.0:User/ },
    ];
    for (const c of cases) {
      const res = await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user(`${c.name.replace(/\W/g, '')}@example.com`, c.ext) });
      t.equal(res.statusCode, c.status, c.name);
      t.equal(h.json(res).schemas?.toString(), ERROR, c.name);
      t.equal(h.json(res).scimType, c.scimType, c.name);
      t.match(h.json(res).detail, c.detail, c.name);
    }
  });

  t.test('sections: a new section appears, a source of authority owns it', async (t) => {
    const sections = await h.req({ method: 'GET', url: '/scim/v2/Sections' });
    t.equal(sections.statusCode, 200, sections.body);
    t.match(sections.body, /employment/);
    const id = h.json(await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user('dee@example.com') })).id as string;
    const hr = await h.req({
      method: 'PATCH',
      url: `/scim/v2/Users/${id}`,
      client: 'hr-feed',
      scope: 'scim:read scim:write:employment scim:write:jobInfo',
      payload: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: `${HR}:hireDate`, value: '2024-01-02T00:00:00Z' }] },
    });
    t.equal(hr.statusCode, 200, hr.body);
    const other = await h.req({
      method: 'PATCH',
      url: `/scim/v2/Users/${id}`,
      payload: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: `${HR}:hireDate`, value: '2024-02-02T00:00:00Z' }] },
    });
    t.equal(other.statusCode, 403, other.body);
    t.match(h.json(other).detail, /employment/);
  });
});

t.test('SCIM_UNKNOWN_ATTRIBUTES=ignore drops what the schemas lack, counts it, and keeps the rest', async (t) => {
  const h = await build(t, 'lmdb', { SCIM_SCHEMA_DIR: DIR, SCIM_UNKNOWN_ATTRIBUTES: 'ignore', SCIM_METRICS_TOKEN: 'metrics-token-long-enough' });
  const OTHER = 'urn:example:unmapped:2.0:User';
  const cases: { source: string; payload: Record<string, unknown>; expected: Record<string, unknown> }[] = [
    {
      source: 'POST with an unknown extension (in schemas and as a key) and an unknown core attribute',
      payload: user('ign1@example.com', { schemas: [USER, OTHER], [OTHER]: { badge: 1 }, shoeSize: 44, [HR]: { jobCode: 'A', nope: true } }),
      expected: { [HR]: { jobCode: 'A' } },
    },
    {
      source: 'POST with an unknown URN-qualified attribute of a known extension',
      payload: user('ign2@example.com', { [`${HR}:favouriteColour`]: 'red', [`${HR}:jobCode`]: 'B' }),
      expected: { [HR]: { jobCode: 'B' } },
    },
  ];
  for (const c of cases) {
    const res = await h.req({ method: 'POST', url: '/scim/v2/Users', payload: c.payload });
    t.equal(res.statusCode, 201, `${c.source}: ${res.body}`);
    const body = h.json(res);
    for (const [k, v] of Object.entries(c.expected)) t.same(body[k], v, c.source);
    t.notOk('shoeSize' in body || OTHER in body, c.source);
  }
  const id = h.json(await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user('ign3@example.com') })).id as string;
  const res = await h.req({
    method: 'PATCH',
    url: `/scim/v2/Users/${id}`,
    payload: {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [
        { op: 'add', path: `${OTHER}:badge`, value: 7 },
        { op: 'replace', path: 'shoeSize', value: 44 },
        { op: 'add', value: { [`${HR}:jobCode`]: 'C', [OTHER]: { badge: 8 }, hobby: 'chess' } },
        { op: 'replace', path: `${HR}:jobCode`, value: 'D' },
      ],
    },
  });
  t.equal(res.statusCode, 200, res.body);
  t.same(h.json(res)[HR], { jobCode: 'D' });
  const ambiguous = await h.req({ method: 'PATCH', url: `/scim/v2/Users/${id}`, payload: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'add', path: 'emails[type eq', value: 1 }] } });
  t.equal(ambiguous.statusCode, 400, 'a malformed path stays an error');
  const metrics = await h.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer metrics-token-long-enough' } });
  t.match(metrics.body, `scim_ignored_attributes_total{type="User",schema="(core)",attribute="shoeSize"} 2`);
  t.match(metrics.body, `scim_ignored_attributes_total{type="User",schema="${OTHER}",attribute="badge"} 3`);
  t.match(metrics.body, `scim_ignored_attributes_total{type="User",schema="${HR}",attribute="favouriteColour"} 1`);
  const filter = await h.req({ method: 'GET', url: `/scim/v2/Users?filter=${encodeURIComponent('shoeSize eq 44')}` });
  t.equal(filter.statusCode, 400, 'a filter on an unknown attribute is still refused: reads are not writes');
});

t.test('/Me: a person finds themselves by an operator attribute and edits an operator section of their own', async (t) => {
  const h = await build(t, 'lmdb', {
    SCIM_SCHEMA_DIR: DIR,
    SCIM_ME_CLAIM: 'badge',
    SCIM_ME_ATTRIBUTE: `${HR}:badgeNumber`,
    SCIM_ME_SECTIONS: 'contact,employment',
  });
  await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user('me@example.com', { [HR]: { badgeNumber: 'ME-1', jobCode: 'X' } }) });
  const token = await mintToken(h.config.jwt, { scope: 'scim:me', ttlSeconds: 600, subject: 'someone', claims: { badge: 'ME-1' } });
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' };
  const got = await h.app.inject({ method: 'GET', url: '/scim/v2/Me', headers });
  t.equal(got.statusCode, 200, got.body);
  t.equal(got.json().userName, 'me@example.com');
  const own = await h.app.inject({
    method: 'PATCH',
    url: '/scim/v2/Me',
    headers,
    payload: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: `${HR}:workLocation.floor`, value: 4 }] },
  });
  t.equal(own.statusCode, 200, own.body);
  t.same(own.json()[HR].workLocation, { floor: 4 });
  const notOwn = await h.app.inject({
    method: 'PATCH',
    url: '/scim/v2/Me',
    headers,
    payload: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: `${HR}:jobCode`, value: 'Y' }] },
  });
  t.equal(notOwn.statusCode, 403, 'jobCode is in jobInfo, not a section of their own');
});
