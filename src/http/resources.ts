/** The routes of one resource type (/Users, later /Groups): thin wrappers around ResourceService. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { etagMatches, etagOf, StoredRecord } from '../scim/resource';
import { project, ProjectionRequest } from '../scim/projection';
import { render } from '../scim/render';
import { SCHEMA_URNS, SchemaRegistry } from '../scim/schema';
import type { ResourceService } from '../service/resources';
import { methodNotAllowed } from './methods';
import { baseUrlOf, PagingLimits, readPaging, readProjection, readSort, param } from './request';

export interface ResourceRoutesOptions {
  service: ResourceService;
  registry: SchemaRegistry;
  baseUrl?: string;
  paging: PagingLimits;
}

interface IdRoute {
  Params: { id: string };
}

export function resourceRoutes(app: FastifyInstance, opts: ResourceRoutesOptions): void {
  const { service, registry } = opts;
  const schema = service.schema;
  const endpoint = schema.type.endpoint;
  const endpoints = (type: string) => registry.resourceType(type)?.endpoint;

  const representation = (request: FastifyRequest, record: StoredRecord, projection: ProjectionRequest) =>
    project(schema, render(schema, record.resource, baseUrlOf(request, opts.baseUrl), endpoints), projection);

  const sendOne = (request: FastifyRequest, reply: FastifyReply, record: StoredRecord, status = 200) => {
    const body = representation(request, record, readProjection(request.query as Record<string, unknown>));
    reply.header('etag', etagOf(record.version));
    reply.header('location', (body.meta as { location: string } | undefined)?.location ?? `${baseUrlOf(request, opts.baseUrl)}${endpoint}/${record.id}`);
    return reply.code(status).send(body);
  };

  const read = app.requireScope('scim:read');
  const write = app.requireScope('scim:write');

  app.get(endpoint, { preHandler: read }, async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const paging = readPaging(query, opts.paging);
    const result = await service.list({ filter: param(query, 'filter'), ...paging, ...readSort(query) });
    const projection = readProjection(query);
    const resources = result.records.map((r) => representation(request, r, projection));
    return reply.send({
      schemas: [SCHEMA_URNS.listResponse],
      totalResults: result.totalResults,
      itemsPerPage: resources.length,
      startIndex: result.startIndex,
      Resources: resources,
    });
  });

  app.post(endpoint, { preHandler: write }, async (request, reply) => sendOne(request, reply, await service.create(request.body), 201));

  app.get<IdRoute>(`${endpoint}/:id`, { preHandler: read }, async (request, reply) => {
    const record = await service.get(request.params.id);
    // RFC 7644 §3.14: a matching If-None-Match on GET answers 304 Not Modified.
    const inm = request.headers['if-none-match'];
    if (typeof inm === 'string' && etagMatches(inm, record.version)) {
      return reply.code(304).header('etag', etagOf(record.version)).send();
    }
    return sendOne(request, reply, record);
  });

  app.put<IdRoute>(`${endpoint}/:id`, { preHandler: write }, async (request, reply) =>
    sendOne(request, reply, await service.replace(request.params.id, request.body, ifMatchOf(request))),
  );

  app.patch<IdRoute>(`${endpoint}/:id`, { preHandler: write }, async (request, reply) =>
    sendOne(request, reply, await service.patch(request.params.id, request.body, ifMatchOf(request))),
  );

  app.delete<IdRoute>(`${endpoint}/:id`, { preHandler: write }, async (request, reply) => {
    await service.delete(request.params.id, ifMatchOf(request));
    return reply.code(204).send();
  });

  methodNotAllowed(app, endpoint, ['GET', 'POST']);
  methodNotAllowed(app, `${endpoint}/:id`, ['GET', 'PUT', 'PATCH', 'DELETE']);
}

function ifMatchOf(request: FastifyRequest): string | undefined {
  const h = request.headers['if-match'];
  return typeof h === 'string' && h.trim() !== '' ? h : undefined;
}
