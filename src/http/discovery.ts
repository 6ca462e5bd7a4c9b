/** RFC 7644 §4 discovery: /ServiceProviderConfig, /ResourceTypes, /Schemas, all read from schemas/. */
import type { FastifyInstance, preHandlerAsyncHookHandler } from 'fastify';
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
  preHandler?: preHandlerAsyncHookHandler;
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
  const route = opts.preHandler ? { preHandler: opts.preHandler } : {};
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
