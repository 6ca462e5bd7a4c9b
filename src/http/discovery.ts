/** RFC 7644 §4 discovery: /ServiceProviderConfig, /ResourceTypes, /Schemas, all read from schemas/. */
import type { FastifyInstance, onRequestAsyncHookHandler } from 'fastify';
import { errors } from '../scim/errors';
import { SCHEMA_URNS, SchemaRegistry } from '../scim/schema';
import { Features, serviceProviderConfig } from '../scim/service-provider-config';
import type { JsonObject } from '../scim/values';
import { methodNotAllowed } from './methods';
import { baseUrlOf } from './request';

export interface DiscoveryOptions {
  registry: SchemaRegistry;
  features: Features;
  baseUrl?: string;
  /** Absent when discovery is public. */
  onRequest?: onRequestAsyncHookHandler;
}

function withLocation<T extends { meta?: { resourceType: string; location: string } }>(doc: T, base: string): T {
  return doc.meta ? { ...doc, meta: { ...doc.meta, location: `${base}${doc.meta.location}` } } : doc;
}

function listResponse(resources: unknown[]): JsonObject {
  return {
    schemas: [SCHEMA_URNS.listResponse],
    totalResults: resources.length,
    itemsPerPage: resources.length,
    startIndex: 1,
    Resources: resources as JsonObject[],
  };
}

export function discoveryRoutes(app: FastifyInstance, opts: DiscoveryOptions): void {
  const { registry } = opts;
  // RFC 7644 §4: "If a "filter" is provided, the service provider SHOULD respond with HTTP status code 403
  // (Forbidden) to ensure that clients cannot incorrectly assume that any matching conditions specified in a filter
  // are true."
  const noFilter = async (request: { query: unknown }) => {
    const q = (request.query ?? {}) as Record<string, unknown>;
    if (Object.keys(q).some((k) => k.toLowerCase() === 'filter')) {
      throw errors.forbidden('discovery endpoints do not take a filter (RFC 7644 §4)');
    }
  };
  const route = { ...(opts.onRequest ? { onRequest: opts.onRequest } : {}), preHandler: noFilter };
  const base = (request: Parameters<typeof baseUrlOf>[0]) => baseUrlOf(request, opts.baseUrl);

  app.get('/ServiceProviderConfig', route, async (request) => serviceProviderConfig(opts.features, base(request)));
  app.get('/ResourceTypes', route, async (request) => listResponse(registry.resourceTypes().map((t) => withLocation(t, base(request)))));
  app.get<{ Params: { id: string } }>('/ResourceTypes/:id', route, async (request) => {
    const t = registry.resourceType(request.params.id);
    if (!t) throw errors.notFound(`resource type ${JSON.stringify(request.params.id)} not found`);
    return withLocation(t, base(request));
  });
  app.get('/Schemas', route, async (request) => listResponse(registry.schemas().map((s) => withLocation(s, base(request)))));
  app.get<{ Params: { id: string } }>('/Schemas/:id', route, async (request) => {
    const s = registry.schema(request.params.id);
    if (!s) throw errors.notFound(`schema ${JSON.stringify(request.params.id)} not found`);
    return withLocation(s, base(request));
  });
  for (const url of ['/ServiceProviderConfig', '/ResourceTypes', '/ResourceTypes/:id', '/Schemas', '/Schemas/:id']) {
    methodNotAllowed(app, url, ['GET']);
  }
}
