/**
 * The floor of `npm run bench -- http`: a bare Fastify server, as a careful Fastify service would be with no SCIM in
 * it, answering the same shapes of request as the server with fixed bodies of the same size: a user (GET), the
 * user after a change (PATCH and POST: the JSON body parsed, the user sent back), a one-user list and a page of 100.
 * No auth, no store, no logging. Run as its own process: `node dist/bench/floor.js` with PORT (and HOST).
 *
 * With FLOOR_LMDB_DIR (and FLOOR_LMDB_SIZE), it is also the durable floor: PATCH /durable/Users/:n and POST
 * /durable/Users do the floor's work plus the least a durable write does, with the lmdb package and the store's
 * options, in a directory of its own seeded with FLOOR_LMDB_SIZE users of the same size: PATCH reads user n and
 * commits it back, POST commits a new user; each is answered once the commit is flushed, as the server's are.
 */
import { randomUUID } from 'node:crypto';
import Fastify from 'fastify';
import { open } from 'lmdb';
import { LMDB_OPTIONS } from '../src/store/lmdb';

/** A user as the server renders one of the benchmark's seeded users (about 900 bytes). */
export const FLOOR_USER = {
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'],
  id: '2819c223-7f76-453a-919d-413861904646',
  externalId: '9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d',
  userName: 'user004711',
  name: { formatted: 'Given Family47', familyName: 'Family47', givenName: 'Given' },
  displayName: 'User 004711',
  title: 'Senior Engineer',
  active: true,
  emails: [
    { value: 'user004711@example.com', type: 'work', primary: true },
    { value: 'u004711@mail.example.net', type: 'home' },
  ],
  'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': {
    employeeNumber: 'E004711',
    costCenter: 'CC-12',
    department: 'Engineering',
    manager: { value: '26118915-6090-4610-87e4-49d8ca9f808d', $ref: 'http://127.0.0.1/scim/v2/Users/26118915-6090-4610-87e4-49d8ca9f808d', displayName: 'User 000588' },
  },
  meta: {
    resourceType: 'User',
    created: '2024-03-01T10:00:00.000Z',
    lastModified: '2024-03-01T10:00:00.000Z',
    version: 'W/"1"',
    location: 'http://127.0.0.1/scim/v2/Users/2819c223-7f76-453a-919d-413861904646',
  },
};

const list = (n: number) => ({
  schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
  totalResults: 100000,
  startIndex: 1,
  itemsPerPage: n,
  Resources: Array.from({ length: n }, () => FLOOR_USER),
});

export function floorApp() {
  const app = Fastify({ logger: false });
  // SCIM's media type, parsed as JSON with Fastify's own parser, as the server does.
  app.addContentTypeParser('application/scim+json', { parseAs: 'string' }, app.getDefaultJsonParser('error', 'error'));
  app.get('/floor/Users/:id', async () => FLOOR_USER);
  app.patch('/floor/Users/:id', async (request) => ({ ...FLOOR_USER, title: (request.body as { Operations?: unknown[] }).Operations ? 'changed' : FLOOR_USER.title }));
  app.post('/floor/Users', async (request, reply) => reply.code(201).send({ ...FLOOR_USER, userName: (request.body as { userName?: string }).userName }));
  const one = list(1);
  const hundred = list(100);
  app.get('/floor/Users', async (request) => ((request.query as { count?: string }).count === '100' ? hundred : one));
  return app;
}

/** The durable floor's routes (see above) on `app`, over a directory seeded with `size` users. */
export function durableFloor(app: ReturnType<typeof floorApp>, dir: string, size: number): void {
  const env = open({ path: dir, ...LMDB_OPTIONS } as Parameters<typeof open>[0]);
  const users = env.openDB<typeof FLOOR_USER, [string, string]>({ name: 'records' });
  const key = (n: number): [string, string] => ['User', String(n % size).padStart(7, '0')];
  env.transactionSync(() => {
    for (let n = 0; n < size; n++) users.put(key(n), { ...FLOOR_USER, userName: `user${n}` });
  });
  app.patch('/durable/Users/:n', async (request) => {
    const k = key(Number((request.params as { n: string }).n));
    await env.transaction(() => users.put(k, users.get(k)!));
    await env.flushed;
    return { ...FLOOR_USER, title: (request.body as { Operations?: unknown[] }).Operations ? 'changed' : FLOOR_USER.title };
  });
  app.post('/durable/Users', async (request, reply) => {
    const user = { ...FLOOR_USER, id: randomUUID(), userName: (request.body as { userName?: string }).userName ?? '' };
    await env.transaction(() => users.put(['User', user.id], user));
    await env.flushed;
    return reply.code(201).send(user);
  });
  app.addHook('onClose', async () => env.close());
}

if (require.main === module) {
  const app = floorApp();
  if (process.env.FLOOR_LMDB_DIR) durableFloor(app, process.env.FLOOR_LMDB_DIR, Number(process.env.FLOOR_LMDB_SIZE ?? 100_000));
  app.listen({ port: Number(process.env.PORT ?? 0), host: process.env.HOST ?? '127.0.0.1' }).catch((e: unknown) => {
    process.stderr.write(`floor: ${String(e)}\n`);
    process.exit(1);
  });
}
