/** The routes of one resource type (/Users, /Groups): thin wrappers around ResourceService. */
import { callerOf } from './auth';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { etagMatches, etagOf, StoredRecord } from '../scim/resource';
import { project, ProjectionRequest, returnsAttribute, writtenRequestAttributes } from '../scim/projection';
import type { ScimResource } from '../scim/resource';
import { render } from '../scim/render';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SCHEMA_URNS, SCHEMAS_DIR, SchemaRegistry, type ResourceSchema } from '../scim/schema';
import type { ResourceService } from '../service/resources';
import { errors, isScimError } from '../scim/errors';
import type { Json, JsonObject } from '../scim/values';
import { methodNotAllowed } from './methods';
import { type AccessPolicy, writesSomeSection } from '../service/access';
import { MEMBERS } from '../scim/members';
import type { SelfService } from '../service/me';
import { SCIM_CONTENT_TYPE } from './scim-json';
import { baseUrlOf, PagingLimits, readCursor, readCursorCount, readPaging, readProjection, readSort, param } from './request';
import { turn } from '../turns';
import { Readable } from 'node:stream';

/** Attached values (a group's members) rendered per turn of the event loop, when a resource has more. */
const RENDER_SLICE = 1000;

export interface ResourceRoutesOptions {
  service: ResourceService;
  /**
   * The resource type has profile sections (User): section-limited write scopes are let through, attributes the
   * caller may not read are left out of its responses, and sources of authority are released here.
   */
  access?: AccessPolicy;
  registry: SchemaRegistry;
  baseUrl?: string;
  paging: PagingLimits;
  /** RFC 7644 §3.11: this type answers /Me, for the caller's own resource (service/me.ts). */
  me?: SelfService;
}

interface IdRoute {
  Params: { id: string };
}

export type ListHandler = (request: FastifyRequest, query: Record<string, unknown>) => Promise<JsonObject>;

