/**
 * The root plugin: buildApp(config) wires the SCIM core, the store and the HTTP routes. The process concerns
 * (environment, listening, signals) live in server.ts, so tests build the app and drive it with `inject`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import Fastify, { FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions, LogController } from 'fastify';
import type { Config } from './config';
import { SchemaRegistry } from './scim/schema';
import type { Features } from './scim/service-provider-config';
import type { AuditStore, Store } from './store/store';
import { createStore } from './store';
import { ResourceService } from './service/resources';
import { RULES } from './service/rules';
import { Memberships } from './service/memberships';
import { membersAttribute } from './scim/members';
import { Sections } from './scim/sections';
import { sectionsRule } from './service/sections-rule';
import { AccessPolicy } from './service/access';
import { sectionsRoute } from './http/sections';
import { auditRoute } from './http/audit';
import { CursorCodec } from './scim/cursor';
import { PageWalks } from './service/page-walks';
import { registryFingerprint, Views } from './scim/view';
import scimJson from './http/scim-json';
import scimErrors, { isApiUrl, rawErrorBody, sendScimError } from './http/errors';
import { errors } from './scim/errors';
import auth from './http/auth';
import { discoveryRoutes } from './http/discovery';
import { healthRoutes } from './http/health';
import { uiRoutes } from './web/ui';
import { notImplementedRoutes } from './http/not-implemented';
import { bulkRoute, endpointAccess } from './http/bulk';
import { BulkProcessor } from './service/bulk';
import { SelfService } from './service/me';
import { type BulkLimits, DEFAULT_BULK_LIMITS } from './scim/bulk';
import { resourceRoutes, rootSearchRoute } from './http/resources';
import { callerOf } from './http/auth';
import { Metrics, measuredStore } from './http/metrics';
import rateLimit from './http/rate-limit';
import { registerOperations, registerPressure } from './http/operations';
import { upgradeStore, StoreFormatError } from './service/store-format';
import { describe, migrateStoredData } from './service/schema-migration';

/**
 * Fastify logs two lines per request (on arrival, on completion); one, written when the request is answered, says
 * all of it (method, URL, status, time) for half the cost on the hot path, where at info level the two lines cost
 * about a fifth of a GET.
 */
class OneLinePerRequest extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    // Below info nothing is written: not even the caller is worked out.
    if (!error && (reply.log as { isLevelEnabled?(level: string): boolean }).isLevelEnabled?.('info') === false) return;
    // The request id is the logger's own binding (reqId). Who asked: the verified token's subject and client, never
    // the token; no body and no header is logged, so no password or authentication contact value either.
    const claims = (request.user ?? undefined) as Record<string, unknown> | undefined;
    const line: Record<string, unknown> = {
      method: request.method,
      url: request.url,
      route: request.routeOptions.url ?? 'unmatched',
      statusCode: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
    };
    if (claims) {
      const caller = callerOf(request);
      if (caller.subject !== undefined) line.subject = caller.subject;
      if (caller.clientId !== undefined) line.clientId = caller.clientId;
    }
    if (error) reply.log.error({ ...line, err: error }, 'request errored');
    else reply.log.info(line, 'request');
  }
}

function trustHops(hops: number): (address: string, hop: number) => boolean {
  return (_address, hop) => hop < hops;
}

/** An id a client may give its request (X-Request-Id) to find it in our logs; anything else is replaced. */
const REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** A start refused for what the operator must change (schema files, stored data): the message says it all. */
export class StartRefused extends Error {
  override readonly name = 'StartRefused';
}

export interface AppOptions {
  config: Config;
  /** A store to use instead of the one the configuration names; the caller keeps ownership (tests). */
  store?: Store;
  registry?: SchemaRegistry;
  logger?: FastifyServerOptions['logger'];
  now?: () => Date;
}

declare module 'fastify' {
  interface FastifyInstance {
    store: Store;
    registry: SchemaRegistry;
    /** The service of each resource type, by its id. */
    services: ReadonlyMap<string, ResourceService>;
    users: ResourceService;
    /** The sections of a user profile (scim/sections.ts). */
    sections: Sections;
    /** Who may write and read which section, sources of authority (service/access.ts). */
    access: AccessPolicy;
    metrics: Metrics;
    /** True from the moment the server starts closing: /readyz answers 503, new requests 503 (server.ts). */
    draining: boolean;
  }
}

export const PAGING = { defaultCount: 100, maxCount: 1000 };
/** How long a cursor stays valid (RFC 9865 cursorTimeout), in seconds. */
export const CURSOR_TIMEOUT = 3600;

