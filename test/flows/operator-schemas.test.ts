/**
 * An operator's schemas unlike the examples (test/fixtures/operator-schema: decimal, boolean, binary, writeOnly,
 * immutable and globally unique, returned always and request, a multi-valued complex attribute, a section of its
 * own with writer and reader roles, and a Group extension), used as the clients that meet them use them:
 *  - Okta discovers the attributes from /Schemas and /ResourceTypes;
 *  - an HR feed (role hrAdmin) writes the workforce section, with value filters on certifications;
 *  - Entra ID sends URN-qualified PATCH paths, `Replace` in its capitalisation, booleans as "True";
 *  - everyone else meets the rules: immutable, writeOnly, returned, readers, uniqueness, Bulk, the audit trail.
 */
import t from 'tap';
import { join } from 'node:path';
import { build, eachStore, ERROR, user } from '../helper';

const DIR = join(__dirname, '..', 'fixtures', 'operator-schema');
const WF = 'urn:acme:params:scim:schemas:extension:workforce:1.0:User';
const TEAM = 'urn:acme:params:scim:schemas:extension:team:1.0:Group';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const HR = { roles: ['hrAdmin'], client: 'hr-feed' };
type Json = Record<string, unknown>;

eachStore(t, async (t, kind) => {
  const h = await build(t, kind, { SCIM_SCHEMA_DIR: DIR });
  const post = (payload: Json, as: { roles?: string[]; client?: string } = HR) => h.req({ method: 'POST', url: '/scim/v2/Users', payload, ...as });
  const patch = (id: string, Operations: unknown[], as: { roles?: string[]; client?: string } = HR, query = '') =>
    h.req({ method: 'PATCH', url: `/scim/v2/Users/${id}${query}`, payload: { schemas: [PATCH], Operations }, ...as });

  t.test('Okta: discovery names every characteristic, and both resource types their extension', async (t) => {
    const schema = h.json(await h.req({ method: 'GET', url: `/scim/v2/Schemas/${WF}` }));
    const attrs = Object.fromEntries((schema.attributes as Json[]).map((a) => [a.name, a]));
    t.match(attrs.salaryBand, { type: 'decimal', multiValued: false, mutability: 'readWrite', returned: 'default', uniqueness: 'none' });
    t.match(attrs.legacyId, { type: 'string', caseExact: true, mutability: 'immutable', uniqueness: 'global' });
    t.match(attrs.pin, { mutability: 'writeOnly', returned: 'never' });
    t.match(attrs.certifications, { type: 'complex', multiValued: true, subAttributes: [{ name: 'name' }, { name: 'level', type: 'integer' }, { name: 'issuedOn' }, { name: 'primary' }] });
    t.same((h.json(await h.req({ method: 'GET', url: '/scim/v2/ResourceTypes/Group' })).schemaExtensions as Json[]).at(-1), { schema: TEAM, required: false });
    t.same((h.json(await h.req({ method: 'GET', url: '/scim/v2/ResourceTypes/User' })).schemaExtensions as Json[]).at(-1), { schema: WF, required: false });
  });

  t.test('an HR feed writes its section; readers see it, others do not; returned and writeOnly hold', async (t) => {
    const res = await post(
      user('wf1', {
        [WF]: {
          salaryBand: 4.5,
          remote: true,
          startDate: '2022-02-01T09:00:00Z',
          legacyId: 'L-001',
          pin: '1234',
          internalNotes: 'quiet',
          photoBadge: 'aGVsbG8=',
          certifications: [
            { name: 'CISSP', level: 2, issuedOn: '2020-01-01T00:00:00Z', primary: true },
            { name: 'CKA', level: 1 },
          ],
        },
      }),
    );
    t.equal(res.statusCode, 201, res.body);
    const body = h.json(res);
    const wf = body[WF] as Json;
    t.notOk('pin' in wf, 'writeOnly: never returned');
    t.equal(wf.internalNotes, 'quiet', 'returned request: in the answer to the write that set it');
    const id = body.id as string;
    const got = h.json(await h.req({ method: 'GET', url: `/scim/v2/Users/${id}`, ...HR }));
    t.notOk('internalNotes' in (got[WF] as Json), 'returned request: not by default');
    t.equal((got[WF] as Json).startDate, '2022-02-01T09:00:00Z');
    const asked = h.json(await h.req({ method: 'GET', url: `/scim/v2/Users/${id}?attributes=${encodeURIComponent(`${WF}:internalNotes`)}`, ...HR }));
    t.same(asked[WF], { startDate: '2022-02-01T09:00:00Z', internalNotes: 'quiet' }, 'returned always comes along');
    const outsider = h.json(await h.req({ method: 'GET', url: `/scim/v2/Users/${id}` }));
    t.same(outsider[WF], { legacyId: 'L-001' }, 'a caller without a reader role sees only what is in a section it may read');
    const denied = await post(user('wf-denied', { [WF]: { salaryBand: 1 } }), {});
    t.equal(denied.statusCode, 403, 'writers: only hrAdmin or globalAdmin');
    t.equal(h.json(denied).schemas?.toString(), ERROR);
  });

  t.test('Entra and value filters: URN paths, Replace, "True", certifications[name eq …]', async (t) => {
    const id = h.json(await post(user('wf2', { [WF]: { legacyId: 'L-002', certifications: [{ name: 'CISSP', level: 1 }] } }))).id as string;
    const cases: { source: string; operations: unknown[]; expected: Json }[] = [
      { source: 'Entra boolean as text', operations: [{ op: 'Replace', path: `${WF}:remote`, value: 'True' }], expected: { remote: true } },
      { source: 'a value filter with a sub-attribute', operations: [{ op: 'replace', path: `${WF}:certifications[name eq "CISSP"].level`, value: 3 }], expected: { certifications: [{ name: 'CISSP', level: 3 }] } },
      { source: 'add to a multi-valued complex attribute', operations: [{ op: 'add', path: `${WF}:certifications`, value: [{ name: 'AWS', level: 1 }] }], expected: { certifications: [{ name: 'CISSP', level: 3 }, { name: 'AWS', level: 1 }] } },
      { source: 'remove by value filter', operations: [{ op: 'remove', path: `${WF}:certifications[level lt 2]` }], expected: { certifications: [{ name: 'CISSP', level: 3 }] } },
      { source: 'a path-less value keyed by the URN', operations: [{ op: 'add', value: { [WF]: { salaryBand: 7.25 } } }], expected: { salaryBand: 7.25 } },
    ];
    for (const c of cases) {
      const res = await patch(id, c.operations);
      t.equal(res.statusCode, 200, `${c.source}: ${res.body}`);
      t.match(h.json(res)[WF], c.expected, c.source);
    }
    const errorsTable: { source: string; operations: unknown[]; status: number; scimType: string; detail: RegExp }[] = [
      { source: 'immutable', operations: [{ op: 'replace', path: `${WF}:legacyId`, value: 'L-999' }], status: 400, scimType: 'mutability', detail: /legacyId/ },
      { source: 'a decimal given text', operations: [{ op: 'replace', path: `${WF}:salaryBand`, value: 'high' }], status: 400, scimType: 'invalidValue', detail: /salaryBand/ },
      { source: 'binary that is not base64', operations: [{ op: 'replace', path: `${WF}:photoBadge`, value: '***' }], status: 400, scimType: 'invalidValue', detail: /photoBadge/ },
      { source: 'a filter that matches nothing', operations: [{ op: 'replace', path: `${WF}:certifications[name eq "none"].level`, value: 1 }], status: 400, scimType: 'noTarget', detail: /certifications/ },
      { source: 'an unknown sub-attribute', operations: [{ op: 'replace', path: `${WF}:certifications.grade`, value: 1 }], status: 400, scimType: 'invalidPath', detail: /grade/ },
    ];
    for (const c of errorsTable) {
      const res = await patch(id, c.operations);
      t.equal(res.statusCode, c.status, `${c.source}: ${res.body}`);
      t.equal(h.json(res).scimType, c.scimType, c.source);
      t.match(h.json(res).detail, c.detail, c.source);
    }
    const after = h.json(await h.req({ method: 'GET', url: `/scim/v2/Users/${id}`, ...HR }));
    t.match(after[WF], { legacyId: 'L-002', salaryBand: 7.25 }, 'the refused operations changed nothing');
  });

  t.test('filters and sorting on every type; uniqueness global and caseExact', async (t) => {
    await post(user('wf3', { [WF]: { legacyId: 'ABC', salaryBand: 2, remote: false, startDate: '2019-01-01T00:00:00Z', certifications: [{ name: 'CKA', level: 3 }] } }));
    t.equal((await post(user('wf4', { [WF]: { legacyId: 'abc', salaryBand: 9 } }))).statusCode, 201, 'caseExact: another case is another value');
    const dup = await post(user('wf5', { [WF]: { legacyId: 'ABC' } }));
    t.equal(dup.statusCode, 409);
    t.equal(h.json(dup).scimType, 'uniqueness');
    const list = async (filter: string, extra = '') =>
      (h.json(await h.req({ method: 'GET', url: `/scim/v2/Users?filter=${encodeURIComponent(filter)}${extra}`, ...HR })).Resources as Json[] | undefined)?.map((r) => r.userName) ?? [];
    const cases: { filter: string; expected: string[] }[] = [
      { filter: `${WF}:salaryBand gt 3`, expected: ['wf1', 'wf2', 'wf4'] },
      { filter: `${WF}:remote eq true`, expected: ['wf1', 'wf2'] },
      { filter: `${WF}:legacyId eq "abc"`, expected: ['wf4'] },
      { filter: `${WF}:certifications[name eq "CKA" and level ge 2]`, expected: ['wf3'] },
      { filter: `${WF}:certifications.name eq "cissp"`, expected: ['wf1', 'wf2'] },
      { filter: `${WF}:startDate lt "2021-01-01T00:00:00Z"`, expected: ['wf3'] },
      { filter: `${WF}:photoBadge pr`, expected: ['wf1'] },
    ];
    for (const c of cases) t.same((await list(c.filter)).sort(), c.expected, c.filter);
    t.same(await list(`userName sw "wf"`, `&sortBy=${encodeURIComponent(`${WF}:salaryBand`)}&sortOrder=descending`), ['wf4', 'wf2', 'wf1', 'wf3'], 'sortBy a decimal, unset first descending');
  });

  t.test('a Group extension; Bulk; the audit trail names operator attributes', async (t) => {
    const g = await h.req({ method: 'POST', url: '/scim/v2/Groups', payload: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group', TEAM], displayName: 'Platform', [TEAM]: { costCenter: 'CC-7', channel: 'https://chat.example.com/platform' } } });
    t.equal(g.statusCode, 201, g.body);
    const found = h.json(await h.req({ method: 'GET', url: `/scim/v2/Groups?filter=${encodeURIComponent(`${TEAM}:costCenter eq "cc-7"`)}` }));
    t.equal(found.totalResults, 1);
    const bulk = await h.req({
      method: 'POST',
      url: '/scim/v2/Bulk',
      ...HR,
      payload: {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'],
        Operations: [
          { method: 'POST', path: '/Users', bulkId: 'a', data: user('bulk-wf', { [WF]: { legacyId: 'B-1', remote: true } }) },
          { method: 'PATCH', path: '/Users/bulkId:a', data: { schemas: [PATCH], Operations: [{ op: 'replace', path: `${WF}:salaryBand`, value: 1.5 }] } },
          { method: 'POST', path: '/Users', bulkId: 'b', data: user('bulk-wf2', { [WF]: { legacyId: 'B-1' } }) },
        ],
      },
    });
    t.equal(bulk.statusCode, 200, bulk.body);
    t.same((h.json(bulk).Operations as Json[]).map((o) => o.status), ['201', '200', '409']);
    const id = (h.json(bulk).Operations as Json[])[0]!.location!.toString().split('/').pop()!;
    const audit = await h.req({ method: 'GET', url: `/scim/v2/AuditEvents?resourceId=${id}`, roles: ['globalAdmin'] });
    t.equal(audit.statusCode, 200, audit.body);
    t.match(audit.body, `${WF}:salaryBand`);
  });
});
