/**
 * The BulkRequest message and its order (src/scim/bulk.ts), pure: what the envelope refuses, what an operation
 * refuses in its place, the order references need (RFC 7644 §3.7.2), cycles (§3.7.1), and reference resolution.
 */
import t from 'tap';
import { isMalformed, parseBulkRequest, planBulk, resolveReferences, type BulkOperation } from '../../src/scim/bulk';

const BULK = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
const ENDPOINTS = ['/Users', '/Groups'];
const post = (endpoint: string, bulkId: string, data: Record<string, unknown> = {}) => ({ method: 'POST', path: endpoint, bulkId, data });
const request = (operations: unknown[], extra: Record<string, unknown> = {}) => ({ schemas: [BULK], ...extra, Operations: operations });

t.test('RFC 7644 §3.7.2: a group naming a user of the same request runs after it; the rest keep request order', async (t) => {
  const cases: { name: string; operations: unknown[]; order: number[]; cycles?: Record<number, string[]> }[] = [
    { name: 'no references: request order', operations: [post('/Users', 'a'), post('/Users', 'b'), { method: 'DELETE', path: '/Users/x' }], order: [0, 1, 2] },
    {
      name: "the RFC's example: the group first in the request, its member user pulled before it",
      operations: [post('/Groups', 'ytrewq', { displayName: 'Tour Guides', members: [{ type: 'User', value: 'bulkId:qwerty' }] }), post('/Users', 'qwerty', { userName: 'Alice' })],
      order: [1, 0],
    },
    {
      name: 'a PATCH by bulkId path, and a manager chain, depth first',
      operations: [
        { method: 'PATCH', path: '/Users/bulkId:emp', data: { Operations: [] } },
        post('/Users', 'emp', { 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { manager: { value: 'bulkId:boss' } } }),
        post('/Users', 'boss'),
      ],
      order: [2, 1, 0],
    },
    {
      name: 'RFC 7644 §3.7.1: two groups, each a member of the other, are a cycle',
      operations: [post('/Groups', 'qwerty', { members: [{ value: 'bulkId:ytrewq' }] }), post('/Groups', 'ytrewq', { members: [{ value: 'bulkId:qwerty' }] })],
      order: [1, 0],
      cycles: { 0: ['qwerty', 'ytrewq'], 1: ['qwerty', 'ytrewq'] },
    },
    { name: 'a self-reference is a cycle of one', operations: [post('/Users', 'me', { x: 'bulkId:me' })], order: [0], cycles: { 0: ['me'] } },
    { name: 'an unknown bulkId does not move anything', operations: [post('/Users', 'a', { x: 'bulkId:nowhere' }), post('/Users', 'b')], order: [0, 1] },
  ];
  for (const c of cases) {
    const plan = planBulk(parseBulkRequest(request(c.operations), ENDPOINTS).operations);
    t.same(plan.map((s) => s.index), c.order, c.name);
    const cycles = Object.fromEntries(plan.filter((s) => s.cycle).map((s) => [s.index, [...s.cycle!].sort()]));
    t.same(cycles, c.cycles ?? {}, `${c.name}: cycles`);
  }
});

t.test('the envelope is refused whole; an operation is refused in its place', async (t) => {
  const whole: { body: unknown; status: number; detail: RegExp }[] = [
    { body: 'x', status: 400, detail: /must be a JSON object/ },
    { body: { Operations: [] }, status: 400, detail: /"schemas" must contain/ },
    { body: request([]), status: 400, detail: /non-empty array/ },
    { body: request([{}], { failOnErrors: 1.5 }), status: 400, detail: /"failOnErrors" must be a whole number/ },
    { body: request([post('/Users', 'a'), post('/Groups', 'a')]), status: 400, detail: /operation 2: bulkId 'a' is already the bulkId of operation 1/ },
    { body: request([{}, {}, {}]), status: 413, detail: /3 operations, more than maxOperations \(2\)/ },
  ];
  for (const w of whole) {
    let thrown: unknown;
    try {
      parseBulkRequest(w.body, ENDPOINTS, { maxOperations: 2, maxPayloadSize: 1000 });
    } catch (e) {
      thrown = e;
    }
    t.match(thrown, { status: w.status, detail: w.detail }, JSON.stringify(w.body));
  }
  const parsed = parseBulkRequest(
    request([
      { method: 'put', path: '/users/abc', version: 'W/"2"', data: { userName: 'x' } },
      { method: 'GET', path: '/Users' },
      { method: 'DELETE', path: '/Users/' },
      { method: 'POST', path: '/Users', bulkId: '' , data: {} },
      { method: 'PATCH', path: '/Users/a%20b', data: {} },
    ]),
    ENDPOINTS,
  );
  const [put, get, del, emptyId, patch] = parsed.operations;
  t.match(put, { method: 'PUT', endpoint: '/Users', id: 'abc', version: 'W/"2"' }, 'method and endpoint in any case');
  const refused = [
    { op: get, detail: 'operation 2: "method" must be one of POST, PUT, PATCH, DELETE, got "GET"' },
    { op: del, detail: "operation 3: a DELETE's path must name a resource, such as /Users/{id}" },
    { op: emptyId, detail: 'operation 4: "bulkId" must be a non-empty string, got ""' },
  ];
  for (const { op, detail } of refused) {
    t.ok(op && isMalformed(op), `${detail}: refused in its place`);
    if (op && isMalformed(op)) t.same(op.error.toJSON(), { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '400', scimType: 'invalidValue', detail });
  }
  t.match(patch, { id: 'a b' }, 'the id is percent-decoded');
});

t.test('references resolve anywhere in data; an unresolved one is left to the caller', async (t) => {
  const ids = new Map([['u', 'id-u'], ['m', 'id-m']]);
  const data = { members: [{ value: 'bulkId:u' }, { value: 'plain' }], ext: { manager: { value: 'bulkId:m' } }, note: 'bulkId:', n: 3 };
  t.same(resolveReferences(data, ids, () => { throw new Error('none missing'); }), { members: [{ value: 'id-u' }, { value: 'plain' }], ext: { manager: { value: 'id-m' } }, note: 'bulkId:', n: 3 });
  t.throws(() => resolveReferences({ x: ['bulkId:gone'] }, ids, (b) => { throw new Error(`missing ${b}`); }), /missing gone/);
  const op = parseBulkRequest(request([post('/Groups', 'g', { members: [{ value: 'bulkId:u' }, { value: 'bulkId:u' }, { value: 'bulkId:v' }] })]), ENDPOINTS).operations[0] as BulkOperation;
  t.same(op.references, ['u', 'v'], 'each reference once, in the order found');
});