export function features(bulk: BulkLimits = DEFAULT_BULK_LIMITS): Features {
  return {
    patch: true,
    bulk: { supported: true, maxOperations: bulk.maxOperations, maxPayloadSize: bulk.maxPayloadSize },
    filter: { supported: true, maxResults: PAGING.maxCount },
    sort: true,
    paging: PAGING,
    cursorTimeout: CURSOR_TIMEOUT,
  };
}

/** How often entries past the audit trail's retention are removed (also once at start). */
const AUDIT_PRUNE_EVERY_MS = 3600_000;

/** Keeps the audit trail within its retention: entries older than `days` are removed, at start and hourly. */
function pruneAuditTrail(app: FastifyInstance, audit: AuditStore, days: number, now: () => Date = () => new Date()): void {
  const prune = () => {
    const before = new Date(now().getTime() - days * 86400_000).toISOString();
    audit.prune(before).then(
      (removed) => removed > 0 && app.log.info({ removed, before }, 'audit entries past retention removed'),
      (err: unknown) => app.log.warn({ err }, 'audit retention: pruning failed; retried within the hour'),
    );
  };
  const timer = setInterval(prune, AUDIT_PRUNE_EVERY_MS);
  timer.unref();
  app.addHook('onReady', async () => prune());
  app.addHook('onClose', async () => clearInterval(timer));
}

/** How often the progress of background index builds is logged. */
const INDEXING_LOG_EVERY_MS = 10_000;

/** Logs the background index builds as they go and when they end. */
function logIndexing(app: FastifyInstance, store: Store): void {
  if (store.indexing().length === 0) return;
  const line = () => {
    for (const b of store.indexing()) app.log.info({ resourceType: b.type, paths: b.paths, done: b.done, total: b.total }, 'building indexes');
  };
  line();
  const timer = setInterval(line, INDEXING_LOG_EVERY_MS);
  timer.unref();
  void store.indexed().then(() => {
    clearInterval(timer);
    app.log.info('indexes built');
  });
  app.addHook('onClose', async () => clearInterval(timer));
}

