/**
 * Shutting down on SIGTERM/SIGINT: stop accepting connections, let the requests in flight finish, close
 * the store, exit. While it drains, /readyz answers 503 and requests arriving on connections kept alive get 503
 * with `Connection: close` (operations.ts), so a load balancer sends them elsewhere. In-flight requests have
 * `graceMs` to finish; past it the process exits anyway (status 1), as an orchestrator would kill it.
 */
import type { FastifyInstance } from 'fastify';

export function closeOnSignals(app: FastifyInstance, graceMs: number, exit: (code: number) => never = process.exit): void {
  let closing = false;
  const close = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal, graceMs }, 'shutting down: finishing the requests in flight');
    const deadline = setTimeout(() => {
      app.log.error({ graceMs }, 'requests still in flight after the grace period; exiting anyway');
      exit(1);
    }, graceMs);
    deadline.unref();
    try {
      // Fastify stops listening, closes idle keep-alive connections, waits for the requests in flight, then runs
      // the onClose hooks (the store's close among them).
      await app.close();
      app.log.info('closed');
      exit(0);
    } catch (err) {
      app.log.error({ err }, 'error while closing');
      exit(1);
    }
  };
  process.on('SIGINT', () => void close('SIGINT'));
  process.on('SIGTERM', () => void close('SIGTERM'));
}