export function resourceRoutes(app: FastifyInstance, opts: ResourceRoutesOptions): ListHandler {
  const { service, registry } = opts;
  const schema = service.schema;
  const endpoint = schema.type.endpoint;
  const endpoints = (type: string) => registry.resourceType(type)?.endpoint;

  const access = opts.access;
  // Worked out once per request: a page of 100 resources asks for each of them.
  const hiddenFor = new WeakMap<FastifyRequest, ReadonlySet<string> | null>();
  const unreadable = (request: FastifyRequest): ReadonlySet<string> | undefined => {
    if (!access) return undefined;
    let keys = hiddenFor.get(request);
    if (keys === undefined) {
      const found = access.unreadable(callerOf(request));
      keys = found.size > 0 ? found : null;
      hiddenFor.set(request, keys);
    }
    return keys ?? undefined;
  };

  // A caller's walk by startIndex (service/page-walks.ts) is its own: the token's subject and client name it.
  const walkerOf = (request: FastifyRequest): string => {
    const caller = callerOf(request);
    return `${caller.subject ?? ''}\0${caller.clientId ?? ''}`;
  };

  // A section readable by some roles only whose attributes are in the default set (an operator's section with
  // `readers`): views hold those values, so a caller that may not read them is answered by rendering, never a view.
  const restrictedInViews =
    access !== undefined && access.sections.restrictedAttributes.some((key) => ['default', 'always'].includes(schema.resolve(key)?.attribute.returned ?? ''));
  const viewServes = (request: FastifyRequest) => !restrictedInViews || unreadable(request) === undefined;

  /** A resource as this request asks for it, rendered (what a view is, made again for other projections). */
  const rendered = (request: FastifyRequest, resource: ScimResource, projection: ProjectionRequest) => {
    const out = project(schema, render(schema, resource, baseUrlOf(request, opts.baseUrl), endpoints), projection);
    // Attributes only some callers may read (authentication contact info) are returned only when asked for by name
    // (returned: request), so no view holds them; a caller that may not read them does not get them.
    const hidden = unreadable(request);
    if (hidden) withoutAttributes(schema, out, hidden);
    return out;
  };

  // A Group's members and a User's groups are not in the record: attached (memberships.ts) when the response
  // carries them. A resource that got nothing attached is the record's own object, so its view may serve.
  const memberships = service.memberships;
  const relation = memberships?.relationOf(schema);
  const withRelated = async (records: readonly StoredRecord[], projection: ProjectionRequest): Promise<ScimResource[]> =>
    memberships && relation !== undefined && returnsAttribute(schema, projection, relation)
      ? memberships.attach(schema, records)
      : records.map((r) => r.resource);

  /**
   * Answers with one resource. `written`: for a POST, PUT or PATCH, the returned "request" attributes its body
   * specified, which the answer carries too (RFC 7643 §2.4); the view, which never holds them, then cannot serve.
   */
  const sendOne = async (request: FastifyRequest, reply: FastifyReply, record: StoredRecord, status = 200, written?: Set<string>) => {
    const base = baseUrlOf(request, opts.baseUrl);
    const projection = readProjection(request.query as Record<string, unknown>);
    if (written && written.size > 0) projection.written = written;
    reply.header('etag', etagOf(record.version));
    reply.header('location', `${base}${endpoint}/${record.id}`);
    const [resource] = await withRelated([record], projection);
    // The default representation was serialised when the record was written: its view (../scim/view.ts).
    const body =
      isDefault(projection) && !projection.written && record.view !== undefined && resource === record.resource && viewServes(request)
        ? service.views?.body(record.view, base)
        : undefined;
    if (body !== undefined) return reply.code(status).type(SCIM_CONTENT_TYPE).send(body);
    const many = relation !== undefined ? resource![relation] : undefined;
    if (Array.isArray(many) && many.length > RENDER_SLICE) return reply.code(status).type(SCIM_CONTENT_TYPE).send(renderedInSlices(request, resource!, relation!, many, projection));
    return reply.code(status).send(rendered(request, resource!, projection));
  };

  /**
   * A resource whose attached values are many (a group of 100,000 members: 17 MB of JSON) is answered as a stream:
   * the rest of the resource rendered once, then RENDER_SLICE values at a time through the same render and
   * projection (as part of a copy of the resource holding only that slice), each slice's JSON sent as it is made,
   * with the event loop free between slices and the socket's backpressure respected. The bytes are those `rendered`
   * would give; the body goes out chunked (no Content-Length), as any HTTP/1.1 client reads it.
   */
  const renderedInSlices = (request: FastifyRequest, resource: ScimResource, name: string, values: readonly Json[], projection: ProjectionRequest): Readable => {
    const { [name]: _many, ...rest } = resource as unknown as JsonObject;
    const head = JSON.stringify(rendered(request, rest as unknown as ScimResource, projection));
    async function* body(): AsyncGenerator<string> {
      let opened = false;
      for (let i = 0; i < values.length; i += RENDER_SLICE) {
        const slice = rendered(request, { ...rest, [name]: values.slice(i, i + RENDER_SLICE) } as unknown as ScimResource, projection)[name];
        if (Array.isArray(slice) && slice.length > 0) {
          const json = JSON.stringify(slice).slice(1, -1);
          yield opened ? `,${json}` : `${head.slice(0, -1)}${head.length > 2 ? ',' : ''}${JSON.stringify(name)}:[${json}`;
          opened = true;
        }
        await turn();
      }
      yield opened ? ']}' : head;
    }
    return Readable.from(body(), { objectMode: false });
  };

  const read = app.requireScope('scim:read');
  // A token limited to some sections of a profile (scim:write:jobInfo) may write the resource type that has them;
  // which attributes it may change, the sections rule decides (service/sections-rule.ts).
  const write = app.requireScope('scim:write', access ? writesSomeSection : undefined);

  /**
   * GET with query parameters and POST /.search with a SearchRequest body share this (RFC 7644 §3.4.3): the
   * ListResponse without its Resources, and the resources. With `useViews`, a resource in the default attribute set
   * whose view is of the version listed comes as the view's JSON (the embedded store reads them by key); any other is
   * rendered.
   */
  const listed = async (request: FastifyRequest, query: Record<string, unknown>, useViews: boolean) => {
    const cursor = readCursor(query);
    const result = await service.list({
      filter: param(query, 'filter'),
      ...(cursor === undefined ? readPaging(query, opts.paging) : { startIndex: 1, count: readCursorCount(query, opts.paging) }),
      ...readSort(query),
      cursor,
      unreadable: unreadable(request),
      walker: walkerOf(request),
    });
    const projection = readProjection(query);
    const views = useViews && isDefault(projection) && viewServes(request) ? service.viewsOf(result.records) : undefined;
    const base = views ? baseUrlOf(request, opts.baseUrl) : '';
    const attached = await withRelated(result.records, projection);
    const resources = result.records.map((r, i): JsonObject | string => {
      const view = views?.[i];
      // The records were read before their views: a view of another version (a write in between) is not used, nor
      // one of a resource that got its groups attached.
      const body = view && view.version === r.version && attached[i] === r.resource ? service.views?.body(view.view, base) : undefined;
      return body ?? rendered(request, attached[i]!, projection);
    });
    const envelope: JsonObject = {
      schemas: [SCHEMA_URNS.listResponse],
      totalResults: result.totalResults,
      itemsPerPage: resources.length,
      ...(result.startIndex !== undefined ? { startIndex: result.startIndex } : {}),
      ...(result.nextCursor !== undefined ? { nextCursor: result.nextCursor } : {}),
      ...(result.previousCursor !== undefined ? { previousCursor: result.previousCursor } : {}),
    };
    return { envelope, resources };
  };

  const list: ListHandler = async (request, query) => {
    const { envelope, resources } = await listed(request, query, false);
    return { ...envelope, Resources: resources as JsonObject[] };
  };

  /** Sends a list, the views' JSON spliced in as it is (an Okta import reads pages of 100 this way). */
  const sendList = async (request: FastifyRequest, reply: FastifyReply, query: Record<string, unknown>) => {
    const { envelope, resources } = await listed(request, query, true);
    if (!resources.some((r) => typeof r === 'string')) return reply.code(200).send({ ...envelope, Resources: resources });
    const items = resources.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join(',');
    return reply.code(200).type(SCIM_CONTENT_TYPE).send(`${JSON.stringify(envelope).slice(0, -1)},"Resources":[${items}]}`);
  };

  app.get(endpoint, { onRequest: read }, async (request, reply) => sendList(request, reply, request.query as Record<string, unknown>));

  app.post(
    `${endpoint}/.search`,
    // RFC 7644 §3.4.3: a search is a read, whatever its method.
    { onRequest: read, schema: { body: searchRequestSchema } },
    async (request, reply) => sendList(request, reply, searchBodyAsQuery(request.body)),
  );

  app.post(endpoint, { onRequest: write }, async (request, reply) =>
    sendOne(request, reply, await service.create(request.body, callerOf(request)), 201, writtenRequestAttributes(schema, request.body, false)),
  );

  app.get<IdRoute>(`${endpoint}/:id`, { onRequest: read }, async (request, reply) => {
    const id = request.params.id;
    // RFC 7644 §3.14: a matching If-None-Match on GET answers 304 Not Modified.
    const inm = request.headers['if-none-match'];
    const notModified = (version: number) => typeof inm === 'string' && etagMatches(inm, version);
    // The most frequent read of a provisioning client: the whole resource. Its view answers without reading the
    // record (../scim/view.ts); without one (a record stored before views, or holding the placeholder), it is
    // rendered.
    if (isDefault(readProjection(request.query as Record<string, unknown>)) && viewServes(request)) {
      const stored = await service.viewOf(id);
      const base = baseUrlOf(request, opts.baseUrl);
      // A member of some group has `groups`, which its view does not hold.
      const body = stored && !stored.member ? service.views?.body(stored.view, base) : undefined;
      if (stored && body !== undefined) {
        reply.header('etag', etagOf(stored.version));
        if (notModified(stored.version)) return reply.code(304).send();
        reply.header('location', `${base}${endpoint}/${id}`);
        return reply.code(200).type(SCIM_CONTENT_TYPE).send(body);
      }
    }
    const record = await service.get(id);
    if (notModified(record.version)) return reply.code(304).header('etag', etagOf(record.version)).send();
    return sendOne(request, reply, record);
  });

  app.put<IdRoute>(`${endpoint}/:id`, { onRequest: write }, async (request, reply) =>
    sendOne(request, reply, await service.replace(request.params.id, request.body, ifMatchOf(request), callerOf(request)), 200, writtenRequestAttributes(schema, request.body, false)),
  );

  app.patch<IdRoute>(`${endpoint}/:id`, { onRequest: write }, async (request, reply) => {
    const record = await service.patch(request.params.id, request.body, ifMatchOf(request), callerOf(request));
    // RFC 7644 §3.5.2: "the server either MUST return a 200 OK response code and the entire resource within the
    // response body, subject to the "attributes" query parameter ..., or MAY return HTTP status code 204 (No
    // Content) and the appropriate response headers for a successful PATCH request." A group answers 204 unless
    // `attributes` or `excludedAttributes` asks for a body: its members may be 100,000, and a member change must not
    // cost a read of all of them (Entra ID and Okta accept either).
    if (relation === MEMBERS && isDefault(readProjection(request.query as Record<string, unknown>))) {
      return reply.code(204).header('etag', etagOf(record.version)).send();
    }
    return sendOne(request, reply, record, 200, writtenRequestAttributes(schema, request.body, true));
  });

  app.delete<IdRoute>(`${endpoint}/:id`, { onRequest: write }, async (request, reply) => {
    await service.delete(request.params.id, ifMatchOf(request), callerOf(request));
    return reply.code(204).send();
  });

  if (access) {
    // An administrator ends a source of authority's ownership of one section of one user (sections-rule.ts): a
    // write like any other (If-Match, version, audit), answered with the user as it now is.
    app.delete<{ Params: { id: string; section: string } }>(`${endpoint}/:id/sources/:section`, { onRequest: write }, async (request, reply) =>
      sendOne(request, reply, await service.release(request.params.id, request.params.section, ifMatchOf(request), callerOf(request))),
    );
    methodNotAllowed(app, `${endpoint}/:id/sources/:section`, ['DELETE']);
  }

  if (opts.me) {
    // RFC 7644 §3.11: /Me is the caller's own resource, answered as its /Users/{id} would be (Location names that).
    // A person's token carries `scim:me`; what they may change of themselves, the sections rule decides with the
    // self-service sections (access.ts), so a PATCH of their job title is 403 like anyone's write outside their grant.
    const me = opts.me;
    const readMe = app.requireScope('scim:read', (scopes) => scopes.has('scim:me'));
    const writeMe = app.requireScope('scim:write', (scopes) => scopes.has('scim:me') || (access !== undefined && writesSomeSection(scopes)));
    const self = (request: FastifyRequest) => ({ ...callerOf(request), self: true });
    app.get('/Me', { onRequest: readMe }, async (request, reply) => {
      const record = await service.get(await me.idOf(callerOf(request)));
      const inm = request.headers['if-none-match'];
      if (typeof inm === 'string' && etagMatches(inm, record.version)) return reply.code(304).header('etag', etagOf(record.version)).send();
      return sendOne(request, reply, record);
    });
    app.put('/Me', { onRequest: writeMe }, async (request, reply) => {
      const caller = self(request);
      const record = await service.replace(await me.idOf(caller), request.body, ifMatchOf(request), caller);
      return sendOne(request, reply, record, 200, writtenRequestAttributes(schema, request.body, false));
    });
    app.patch('/Me', { onRequest: writeMe }, async (request, reply) => {
      const caller = self(request);
      const record = await service.patch(await me.idOf(caller), request.body, ifMatchOf(request), caller);
      return sendOne(request, reply, record, 200, writtenRequestAttributes(schema, request.body, true));
    });
    methodNotAllowed(app, '/Me', ['GET', 'PUT', 'PATCH']);
  }

  methodNotAllowed(app, endpoint, ['GET', 'POST']);
  methodNotAllowed(app, `${endpoint}/.search`, ['POST']);
  methodNotAllowed(app, `${endpoint}/:id`, ['GET', 'PUT', 'PATCH', 'DELETE']);
  return list;
}

