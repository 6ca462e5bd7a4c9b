/**
 * Prometheus metrics at GET /metrics (text format 0.0.4, prom-client): what an operator watches of a provisioning
 * server that runs unattended. Per app (a registry of its own, so tests and several apps in a process never mix
 * figures), plus the process's own (event-loop lag, heap, CPU, handles), collected once per process.
 *
 * - scim_http_requests_total{method,route,status} and scim_http_request_duration_seconds{method,route}: by route
 *   template (`/scim/v2/Users/:id`), never by URL, so ids never become label values; unmatched URLs are "unmatched".
 * - scim_errors_total{status,scimType}: every SCIM error answered (409 uniqueness, 412, 503…), by type.
 * - scim_bounds_hit_total{bound}: requests refused by a request bound, named by its setting (SCIM_MAX_VALUES…).
 * - scim_rate_limited_total{kind}: 429s, per caller or per address.
 * - scim_write_retries_total{type}: writes applied again after losing a version race (resources.ts).
 * - scim_store_operation_duration_seconds{store,operation}, scim_store_errors_total{store,operation}: every store
 *   call (measuredStore), errors being the store's own (unreachable, timed out), not a client's (uniqueness).
 * - scim_resources{type}: resources stored, read from the store when scraped.
 * - scim_draining: 1 while the server shuts down.
 * An operator may require a token for the endpoint (SCIM_METRICS_TOKEN): the figures say how busy a directory is.
 */
import { timingSafeEqual } from 'node:crypto';
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { isScimError, type ScimError } from '../scim/errors';
import type { Store } from '../store/store';
import { methodNotAllowed } from './methods';

/** The process's own metrics, collected once however many apps a process builds (tests build hundreds). */
let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    // Sampled every 5 ms: nodejs_eventloop_lag_max_seconds then tells a stall of one request (the thing to watch:
    // no request may hold the loop past 20 ms) to within 5 ms, at the cost of 200 timer wake-ups a second.
    collectDefaultMetrics({ register: processRegistry, eventLoopMonitoringPrecision: 5 });
  }
  return processRegistry;
}

/** The SCIM error each request was answered with, if any (set by errors.ts's sendScimError). */
const answered = new WeakMap<FastifyRequest, ScimError>();
export function noteScimError(request: FastifyRequest, error: ScimError): void {
  answered.set(request, error);
}

/** The most distinct (schema, attribute) pairs scim_ignored_attributes_total counts apart. */
const IGNORED_SERIES = 200;

