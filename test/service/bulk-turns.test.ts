/**
 * A Bulk of 1,000 POSTs must not add to the turn of the event loop in which the route parsed it (issue 28: at 1M
 * users its start held the loop 22-30 ms): its operations are read with the loop given back when due, and a group of
 * POSTs is stored from a turn of its own.
 */
import t from 'tap';
import { BulkProcessor } from '../../src/service/bulk';
import { ResourceService, type Caller } from '../../src/service/resources';
import { parseBulkRequest } from '../../src/scim/bulk';
import { makeStore } from '../helper';
import { users } from '../store/contract';
import { turnsDuring } from '../support/turns';

const BULK = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';

t.test('a Bulk of 1,000 POSTs stores its group from a turn after the one it was read in, and each is created', async (t) => {
  const { store, cleanup } = await makeStore('lmdb');
  t.teardown(cleanup);
  await store.init([users]);
  const service = new ResourceService(users, { resources: store.resources });
  const processor = new BulkProcessor(new Map([['/Users', service]]));
  const caller: Caller = { subject: 'tester', scopes: ['scim:write'], roles: [], claims: {} };
  const body = { schemas: [BULK], Operations: Array.from({ length: 1000 }, (_, i) => ({ method: 'POST', path: '/Users', bulkId: `b${i}`, data: { schemas: [USER], userName: `turns-${i}` } })) };

  // Whether a turn of the event loop has passed since the request was read: set by a callback queued then. With
  // three operations reading them takes no slice of its own, so what gives the turn is the group's store.
  let turned = false;
  let firstPrepared: boolean | undefined;
  service.use({ name: 'probe', beforeWrite: async () => void (firstPrepared ??= turned) });
  const small = parseBulkRequest({ ...body, Operations: body.Operations.slice(0, 3) }, processor.endpoints);
  setImmediate(() => (turned = true));
  const few = await processor.run(small, caller, (endpoint, id) => `${endpoint}/${id}`);
  t.equal(firstPrepared, true, 'the first POST is prepared in a later turn than the request was read in');
  t.same(few.map((r) => r.status), ['201', '201', '201']);

  const rest = { ...body, Operations: body.Operations.slice(3) };
  const { result, turns } = await turnsDuring(async () => processor.run(parseBulkRequest(rest, processor.endpoints), caller, (endpoint, id) => `${endpoint}/${id}`));
  t.ok(turns > 1, `the event loop ran other work while the Bulk went on (${turns} turns)`);
  t.equal(result.length, 997);
  t.ok(result.every((r) => r.status === '201'), 'every POST created');
});
