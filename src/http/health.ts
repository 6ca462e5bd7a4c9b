/** Liveness and readiness, outside /scim/v2 and unauthenticated, for load balancers and orchestrators. */
import type { FastifyInstance } from 'fastify';
import type { ResourceStore } from '../store/store';
import { methodNotAllowed } from './methods';

export function healthRoutes(app: FastifyInstance, store: ResourceStore): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (request, reply) => {
    try {
      await store.ping();
      return { status: 'ready', store: store.kind };
    } catch (err) {
      request.log.warn({ err }, 'store not reachable');
      return reply.code(503).send({ status: 'unavailable', store: store.kind });
    }
  });
  methodNotAllowed(app, '/healthz', ['GET']);
  methodNotAllowed(app, '/readyz', ['GET']);
}