export class Metrics {
  readonly registry = new Registry();
  readonly requests = new Counter({ name: 'scim_http_requests_total', help: 'HTTP requests answered, by route template, method and status', labelNames: ['method', 'route', 'status'], registers: [this.registry] });
  readonly duration = new Histogram({
    name: 'scim_http_request_duration_seconds',
    help: 'Time from a request arriving to its answer, by route template and method',
    labelNames: ['method', 'route'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly errors = new Counter({ name: 'scim_errors_total', help: 'SCIM errors answered, by status and scimType', labelNames: ['status', 'scimType'], registers: [this.registry] });
  readonly bounds = new Counter({ name: 'scim_bounds_hit_total', help: 'Requests refused by a request bound, by its setting', labelNames: ['bound'], registers: [this.registry] });
  readonly rateLimited = new Counter({ name: 'scim_rate_limited_total', help: 'Requests answered 429, per caller or per address', labelNames: ['kind'], registers: [this.registry] });
  /** SCIM_UNKNOWN_ATTRIBUTES=ignore: what writes named that the schemas lack, dropped (see ignored()). */
  readonly ignoredAttributes = new Counter({
    name: 'scim_ignored_attributes_total',
    help: 'Attributes a write named that the schemas lack, dropped (SCIM_UNKNOWN_ATTRIBUTES=ignore), by resource type, schema URN and attribute',
    labelNames: ['type', 'schema', 'attribute'],
    registers: [this.registry],
  });
  private readonly ignoredSeen = new Set<string>();
  readonly retries = new Counter({ name: 'scim_write_retries_total', help: 'Writes applied again after losing a version race to another writer', labelNames: ['type'], registers: [this.registry] });
  readonly storeDuration = new Histogram({
    name: 'scim_store_operation_duration_seconds',
    help: 'Time of each store call, by store and operation',
    labelNames: ['store', 'operation'],
    buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
    registers: [this.registry],
  });
  readonly storeErrors = new Counter({ name: 'scim_store_errors_total', help: "Store calls that failed for the store's own reasons (unreachable, timed out)", labelNames: ['store', 'operation'], registers: [this.registry] });
  readonly draining = new Gauge({ name: 'scim_draining', help: '1 while the server is shutting down and finishing its requests', registers: [this.registry] });
  readonly pressure = new Counter({ name: 'scim_under_pressure_total', help: 'Requests answered 503 because the event loop or the heap was past its bound', labelNames: ['reason'], registers: [this.registry] });

  /** `count(type)`: how many resources of a type the store holds, read when scraped (scim_resources{type}). */
  /**
   * Counts an ignored attribute. Names come from clients, so the distinct (schema, attribute) pairs counted are
   * bounded: past IGNORED_SERIES, further new ones are counted as `(other)`, and the series stay few.
   */
  ignored(type: string, schema: string, attribute: string): void {
    const key = `${type}\u0000${schema}\u0000${attribute}`;
    if (!this.ignoredSeen.has(key) && this.ignoredSeen.size >= IGNORED_SERIES) {
      this.ignoredAttributes.inc({ type, schema: '(other)', attribute: '(other)' });
      return;
    }
    this.ignoredSeen.add(key);
    this.ignoredAttributes.inc({ type, schema: schema === '' ? '(core)' : schema, attribute: attribute === '' ? '(schema)' : attribute });
  }

  countResources(types: readonly string[], count: (type: string) => Promise<number>): void {
    if (types.length === 0) return;
    new Gauge({
      name: 'scim_resources',
      help: 'Resources stored, by resource type',
      labelNames: ['type'],
      registers: [this.registry],
      async collect() {
        for (const type of types) {
          try {
            this.set({ type }, await count(type));
          } catch {
            // A store that does not answer leaves the last figure; its errors are counted with the store's.
          }
        }
      },
    });
  }

  /** Records the answer to a request (an onResponse hook). */
  answered(request: FastifyRequest, status: number, seconds: number): void {
    const route = request.routeOptions.url ?? 'unmatched';
    this.requests.inc({ method: request.method, route, status: String(status) });
    this.duration.observe({ method: request.method, route }, seconds);
    const error = answered.get(request);
    if (error) {
      this.errors.inc({ status: String(error.status), scimType: error.scimType ?? '' });
      if (error.bound) this.bounds.inc({ bound: error.bound });
    }
  }

  async text(): Promise<string> {
    return (await Registry.merge([processMetrics(), this.registry]).metrics()) as string;
  }
}

/**
 * Store calls measured (what a request waits for), per concern of the store, each by the operation label it is
 * counted under.
 */
const MEASURED = {
  resources: { create: 'create', createMany: 'createMany', get: 'get', getMany: 'getMany', getView: 'getView', replace: 'replace', delete: 'delete', query: 'query' },
  memberships: { members: 'members', membersAmong: 'membersAmong', groupsOf: 'groupsOf', renameMember: 'renameMember' },
  audit: { log: 'auditLog', prune: 'pruneAudit' },
  store: { ping: 'ping' },
} as const satisfies Record<string, Record<string, string>>;

/**
 * `target` with the calls `operations` names timed, and its own failures counted. A Proxy: the object is still an
 * instance of its class (server.ts asks), and its other members pass through.
 */
function measured<T extends object>(target: T, kind: string, operations: Readonly<Record<string, string>>, metrics: Metrics): T {
  const wrappers = new Map<PropertyKey, unknown>();
  const ownFailure = (e: unknown) => !isScimError(e) || e.status >= 500;
  return new Proxy(target, {
    get(object, prop, receiver) {
      const value: unknown = Reflect.get(object, prop, receiver);
      const operation = typeof prop === 'string' ? operations[prop] : undefined;
      if (typeof value !== 'function' || operation === undefined) return value;
      let wrapper = wrappers.get(prop);
      if (!wrapper) {
        const labels = { store: kind, operation };
        const fn = value as (...args: unknown[]) => unknown;
        wrapper = (...args: unknown[]) => {
          const end = metrics.storeDuration.startTimer(labels);
          let result: unknown;
          try {
            result = fn.apply(object, args);
          } catch (e) {
            end();
            if (ownFailure(e)) metrics.storeErrors.inc(labels);
            throw e;
          }
          if (!(result instanceof Promise)) {
            end();
            return result;
          }
          return result.then(
            (v) => {
              end();
              return v;
            },
            (e: unknown) => {
              end();
              if (ownFailure(e)) metrics.storeErrors.inc(labels);
              throw e;
            },
          );
        };
        wrappers.set(prop, wrapper);
      }
      return wrapper;
    },
  });
}

/** The store with every call of each of its concerns timed, and its own failures counted. */
export function measuredStore(store: Store, metrics: Metrics): Store {
  const concerns = {
    resources: measured(store.resources, store.kind, MEASURED.resources, metrics),
    memberships: measured(store.memberships, store.kind, MEASURED.memberships, metrics),
    audit: measured(store.audit, store.kind, MEASURED.audit, metrics),
  };
  return measured(
    new Proxy(store, { get: (object, prop, receiver) => (prop in concerns ? concerns[prop as keyof typeof concerns] : Reflect.get(object, prop, receiver)) }),
    store.kind,
    MEASURED.store,
    metrics,
  );
}

export interface MetricsRouteOptions {
  metrics: Metrics;
  token?: string;
}

/** GET /metrics, outside /scim/v2 (Prometheus scrapes plain text), with the optional bearer token. */
async function metricsRoute(app: FastifyInstance, opts: MetricsRouteOptions): Promise<void> {
  const { metrics, token } = opts;
  const expected = token !== undefined ? Buffer.from(`Bearer ${token}`) : undefined;
  app.addHook('onResponse', (request, reply, done) => {
    metrics.answered(request, reply.statusCode, reply.elapsedTime / 1000);
    done();
  });
  app.get('/metrics', async (request, reply) => {
    if (expected) {
      const given = Buffer.from(request.headers.authorization ?? '');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        return reply
          .code(401)
          .header('www-authenticate', 'Bearer realm="metrics"')
          .send({ statusCode: 401, error: 'Unauthorized', message: 'GET /metrics needs the bearer token SCIM_METRICS_TOKEN names' });
      }
    }
    return reply.type('text/plain; version=0.0.4; charset=utf-8').send(await metrics.text());
  });
  methodNotAllowed(app, '/metrics', ['GET'], { plain: true });
}

export default fp(metricsRoute, { name: 'scim-metrics', fastify: '5.x' });