export async function buildApp(opts: AppOptions): Promise<FastifyInstance> {
  const { config } = opts;
  const metrics = new Metrics();
  const app = Fastify({
    logger: opts.logger ?? false,
    logController: new OneLinePerRequest(),
    // RFC-less but universal: a client's X-Request-Id is kept (and echoed) so its logs and ours name one request.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    bodyLimit: config.bodyLimit,
    // A number of hops is trusted as Fastify does (the nearest N), spelled as a function for its types.
    trustProxy: typeof config.trustProxy === 'number' ? trustHops(config.trustProxy) : config.trustProxy,
    // What clients build from a base URL an administrator typed: `…/scim/v2/` + `/Users` (a doubled slash, Okta's
    // habit with a base that ends in one), `/Users/` and `/users`. Path parameters (ids, schema URNs) keep their case.
    routerOptions: { ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, caseSensitive: false },
    // Fastify's default would answer 503 with a plain body during shutdown; requests then still get SCIM errors.
    return503OnClosing: false,
    // Malformed URLs (bad percent-encoding, over-long ids) are answered before routing; under /scim/ as SCIM errors.
    frameworkErrors: (err, request, reply) => {
      const bad = err.code === 'FST_ERR_BAD_URL';
      if (!isApiUrl(request.url)) {
        const status: 400 | 404 = bad ? 400 : 404;
        void (reply as FastifyReply).code(status).send({ statusCode: status, error: bad ? 'Bad Request' : 'Not Found', message: err.message });
        return;
      }
      void sendScimError(reply, bad ? errors.invalidSyntax(`the URL is malformed: ${err.message}`) : errors.notFound(err.message));
    },
    // A filter may be 8192 characters (see filter/parse.ts); percent-encoded multi-byte text makes that up to ~74 KB
    // of request line, past Node's 16 KiB default, which would answer 431 before any SCIM code runs.
    // Node's own check for a Host header answers with an empty body; operations.ts answers it instead.
    http: { maxHeaderSize: 128 * 1024, requireHostHeader: false },
    // Errors Node raises before a request exists (a request line still too long, a malformed request) get a SCIM body.
    clientErrorHandler: (err: NodeJS.ErrnoException, socket) => {
      if (!socket.writable) return socket.destroy();
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
      if (status === 431) metrics.bounds.inc({ bound: 'maxHeaderSize' });
      const { type, body } = rawErrorBody(true, status, status === 431 ? 'request line and headers are larger than 128 KiB' : 'malformed HTTP request');
      socket.end(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
          `Content-Type: ${type}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    },
    // Request bodies are validated as their JSON Schemas say: no silent dropping of unknown members, no coercion.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false } },
  });
  // RFC 9110 §10.1.1: "A server that receives an Expect field value containing a member other than 100-continue MAY
  // respond with a 417 (Expectation Failed)". Node answers so before any route (the body is never read); the answer
  // gets the body every other refusal has.
  app.server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    const detail = `the expectation '${String(req.headers.expect ?? '')}' cannot be met; only 100-continue is understood`;
    const { type, body } = rawErrorBody(isApiUrl(req.url), 417, detail);
    res.writeHead(417, { 'content-type': type, 'content-length': Buffer.byteLength(body), connection: 'close' });
    res.end(body);
  });
  // text/plain is not a SCIM media type: such bodies get 415 rather than a parse attempt.
  app.removeContentTypeParser('text/plain');
  // The built-in schemas and the operator's (SCIM_SCHEMA_DIR): a broken file stops the server here, naming it.
  const registry = opts.registry ?? SchemaRegistry.load({ operatorDir: config.schemaDir, unknownAttributes: config.unknownAttributes });
  // The profile's sections (schemas/sections.json), checked against the schemas before anything is served: a
  // writable attribute in no section, or a section naming an unknown attribute, stops the server here.
  const sections = Sections.fromDirectory(registry);
  // Sources of authority name sections: a name that is not one stops the server here too.
  const access = new AccessPolicy(sections, config.authorities, config.meSections);
  const ownsStore = !opts.store;
  const rawStore =
    opts.store ??
    (await createStore({ mongodbUri: config.mongodbUri, mongodbDb: config.mongodbDb, dbTimeoutMs: config.dbTimeoutMs, dataDir: config.dataDir }));
  if (ownsStore) app.addHook('onClose', async () => rawStore.close());
  if ('onIndexError' in rawStore) {
    (rawStore as { onIndexError: (err: unknown, index: string) => void }).onIndexError = (err, index) =>
      app.log.error({ err, index }, 'a background index build failed; queries are answered without it, and the next start tries again');
  }
  metrics.countResources(
    registry.resourceTypes().map((t) => t.id),
    async (type) => (await rawStore.resources.query(registry.resourceSchema(type), { startIndex: 1, count: 0 })).totalResults,
  );
  const store = measuredStore(rawStore, metrics);
  // Cursors are signed so that a client cannot forge a position (cursor.ts), with a key that must not be public:
  // SCIM_CURSOR_SECRET, else one derived from the HS256 secret (so every instance behind a load balancer accepts
  // them). With only a public key, server.ts supplies one; an app built without any gets a random key of its own.
  const cursorSecret = config.cursorSecret ?? config.jwt.secret ?? randomBytes(32).toString('base64url');
  const cursors = new CursorCodec(cursorSecret, CURSOR_TIMEOUT, opts.now ? () => opts.now!().getTime() : undefined);
  // Index walks (Okta's imports) continue from where the caller's previous page ended, for as long as a cursor lasts.
  const walks = new PageWalks({ ttlSeconds: CURSOR_TIMEOUT, now: opts.now ? () => opts.now!().getTime() : undefined });
  // Users and Groups share their memberships: a Group's members, a User's groups.
  const memberTypes = registry.resourceType('User') && registry.resourceType('Group') ? { users: registry.resourceSchema('User'), groups: registry.resourceSchema('Group') } : undefined;
  const memberships = memberTypes ? new Memberships(store.resources, store.memberships, memberTypes.users, memberTypes.groups) : undefined;
  // One service per resource type in schemas/resource-types/, with the rules rules.ts lists for it, in order.
  const services = new Map<string, ResourceService>();
  const fingerprint = registryFingerprint(registry);
  const endpoints = (id: string) => registry.resourceType(id)?.endpoint;
  for (const type of registry.resourceTypes()) {
    const schema = registry.resourceSchema(type.id);
    // A group's representation holds its members, which live apart from its record: no view for it.
    const views = membersAttribute(schema) ? undefined : new Views(schema, endpoints, fingerprint);
    const member = memberTypes !== undefined && (schema === memberTypes.users || schema === memberTypes.groups);
    const service = new ResourceService(schema, {
      resources: store.resources,
      memberships: member ? memberships : undefined,
      now: opts.now,
      cursors,
      walks,
      limits: config.limits,
      views,
    });
    service.onRetry = () => metrics.retries.inc({ type: type.id });
    schema.onIgnored = (urn, attribute) => {
      metrics.ignored(type.id, urn, attribute);
      app.log.debug({ resourceType: type.id, schema: urn, attribute }, 'unknown attribute ignored (SCIM_UNKNOWN_ATTRIBUTES=ignore)');
    };
    // Who may change which section goes first: the rules after it see only what the caller may write.
    if (schema === sections.schema) {
      service.use(sectionsRule(access));
      service.auditMasked = new Set(sections.restrictedAttributes);
    }
    for (const make of RULES[type.id] ?? []) service.use(make(service, store));
    services.set(type.id, service);
  }
  // Stored data against the schema it will be served with, before any index it might contradict is made: a change
  // of type, shape, comparison, or a new required or unique rule that stored resources break stops the start here.
  const schemas = [...services.values()].map((s) => s.schema);
  // The format the store was written in, before anything reads it (service/store-format.ts): an older one upgraded
  // in place, a newer one refused.
  try {
    const upgrade = await upgradeStore(rawStore, schemas, {
      onProgress: (type, walked, total) => {
        if (walked % 100_000 < 500 || walked === total) app.log.info({ type, walked, total }, 'store format upgrade: resources checked');
      },
    });
    if (upgrade) app.log.info(upgrade, `store upgraded from format ${upgrade.from} to ${upgrade.to}: ${upgrade.restored} resource(s) stored again`);
  } catch (e) {
    // A refused start leaves nothing open: the store this app opened is closed (its onClose hook never runs).
    if (ownsStore) await rawStore.close().catch(() => undefined);
    if (e instanceof StoreFormatError) throw new StartRefused(e.message);
    throw e;
  }
  const migration = await migrateStoredData(rawStore, schemas);
  const blocking = migration.findings.filter((f) => f.blocking);
  if (blocking.length > 0) {
    if (ownsStore) await rawStore.close().catch(() => undefined);
    throw new StartRefused(
      `stored data contradicts the schema it would be served with:\n${describe(blocking, { ids: 5 })}\n` +
        'Nothing was changed. `npm run schema -- check` lists every resource; `npm run schema -- apply` converts what can be converted.',
    );
  }
  for (const f of migration.findings) app.log.info({ type: f.type, attribute: f.change.label, change: f.change.what }, 'schema change: stored values kept');
  await store.init(schemas);
  // Indexes built in the background (attributes indexed since the data was stored): progress in the log and /readyz.
  logIndexing(app, rawStore);
  const users = services.get('User');
  if (!users) throw new Error('schemas/resource-types/ must define the User resource type');
  app.decorate('store', store);
  app.decorate('registry', registry);
  app.decorate('services', services);
  app.decorate('users', users);
  app.decorate('sections', sections);
  app.decorate('access', access);
  app.decorate('metrics', metrics);
  app.decorate('draining', false);
  app.addHook('preClose', async () => {
    app.draining = true;
    metrics.draining.set(1);
  });
  await registerOperations(app, config.operations, metrics);
  pruneAuditTrail(app, store.audit, config.auditRetentionDays, opts.now);

  // Outside /scim/v2 (health probes, and pages to come) the server answers as a plain JSON service: Fastify's own
  // errors and 404s. Everything SCIM (its media types, its error format, bearer tokens) is scoped to the prefix.
  healthRoutes(app, store, { readyTimeoutMs: config.readyTimeoutMs, draining: () => app.draining });
  await app.register(uiRoutes);
  const feats = features(config.bulk);
  await app.register(
    async (scim) => {
      await scim.register(scimJson);
      await scim.register(scimErrors);
      await registerPressure(scim, config.operations, metrics);
      // Before the token is verified: an address out of requests is refused without the cost of a verification.
      await scim.register(rateLimit, {
        perCaller: config.operations.rateLimit,
        perAddress: config.operations.rateLimitAnonymous,
        loopback: config.operations.rateLimitLoopback,
        metrics,
      });
      await scim.register(auth, { jwt: config.jwt });
      discoveryRoutes(scim, {
        registry,
        features: feats,
        baseUrl: config.baseUrl,
        onRequest: config.discoveryPublic ? undefined : scim.requireScope('scim:read'),
      });
      // /Me answers for the profile's resource type (User), when the operator mapped tokens to users.
      const me = config.me ? new SelfService(users, config.me) : undefined;
      const lists = [...services.values()].map((service) =>
        resourceRoutes(scim, {
          service,
          registry,
          baseUrl: config.baseUrl,
          paging: PAGING,
          access: service.schema === sections.schema ? access : undefined,
          me: service === users ? me : undefined,
        }),
      );
      rootSearchRoute(scim, lists, PAGING);
      sectionsRoute(scim, access);
      auditRoute(scim, store.audit, PAGING);
      const byEndpoint = new Map([...services.values()].map((s) => [s.schema.type.endpoint, s]));
      const sectionsEndpoint = sections.schema.type.endpoint;
      bulkRoute(scim, { processor: new BulkProcessor(byEndpoint, endpointAccess(sectionsEndpoint)), limits: config.bulk, baseUrl: config.baseUrl, sectionsEndpoint });
      notImplementedRoutes(scim, { me: me !== undefined });
    },
    { prefix: '/scim/v2' },
  );
  return app;
}
