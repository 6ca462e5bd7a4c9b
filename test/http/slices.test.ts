/** Long arrays sent as streams (http/slices.ts): the same bytes as one JSON.stringify, the loop free in between. */
import t from 'tap';
import { Readable } from 'node:stream';
import { jsonInSlices } from '../../src/http/slices';
import type { JsonObject } from '../../src/scim/values';
import { build, user } from '../helper';

const text = async (r: Readable) => {
  let out = '';
  for await (const chunk of r) out += String(chunk);
  return out;
};

t.test('{ envelope, items }: the bytes JSON.stringify would give', async (t) => {
  const big = Array.from({ length: 5000 }, (_, i) => ({ i, text: 'x'.repeat(i % 300), nested: { a: [i, String(i)] } }));
  const table: { name: string; envelope: JsonObject; items: unknown[] }[] = [
    { name: 'empty envelope, no items', envelope: {}, items: [] },
    { name: 'an envelope, one item', envelope: { schemas: ['x'], itemsPerPage: 1 }, items: [{ a: 1 }] },
    { name: 'thousands of items, over many slices', envelope: { schemas: ['x'], nextCursor: 'c"\\u' }, items: big },
  ];
  for (const row of table) {
    const render = (item: unknown) => ({ rendered: item });
    t.equal(await text(jsonInSlices(row.envelope, 'Resources', row.items, render)), JSON.stringify({ ...row.envelope, Resources: row.items.map(render) }), row.name);
  }
});

t.test('an audit page of more than 100 entries comes as a stream, whole', async (t) => {
  const h = await build(t);
  const created = await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user('audited') });
  const id = h.json(created).id as string;
  for (let i = 0; i < 150; i++) {
    await h.req({ method: 'PATCH', url: `/scim/v2/Users/${id}`, payload: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'title', value: `t${i}` }] } });
  }
  const res = await h.req({ method: 'GET', url: `/scim/v2/AuditEvents?resourceId=${id}&count=1000`, roles: ['globalAdmin'] });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /application\/scim\+json/);
  const page = h.json(res);
  t.equal(page.itemsPerPage, 151);
  t.equal((page.Resources as unknown[]).length, 151);
  t.match((page.Resources as Record<string, unknown>[])[150], { operation: 'patch', versionAfter: 151 });
});