/**
 * POST /.search at the service root (RFC 7644 §3.4.3): "the search is performed against all resource types". With
 * several types, results are their lists one after the other (in resource-type order), paged by index. A type
 * whose schema lacks an attribute the filter or sortBy names (`title pr` asked of Groups) has no resource that
 * could match, and is left out; when no type can run the query, the first type's error is the answer.
 */
export function rootSearchRoute(app: FastifyInstance, lists: ListHandler[], paging: PagingLimits): void {
  app.post('/.search', { onRequest: app.requireScope('scim:read'), schema: { body: searchRequestSchema } }, async (request) => {
    const query = searchBodyAsQuery(request.body);
    if (lists.length === 1) return lists[0]!(request, query);
    if (readCursor(query) !== undefined) throw errors.invalidValue('cursor paging is not offered across resource types; search one endpoint');
    const { startIndex, count } = readPaging(query, paging);
    const probes = await Promise.all(
      lists.map(async (list) => {
        try {
          return { list, total: (await list(request, { ...query, startIndex: '1', count: '0' })).totalResults as number };
        } catch (e) {
          if (isScimError(e) && (e.scimType === 'invalidFilter' || e.scimType === 'invalidValue')) return { list, error: e };
          throw e;
        }
      }),
    );
    const runnable = probes.flatMap((p) => (p.total === undefined ? [] : [{ list: p.list, total: p.total }]));
    if (runnable.length === 0) throw probes[0]!.error!;
    const resources: Json[] = [];
    let offset = startIndex - 1;
    for (const { list: l, total } of runnable) {
      if (resources.length >= count) break;
      if (offset >= total) {
        offset -= total;
        continue;
      }
      const page = await l(request, { ...query, startIndex: String(offset + 1), count: String(count - resources.length) });
      resources.push(...(page.Resources as Json[]));
      offset = 0;
    }
    return {
      schemas: [SCHEMA_URNS.listResponse],
      totalResults: runnable.reduce((sum, r) => sum + r.total, 0),
      itemsPerPage: resources.length,
      startIndex,
      Resources: resources,
    };
  });
  methodNotAllowed(app, '/.search', ['POST']);
}

