/**
 * What operating the server needs around the routes, registered at the root: security headers on every
 * answer (/ui sets its own stricter page policy on top), CORS closed unless origins are configured, the metrics
 * endpoint, the request id on every answer, and 503 for requests that arrive while the server drains. Rate limits
 * and the pressure check are the API's (app.ts registers them under /scim/v2).
 *
 * The security headers are written out once (SECURITY_HEADERS) rather than computed per request by @fastify/helmet's
 * chain of middleware.
 */
import type { FastifyInstance } from 'fastify';
import cors from '@fastify/cors';
import underPressure from '@fastify/under-pressure';
import type { OperationsConfig } from '../config';
import { errors } from '../scim/errors';
import metricsRoute, { type Metrics } from './metrics';
import { isApiUrl } from './errors';

/**
 * Every answer's security headers, as OWASP's REST Security Cheat Sheet lists them for an API: an answer is data,
 * never a page, so nothing in it may run or be framed (CSP `default-src 'none'; frame-ancestors 'none'`), be read
 * by another origin's page (CORP same-origin), be sniffed into something else (nosniff), leak its URL onward
 * (no-referrer), or be fetched over plain HTTP once seen over HTTPS (HSTS). Helmet's other defaults concern pages
 * (COOP, Origin-Agent-Cluster) or dead browsers and plugins (X-Download-Options, X-Permitted-Cross-Domain-Policies,
 * X-XSS-Protection, X-DNS-Prefetch-Control). Each header costs every answer its writing: helmet's twelve, computed
 * per request, with async hooks around them, halved a GET by id's throughput (bench/REPORT.md), so the API sends these
 * five, from one frozen object.
 */
const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'cross-origin-resource-policy': 'same-origin',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=31536000; includeSubDomains',
  'x-content-type-options': 'nosniff',
});

/** Seconds a client is asked to wait when the server is under pressure or draining. */
const RETRY_AFTER = 5;

export async function registerOperations(app: FastifyInstance, config: OperationsConfig, metrics: Metrics): Promise<void> {
  // What every answer carries, set on arrival (so errors carry it too, and /ui's own hook can set its page policy
  // over it): the security headers, and the client's X-Request-Id echoed (our own ids are in our logs only).
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(SECURITY_HEADERS);
    if (request.headers['x-request-id'] === request.id) reply.header('x-request-id', request.id);
    // RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request) status code to any HTTP/1.1 request message
    // that lacks a Host header field"; this one says why.
    if (request.headers.host === undefined && request.raw.httpVersion === '1.1') {
      const detail = 'an HTTP/1.1 request must carry a Host header (RFC 9112 §3.2)';
      if (isApiUrl(request.url)) return done(errors.invalidSyntax(detail));
      reply.code(400).send({ statusCode: 400, error: 'Bad Request', message: detail });
      return;
    }
    done();
  });
  // While draining, every answer closes its connection, so a keep-alive connection does not hold the close up.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (app.draining) reply.header('connection', 'close');
    done(null, payload);
  });
  // Closed by default: no Access-Control-* header, so a browser page of another origin cannot read an answer. An
  // operator who serves a browser client elsewhere lists its origins.
  if (config.corsOrigins.length > 0) {
    const allowed = new Set(config.corsOrigins);
    const options = {
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowedHeaders: ['Authorization', 'Content-Type', 'If-Match', 'If-None-Match', 'X-Request-Id'],
      exposedHeaders: ['ETag', 'Location', 'Retry-After', 'X-Request-Id'],
      maxAge: 600,
    };
    // Decided per request: only a listed origin gets Access-Control-* headers, and only a real preflight (OPTIONS
    // with Access-Control-Request-Method) from one is answered by CORS; any other OPTIONS reaches the routes (405).
    await app.register(cors, {
      delegator: (request, callback) => {
        const origin = request.headers.origin;
        const listed = typeof origin === 'string' && allowed.has(origin);
        const preflight = request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined;
        if (!listed || (request.method === 'OPTIONS' && !preflight)) return callback(null, { origin: false });
        callback(null, { ...options, origin });
      },
    });
  }
  await app.register(metricsRoute, { metrics, token: config.metricsToken });
  // Requests that arrive once closing began (on a connection kept alive) are turned away with 503 and the
  // connection closed, so a load balancer sends them elsewhere; those already in flight finish.
  const probes = new Set(['/healthz', '/readyz', '/metrics']);
  app.addHook('onRequest', (request, reply, done) => {
    // The probes answer for themselves: /readyz says "draining", /metrics shows scim_draining.
    if (!app.draining || probes.has(request.routeOptions.url ?? '')) return done();
    reply.header('connection', 'close');
    if (isApiUrl(request.url)) return done(errors.unavailable('the server is shutting down; retry on another instance', RETRY_AFTER));
    reply.code(503).header('retry-after', String(RETRY_AFTER)).send({ statusCode: 503, error: 'Service Unavailable', message: 'the server is shutting down' });
  });
}

/**
 * Under pressure (the event loop lagging past its bound, or the heap past its), the API answers 503 with
 * Retry-After rather than queueing requests it would answer too late, or falling over (@fastify/under-pressure).
 */
export async function registerPressure(scim: FastifyInstance, config: OperationsConfig, metrics: Metrics): Promise<void> {
  if (config.maxEventLoopDelayMs === 0 && config.maxHeapBytes === 0) return;
  await scim.register(underPressure, {
    maxEventLoopDelay: config.maxEventLoopDelayMs,
    maxHeapUsedBytes: config.maxHeapBytes,
    retryAfter: RETRY_AFTER,
    pressureHandler: (_request, _reply, type, value) => {
      metrics.pressure.inc({ reason: String(type) });
      throw errors.unavailable(`the server is under pressure (${String(type)}: ${String(value)}); retry after ${RETRY_AFTER} s`, RETRY_AFTER);
    },
  });
}
