/**
 * The floor of `npm run bench -- http`: a bare Fastify server, as a careful Fastify service would be with no SCIM in
 * it, answering the same shapes of request as the server with fixed bodies of the same size: a user (GET), the
 * user after a change (PATCH and POST: the JSON body parsed, the user sent back), a one-user list and a page of 100.
 * No auth, no store, no logging. Run as its own process: `node dist/bench/floor.js` with PORT (and HOST).
 */
import Fastify from 'fastify';

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

if (require.main === module) {
  const app = floorApp();
  app.listen({ port: Number(process.env.PORT ?? 0), host: process.env.HOST ?? '127.0.0.1' }).catch((e: unknown) => {
    process.stderr.write(`floor: ${String(e)}\n`);
    process.exit(1);
  });
}