/** The SearchRequest body (RFC 7644 §3.4.3), validated by ajv from schemas/requests/SearchRequest.json. */
export const searchRequestSchema = JSON.parse(readFileSync(join(SCHEMAS_DIR, 'requests', 'SearchRequest.json'), 'utf8')) as object;

/** A SearchRequest body carries the same parameters as a GET query string; lists become comma-separated. */
export function searchBodyAsQuery(body: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries((body ?? {}) as Record<string, unknown>)) {
    if (k === 'schemas' || v === undefined || v === null) continue;
    out[k] = Array.isArray(v) ? v.join(',') : String(v);
  }
  return out;
}

/** Removes top-level attributes (keys as attributeKey gives them) from a representation; an emptied extension goes. */
function withoutAttributes(schema: ResourceSchema, resource: JsonObject, keys: ReadonlySet<string>): void {
  for (const key of keys) {
    const r = schema.resolve(key);
    if (!r) continue;
    if (!r.extension) {
      delete resource[r.attribute.name];
      continue;
    }
    const ext = resource[r.schema];
    if (ext === null || typeof ext !== 'object' || Array.isArray(ext)) continue;
    delete (ext as JsonObject)[r.attribute.name];
    if (Object.keys(ext).length === 0) delete resource[r.schema];
  }
}

/** No `attributes` or `excludedAttributes`: the default set of RFC 7644 §3.9. */
function isDefault(projection: ProjectionRequest): boolean {
  return !projection.attributes?.length && !projection.excludedAttributes?.length;
}

function ifMatchOf(request: FastifyRequest): string | undefined {
  const h = request.headers['if-match'];
  return typeof h === 'string' && h.trim() !== '' ? h : undefined;
}
