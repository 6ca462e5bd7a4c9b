/** Liveness and readiness, outside /scim/v2 and unauthenticated, for load balancers and orchestrators. */
import type { FastifyInstance } from 'fastify';
import type { Store } from '../store/store';
import { methodNotAllowed } from './methods';
import { RETRY_AFTER_SECONDS } from '../scim/errors';

export interface HealthOptions {
  /** /readyz answers 503 when the store has not answered a ping in this long. */
  readyTimeoutMs: number;
  /** True while the server shuts down: not ready, so a load balancer stops sending requests. */
  draining?: () => boolean;
}

export function healthRoutes(app: FastifyInstance, store: Store, opts: HealthOptions): void {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (request, reply) => {
    if (opts.draining?.()) return reply.code(503).header('retry-after', String(RETRY_AFTER_SECONDS)).send({ status: 'draining', store: store.kind });
    // An orchestrator's probe has its own short timeout; a hung database must get a clear "not ready" in time,
    // not a probe that times out. The ping goes on in the background and fails by the store's own deadline.
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), opts.readyTimeoutMs);
    });
    try {
      const ping = store.ping();
      ping.catch(() => undefined);
      if ((await Promise.race([ping, late])) === 'late') {
        request.log.warn({ timeoutMs: opts.readyTimeoutMs }, 'store did not answer the readiness ping in time');
        return reply.code(503).header('retry-after', String(RETRY_AFTER_SECONDS)).send({ status: 'unavailable', store: store.kind, reason: 'timeout' });
      }
      const data = store.stats();
      // Indexes built in the background (an operator's attribute indexed since the data was stored): ready, since
      // queries are answered meanwhile, and how far along, so an operator knows when they are fast again.
      const builds = store.indexing();
      const indexing =
        builds.length === 0
          ? undefined
          : {
              fraction: Math.min(1, builds.reduce((n, b) => n + b.done, 0) / Math.max(1, builds.reduce((n, b) => n + b.total, 0))),
              builds: builds.map((b) => ({ resourceType: b.type, paths: b.paths, done: b.done, total: b.total })),
            };
      return { status: 'ready', store: store.kind, ...(data ? { data } : {}), ...(indexing ? { indexing } : {}) };
    } catch (err) {
      request.log.warn({ err }, 'store not reachable');
      return reply.code(503).header('retry-after', String(RETRY_AFTER_SECONDS)).send({ status: 'unavailable', store: store.kind });
    } finally {
      clearTimeout(timer);
    }
  });
  methodNotAllowed(app, '/healthz', ['GET'], { plain: true });
  methodNotAllowed(app, '/readyz', ['GET'], { plain: true });
}
