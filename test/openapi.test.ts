/**
 * openapi.yaml is the contract schemathesis runs against the server; this test keeps it honest without network or
 * new dependencies:
 *
 * 1. it parses, is OpenAPI 3.1, and every `$ref` resolves inside the document;
 * 2. it is structurally valid OpenAPI 3.1 (a hand-written subset of the meta-schema, plus the rules JSON Schema
 *    cannot say), every schema compiles as JSON Schema 2020-12, and every example validates against its schema;
 * 3. the routes the app registers and the operations the spec documents are the same, and every method a path does
 *    not document answers 405 with an `Allow` header naming exactly the documented ones;
 * 4. the error catalogue in code (ERROR_CATALOGUE) and the Error schema agree;
 * 5. the spec agrees with the code's constants and with the attribute definitions in schemas/;
 * 6. real responses (per store) conform: documented status, media type, required headers, body schema.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import Ajv2020 from 'ajv/dist/2020';
import type { ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifyInstance, HTTPMethods, LightMyRequestResponse } from 'fastify';
import { build, eachStore, ENTERPRISE, ERROR, USER, user } from './helper';
import { ERROR_CATALOGUE } from '../src/scim/errors';
import { PAGING } from '../src/app';
import { MAX_FILTER_LENGTH } from '../src/scim/filter/parse';
import { AttributeDefinition, SCHEMAS_DIR, SchemaRegistry } from '../src/scim/schema';

type Tap = tap.Test;
type Node = { [key: string]: unknown };

const SPEC_FILE = join(__dirname, '..', 'openapi.yaml');
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
const SCHEMA_BASE = 'https://scim-server.test/openapi.json';

function isNode(v: unknown): v is Node {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function node(v: unknown, where: string): Node {
  if (!isNode(v)) throw new Error(`${where} is not an object`);
  return v;
}

const spec = node(parse(readFileSync(SPEC_FILE, 'utf8')), 'openapi.yaml');
const components = node(spec.components, 'components');
const paths = node(spec.paths, 'paths');

/** Resolves a local JSON pointer (`#/components/schemas/User`); undefined when it points nowhere. */
function resolvePointer(ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  let cur: unknown = spec;
  for (const raw of ref.slice(2).split('/')) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    if (!isNode(cur) || !(key in cur)) return undefined;
    cur = cur[key];
  }
  return cur;
}

/** Follows `$ref`s (Reference Objects) until a real object. */
function deref(v: unknown, where = 'value'): Node {
  let cur = node(v, where);
  for (let hops = 0; typeof cur.$ref === 'string'; hops++) {
    if (hops > 20) throw new Error(`${where}: $ref loop`);
    cur = node(resolvePointer(cur.$ref), `${where} -> ${cur.$ref}`);
  }
  return cur;
}

/** Every value in the document with its JSON pointer; `visit` returning false stops descending. */
function walk(v: unknown, at: string, visit: (value: unknown, at: string, key: string) => boolean | void, key = ''): void {
  if (visit(v, at, key) === false) return;
  if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${at}/${i}`, visit, String(i)));
  else if (isNode(v)) for (const [k, x] of Object.entries(v)) walk(x, `${at}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`, visit, k);
}

interface Operation {
  path: string;
  method: (typeof METHODS)[number];
  op: Node;
}

function operations(): Operation[] {
  const out: Operation[] = [];
  for (const [path, item] of Object.entries(paths)) {
    for (const method of METHODS) {
      const op = node(item, path)[method];
      if (op !== undefined) out.push({ path, method, op: node(op, `${method} ${path}`) });
    }
  }
  return out;
}

/** Parameters of an operation, path-level ones included, references resolved. */
function parametersOf(o: Operation): Node[] {
  const item = node(paths[o.path], o.path);
  const all = [...((item.parameters as unknown[] | undefined) ?? []), ...((o.op.parameters as unknown[] | undefined) ?? [])];
  return all.map((p, i) => deref(p, `${o.method} ${o.path} parameter ${i}`));
}

/** The response objects of an operation, by status code, references resolved. */
function responsesOf(o: Operation): Map<string, Node> {
  const responses = node(o.op.responses, `${o.method} ${o.path} responses`);
  return new Map(Object.entries(responses).map(([code, r]) => [code, deref(r, `${o.method} ${o.path} ${code}`)]));
}

// ----- JSON Schema 2020-12 (the OpenAPI 3.1 dialect) with ajv -----

/** Points `#/components/schemas/X` at the bundle registered under SCHEMA_BASE, so any fragment can be compiled. */
function rebase(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(rebase);
  if (!isNode(v)) return v;
  const out: Node = {};
  for (const [k, x] of Object.entries(v)) {
    out[k] = k === '$ref' && typeof x === 'string' ? x.replace(/^#\/components\/schemas\//, `${SCHEMA_BASE}#/$defs/`) : rebase(x);
  }
  return out;
}

function newAjv(): Ajv2020 {
  // strictTypes/strictRequired off: OpenAPI schemas routinely put `properties`/`required` in allOf, if/then or not
  // branches without repeating `type` or the property definitions. allowMatchingProperties: a canonical attribute
  // name is both a property and a match of its case-insensitive patternProperty, on purpose.
  const ajv = new Ajv2020({ strict: true, strictTypes: false, strictRequired: false, allowMatchingProperties: true, allErrors: true });
  addFormats(ajv);
  // The OpenAPI 3.1 base vocabulary's keywords besides JSON Schema's.
  ajv.addVocabulary(['example', 'discriminator', 'xml', 'externalDocs']);
  return ajv;
}

const ajv = newAjv();
ajv.addSchema({ $id: SCHEMA_BASE, $defs: rebase(components.schemas) as Node });
const compiled = new Map<string, ValidateFunction>();

function validator(schema: unknown): ValidateFunction {
  const key = JSON.stringify(schema);
  let v = compiled.get(key);
  if (!v) compiled.set(key, (v = ajv.compile(rebase(schema) as Node)));
  return v;
}

function schemaErrors(schema: unknown, value: unknown): string | undefined {
  const v = validator(schema);
  if (v(value)) return undefined;
  return ajv.errorsText(v.errors, { separator: '; ' }).slice(0, 1500);
}

// ----- 1. Parsing and references -----

t.test('openapi.yaml parses, is OpenAPI 3.1, and every $ref resolves', async (t) => {
  t.match(spec.openapi, /^3\.1\.\d+$/, 'openapi: 3.1.x');
  t.ok(isNode(spec.info) && typeof spec.info.title === 'string' && typeof spec.info.version === 'string', 'info.title and info.version');
  let refs = 0;
  walk(spec, '#', (v, at) => {
    if (!isNode(v) || !('$ref' in v)) return;
    refs++;
    const ref = v.$ref;
    if (typeof ref !== 'string') {
      t.fail(`${at}: $ref must be a string (a property named "$ref" trips reference resolvers; use patternProperties)`);
      return;
    }
    t.ok(ref.startsWith('#/'), `${at}: ${ref} is local`);
    t.not(resolvePointer(ref), undefined, `${at}: ${ref} resolves`);
  });
  t.ok(refs > 100, `the document uses references (${refs})`);
});

/** Components no operation refers to, on purpose. */
const UNREFERENCED = new Map<string, string>();

t.test('every component is used (unless listed in UNREFERENCED with a reason)', async (t) => {
  const used = new Set<string>();
  walk(spec, '#', (v) => {
    if (isNode(v) && typeof v.$ref === 'string') used.add(v.$ref);
  });
  for (const [kind, entries] of Object.entries(components)) {
    if (kind === 'securitySchemes') continue;
    for (const name of Object.keys(node(entries, kind))) {
      const ref = `#/components/${kind}/${name}`;
      if (UNREFERENCED.has(ref)) t.notOk(used.has(ref), `${ref} is unreferenced: ${UNREFERENCED.get(ref)}`);
      else t.ok(used.has(ref), `${ref} is referenced`);
    }
  }
  const schemes = Object.keys(node(components.securitySchemes, 'securitySchemes'));
  t.same(schemes, ['bearerAuth']);
});

// ----- 2. Structural validity -----

const ORef = (name: string) => ({ if: { required: ['$ref'] }, then: { $ref: '#/$defs/reference' }, else: { $ref: `#/$defs/${name}` } });
const text = { type: 'string' };

/** A subset of the OpenAPI 3.1 meta-schema: the objects this document uses, closed so a typo'd key fails. */
const OAS_SUBSET = {
  $id: 'https://scim-server.test/oas-3.1-subset.json',
  type: 'object',
  required: ['openapi', 'info', 'paths'],
  additionalProperties: false,
  patternProperties: { '^x-': true },
  properties: {
    openapi: { type: 'string', pattern: '^3\\.1\\.\\d+$' },
    jsonSchemaDialect: { type: 'string', format: 'uri' },
    info: {
      type: 'object',
      required: ['title', 'version'],
      additionalProperties: false,
      properties: {
        title: text,
        version: text,
        summary: text,
        description: text,
        termsOfService: text,
        contact: { type: 'object' },
        license: {
          type: 'object',
          required: ['name'],
          additionalProperties: false,
          properties: { name: text, identifier: text, url: { type: 'string', format: 'uri' } },
          not: { required: ['identifier', 'url'] },
        },
      },
    },
    servers: {
      type: 'array',
      items: { type: 'object', required: ['url'], additionalProperties: false, properties: { url: text, description: text } },
    },
    tags: {
      type: 'array',
      items: { type: 'object', required: ['name'], additionalProperties: false, properties: { name: text, description: text } },
    },
    security: { $ref: '#/$defs/security' },
    paths: { type: 'object', propertyNames: { pattern: '^/' }, additionalProperties: { $ref: '#/$defs/pathItem' } },
    components: {
      type: 'object',
      additionalProperties: false,
      properties: {
        schemas: { type: 'object', additionalProperties: { type: ['object', 'boolean'] } },
        responses: { type: 'object', additionalProperties: ORef('response') },
        parameters: { type: 'object', additionalProperties: ORef('parameter') },
        examples: { type: 'object', additionalProperties: ORef('example') },
        requestBodies: { type: 'object', additionalProperties: ORef('requestBody') },
        headers: { type: 'object', additionalProperties: ORef('header') },
        securitySchemes: { type: 'object', additionalProperties: { $ref: '#/$defs/securityScheme' } },
      },
      // Component names: OpenAPI 3.1 §4.8.7.1.
      propertyNames: { enum: ['schemas', 'responses', 'parameters', 'examples', 'requestBodies', 'headers', 'securitySchemes'] },
    },
  },
  $defs: {
    reference: {
      type: 'object',
      required: ['$ref'],
      additionalProperties: false,
      properties: { $ref: { type: 'string', pattern: '^#/' }, summary: text, description: text },
    },
    pathItem: {
      type: 'object',
      additionalProperties: false,
      properties: {
        summary: text,
        description: text,
        parameters: { type: 'array', items: ORef('parameter') },
        ...Object.fromEntries(METHODS.map((m) => [m, { $ref: '#/$defs/operation' }])),
      },
    },
    operation: {
      type: 'object',
      required: ['responses', 'operationId'],
      additionalProperties: false,
      properties: {
        tags: { type: 'array', items: text },
        summary: text,
        description: text,
        operationId: { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9]*$' },
        parameters: { type: 'array', items: ORef('parameter') },
        requestBody: ORef('requestBody'),
        responses: {
          type: 'object',
          minProperties: 1,
          propertyNames: { pattern: '^([1-5](XX|[0-9]{2})|default)$' },
          additionalProperties: ORef('response'),
        },
        security: { $ref: '#/$defs/security' },
        deprecated: { type: 'boolean' },
      },
    },
    response: {
      type: 'object',
      required: ['description'],
      additionalProperties: false,
      properties: {
        description: text,
        headers: { type: 'object', additionalProperties: ORef('header') },
        content: { $ref: '#/$defs/content' },
      },
    },
    content: {
      type: 'object',
      minProperties: 1,
      propertyNames: { pattern: '^[a-z]+/[a-z0-9.+-]+$' },
      additionalProperties: { $ref: '#/$defs/mediaType' },
    },
    mediaType: {
      type: 'object',
      required: ['schema'],
      additionalProperties: false,
      properties: { schema: { type: ['object', 'boolean'] }, example: true, examples: { type: 'object', additionalProperties: ORef('example') } },
      not: { required: ['example', 'examples'] },
    },
    parameter: {
      type: 'object',
      required: ['name', 'in', 'schema'],
      additionalProperties: false,
      properties: {
        name: text,
        in: { enum: ['query', 'header', 'path', 'cookie'] },
        description: text,
        required: { type: 'boolean' },
        deprecated: { type: 'boolean' },
        style: text,
        explode: { type: 'boolean' },
        schema: { type: ['object', 'boolean'] },
        example: true,
        examples: { type: 'object', additionalProperties: ORef('example') },
      },
      not: { required: ['example', 'examples'] },
      // A path parameter MUST be required (OpenAPI 3.1 §4.8.12.2).
      if: { properties: { in: { const: 'path' } } },
      then: { required: ['required'], properties: { required: { const: true } } },
    },
    header: {
      type: 'object',
      required: ['schema'],
      additionalProperties: false,
      properties: { description: text, required: { type: 'boolean' }, deprecated: { type: 'boolean' }, schema: { type: 'object' }, example: true },
    },
    requestBody: {
      type: 'object',
      required: ['content'],
      additionalProperties: false,
      properties: { description: text, required: { type: 'boolean' }, content: { $ref: '#/$defs/content' } },
    },
    example: {
      type: 'object',
      additionalProperties: false,
      properties: { summary: text, description: text, value: true, externalValue: text },
      oneOf: [{ required: ['value'] }, { required: ['externalValue'] }],
    },
    security: { type: 'array', items: { type: 'object', additionalProperties: { type: 'array', items: text } } },
    securityScheme: {
      type: 'object',
      required: ['type'],
      additionalProperties: false,
      properties: {
        type: { enum: ['apiKey', 'http', 'mutualTLS', 'oauth2', 'openIdConnect'] },
        description: text,
        scheme: text,
        bearerFormat: text,
        name: text,
        in: { enum: ['query', 'header', 'cookie'] },
        flows: { type: 'object' },
        openIdConnectUrl: { type: 'string', format: 'uri' },
      },
      if: { properties: { type: { const: 'http' } } },
      then: { required: ['scheme'] },
    },
  },
};

t.test('openapi.yaml is structurally valid OpenAPI 3.1 (a closed subset of the meta-schema)', async (t) => {
  const meta = newAjv();
  const validate = meta.compile(OAS_SUBSET);
  const ok = validate(spec);
  t.ok(ok, ok ? 'valid' : meta.errorsText(validate.errors, { separator: '\n' }));
});

t.test('rules the meta-schema cannot express', async (t) => {
  const ids = operations().map((o) => String(o.op.operationId));
  t.same(ids.filter((id, i) => ids.indexOf(id) !== i), [], 'operationIds are unique');

  const schemes = node(components.securitySchemes, 'securitySchemes');
  const declaredTags = new Set((spec.tags as Node[]).map((tag) => String(tag.name)));
  for (const o of operations()) {
    const label = `${o.method.toUpperCase()} ${o.path}`;
    // Path templating: every {name} has a path parameter and every path parameter a {name}.
    const templated = [...o.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
    const params = parametersOf(o);
    t.same(params.filter((p) => p.in === 'path').map((p) => p.name).sort(), templated, `${label}: path parameters match the template`);
    const keys = params.map((p) => `${String(p.in)}:${String(p.name).toLowerCase()}`);
    t.same(keys.filter((k, i) => keys.indexOf(k) !== i), [], `${label}: no parameter twice`);
    for (const p of params) {
      if (p.in === 'header') t.notOk(['accept', 'content-type', 'authorization'].includes(String(p.name).toLowerCase()), `${label}: ${String(p.name)} is not a parameter`);
    }
    // Security requirements name declared schemes.
    for (const req of (o.op.security as Node[] | undefined) ?? []) {
      for (const name of Object.keys(req)) t.ok(name in schemes, `${label}: security scheme ${name} is declared`);
    }
    t.ok(Array.isArray(o.op.security), `${label}: states its security explicitly`);
    for (const tag of (o.op.tags as string[] | undefined) ?? []) t.ok(declaredTags.has(tag), `${label}: tag ${tag} is declared`);
    // A body only where HTTP gives it meaning.
    if (o.op.requestBody !== undefined) t.ok(['post', 'put', 'patch'].includes(o.method), `${label}: has a request body`);
    if (o.method === 'head') {
      for (const [code, r] of responsesOf(o)) t.equal(r.content, undefined, `${label} ${code}: HEAD responses have no content`);
    }
  }
});

t.test('every schema compiles as JSON Schema 2020-12, and every example validates against its schema', async (t) => {
  for (const name of Object.keys(node(components.schemas, 'schemas'))) {
    t.doesNotThrow(() => ajv.getSchema(`${SCHEMA_BASE}#/$defs/${name}`), `components.schemas.${name} compiles`);
  }
  let examples = 0;
  walk(spec, '#', (v, at, key) => {
    if (!isNode(v) || !('schema' in v) || key === 'properties') return;
    // Media types, parameters and headers: a `schema` beside `example` or `examples`.
    const schema = v.schema;
    if ('example' in v) {
      examples++;
      t.equal(schemaErrors(schema, v.example), undefined, `${at}: example`);
    }
    if (isNode(v.examples)) {
      for (const [name, ex] of Object.entries(v.examples)) {
        examples++;
        t.equal(schemaErrors(schema, deref(ex, `${at}/examples/${name}`).value), undefined, `${at}: example ${name}`);
      }
    }
    // Schemas' own `example` keyword (OpenAPI vocabulary).
    walk(schema, `${at}/schema`, (s, sat) => {
      if (isNode(s) && 'example' in s && 'type' in s) {
        examples++;
        t.equal(schemaErrors(s, s.example), undefined, `${sat}: example`);
      }
    });
  });
  for (const [name, s] of Object.entries(node(components.schemas, 'schemas'))) {
    if (isNode(s) && 'example' in s) {
      examples++;
      t.equal(schemaErrors({ $ref: `#/components/schemas/${name}` }, s.example), undefined, `components.schemas.${name}: example`);
    }
  }
  t.ok(examples > 40, `examples checked: ${examples}`);
});

// ----- 3. Routes -----

/** The routes the app registers, from `printRoutes({ commonPrefix: false })`: path (as `/a/:id`) -> methods. */
function registeredRoutes(app: FastifyInstance): Map<string, Set<string>> {
  const routes = new Map<string, Set<string>>();
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^((?:[│ ] {3})*)[├└]── (\S+)(?: \(([^)]*)\))?$/.exec(line.trimEnd());
    if (!m) continue;
    const depth = m[1]!.length / 4;
    const full = (depth > 0 ? stack[depth - 1]! : '') + m[2]!;
    stack.length = depth;
    stack.push(full);
    const methods = (m[3] ?? '').split(',').map((s) => s.trim()).filter((s) => /^[A-Z]+$/.test(s));
    if (methods.length > 0) routes.set(full, new Set([...(routes.get(full) ?? []), ...methods]));
  }
  return routes;
}

const toFastify = (path: string) => path.replace(/\{([^}]+)\}/g, ':$1');
const documentedMethods = (path: string) =>
  METHODS.filter((m) => node(paths[path], path)[m] !== undefined).map((m) => m.toUpperCase());

t.test('the routes the app registers are the operations openapi.yaml documents', async (t) => {
  const h = await build(t);
  const routes = registeredRoutes(h.app);
  // The router matches paths in any letter case and prints them in lower case: they are compared so.
  t.ok(routes.has('/healthz') && routes.has('/scim/v2/users/:id'), `routes were read (${[...routes.keys()].join(' ')})`);
  const specPaths = new Map(Object.keys(paths).map((p) => [toFastify(p).toLowerCase(), p]));

  t.same([...routes.keys()].filter((r) => !specPaths.has(r)), [], 'every registered path is documented');
  t.same([...specPaths.keys()].filter((p) => !routes.has(p)), [], 'every documented path is registered');

  for (const o of operations()) {
    const url = toFastify(o.path);
    t.ok(h.app.hasRoute({ method: o.method.toUpperCase() as HTTPMethods, url }), `${o.method.toUpperCase()} ${o.path} is registered`);
  }

  for (const [route, methods] of routes) {
    const path = specPaths.get(route);
    if (!path) continue;
    const documented = documentedMethods(path);
    t.same(documented.includes('GET'), documented.includes('HEAD'), `${path}: HEAD is documented exactly where GET is`);
    const extra = [...methods].filter((m) => !documented.includes(m));
    const has405 = operations().filter((o) => o.path === path).every((o) => responsesOf(o).has('405'));
    // The other registered methods are the 405 catch-all: each must answer 405 with Allow = the documented set.
    for (const method of extra) {
      const res = await h.app.inject({ method: method as HTTPMethods, url: toFastify(path).replace(/:[^/]+/g, 'x') });
      t.equal(res.statusCode, 405, `${method} ${path} is not an operation, so it answers 405`);
      t.same(String(res.headers.allow).split(', ').sort(), [...documented].sort(), `${method} ${path}: Allow lists the documented methods`);
    }
    t.equal(has405, extra.length > 0, `${path}: operations document 405 exactly when the path answers 405 for other methods`);
  }
});

// ----- 4. Error catalogue -----

t.test('the error catalogue in code matches the Error schema and the documented responses', async (t) => {
  const errorSchema = node(node(components.schemas, 'schemas').Error, 'Error');
  const enumTypes = new Set(node(node(errorSchema.properties, 'Error.properties').scimType, 'scimType').enum as string[]);
  const entries = Object.values(ERROR_CATALOGUE) as { status: number; scimType?: string }[];
  const codeTypes = new Set(entries.map((e) => e.scimType).filter((s): s is string => s !== undefined));
  t.same([...codeTypes].filter((s) => !enumTypes.has(s)), [], 'every scimType in the catalogue is in the Error schema');
  t.same([...enumTypes].filter((s) => !codeTypes.has(s)), [], 'every scimType in the Error schema is in the catalogue');
  for (const e of entries) {
    if (e.scimType) t.equal(e.status, e.scimType === 'uniqueness' ? 409 : 400, `${e.scimType} is a ${e.status}`);
  }

  const documented = new Set<string>();
  for (const o of operations()) {
    if (!o.path.startsWith('/scim/v2/')) continue;
    for (const [code, r] of responsesOf(o)) {
      documented.add(code);
      if (!/^[45]/.test(code) || o.method === 'head') continue;
      const label = `${o.method.toUpperCase()} ${o.path} ${code}`;
      const media = node(node(r.content, `${label} content`)['application/scim+json'], `${label} application/scim+json`);
      let usesError = false;
      const allowed = new Set<string>();
      walk(media.schema, '#', (v) => {
        if (!isNode(v)) return;
        if (v.$ref === '#/components/schemas/Error' || v.$ref === '#/components/schemas/ErrorWithoutScimType') usesError = true;
        if (isNode(v.status) && v.status.const !== undefined) t.equal(v.status.const, code, `${label}: status const`);
        if (isNode(v.scimType)) {
          for (const s of [...((v.scimType.enum as string[] | undefined) ?? []), ...(v.scimType.const ? [String(v.scimType.const)] : [])]) allowed.add(s);
        }
        if (typeof v.$ref === 'string' && v.$ref !== '#/components/schemas/Error') walk(resolvePointer(v.$ref), '#', (w) => {
          if (isNode(w) && isNode(w.status) && w.status.const !== undefined) t.equal(w.status.const, code, `${label}: status const`);
        });
      });
      t.ok(usesError, `${label}: the body is a SCIM Error`);
      for (const s of allowed) t.ok(enumTypes.has(s), `${label}: ${s} is a known scimType`);
      const scimTypesOfStatus = entries.filter((e) => String(e.status) === code && e.scimType).map((e) => e.scimType!);
      for (const s of allowed) t.ok(scimTypesOfStatus.includes(s), `${label}: ${s} belongs to status ${code}`);
      if (code === '400') t.ok(allowed.size > 0, `${label}: lists the scimTypes it can return`);
    }
  }
  // Component responses document their status in the body schema (`status: {const: '501'}`).
  const inComponents = new Set<string>();
  for (const r of Object.values(node(components.responses, 'responses'))) {
    walk(r, '#', (v) => {
      if (isNode(v) && isNode(v.status) && typeof v.status.const === 'string') inComponents.add(v.status.const);
    });
  }
  for (const status of new Set(entries.map((e) => String(e.status)))) {
    t.ok(documented.has(status) || inComponents.has(status), `catalogue status ${status} is documented`);
    if (!documented.has(status)) t.ok(UNREFERENCED.has('#/components/responses/NotImplemented') && status === '501', `only 501 is documented outside operations (${status})`);
  }
  const errorStatuses = new Set(entries.map((e) => String(e.status)));
  for (const code of documented) {
    if (/^[45]/.test(code)) t.ok(errorStatuses.has(code), `documented status ${code} is in the catalogue`);
  }
});

// ----- 5. Agreement with the code's constants and with schemas/ -----

t.test('parameters, limits and the User and Group schemas agree with the code and schemas/', async (t) => {
  const params = node(components.parameters, 'parameters');
  const schemaOf = (name: string) => node(node(params[name], name).schema, `${name}.schema`);
  t.equal(schemaOf('count').default, PAGING.defaultCount, 'count default is PAGING.defaultCount');
  t.match(String(node(params.count, 'count').description), String(PAGING.maxCount), 'count description states PAGING.maxCount');
  // RFC 7644 §3.4.2.4: a startIndex below 1 "SHALL be interpreted as 1", a negative count as 0. They are not
  // errors, so the contract sets no minimum (schemathesis would otherwise call the RFC's behaviour a bug).
  t.equal(schemaOf('count').minimum, undefined);
  t.equal(schemaOf('startIndex').minimum, undefined);
  t.equal(schemaOf('filter').minLength, 1);
  t.same(schemaOf('sortOrder').enum, ['ascending', 'descending']);
  t.equal(schemaOf('filter').maxLength, MAX_FILTER_LENGTH, 'filter maxLength is MAX_FILTER_LENGTH');
  const search = node(node(components.schemas, 'schemas').SearchRequest, 'SearchRequest');
  t.equal(node(node(search.properties, 'p').filter, 'filter').maxLength, MAX_FILTER_LENGTH);
  const served = node(JSON.parse(readFileSync(join(SCHEMAS_DIR, 'requests', 'SearchRequest.json'), 'utf8')), 'SearchRequest.json');
  t.same(Object.keys(node(search.properties, 'p')).sort(), Object.keys(node(served.properties, 'p')).sort(), 'SearchRequest members are those of schemas/requests/SearchRequest.json');
  t.same(search.required, served.required, 'SearchRequest.required');
  t.equal(search.additionalProperties, served.additionalProperties, 'SearchRequest.additionalProperties');

  const registry = SchemaRegistry.fromDirectory(SCHEMAS_DIR);
  const rs = registry.resourceSchema('User');
  const schemas = node(components.schemas, 'schemas');
  const props = (name: string) => node(node(schemas[name], name).properties, `${name}.properties`);
  const patterns = (name: string) => Object.keys(node(node(schemas[name], name).patternProperties ?? {}, `${name}.patternProperties`));
  const refName = (v: unknown) => {
    const r = node(v, 'property');
    const ref = typeof r.$ref === 'string' ? r.$ref : isNode(r.items) && typeof r.items.$ref === 'string' ? r.items.$ref : undefined;
    return ref?.replace('#/components/schemas/', '');
  };
  const matchesCi = (name: string, pats: string[]) => pats.some((p) => new RegExp(p).test(name) && new RegExp(p).test(name.toUpperCase()));
  const checkAttrs = (defs: readonly AttributeDefinition[], out: string, input: string, where: string) => {
    for (const def of defs) {
      const label = `${where}${def.name}`;
      const outProps = props(out);
      if (def.returned === 'never') t.notOk(def.name in outProps, `${label} is never returned, so not in ${out}`);
      else if (def.name === '$ref') t.ok(patterns(out).includes('^\\$ref$'), `${label} is in ${out} (as a patternProperty)`);
      else t.ok(def.name in outProps, `${label} is in ${out}`);
      if (def.name !== '$ref') t.ok(def.name in props(input), `${label} is in ${input}`);
      if (def.name !== 'userName') t.ok(matchesCi(def.name, patterns(input)), `${label}: ${input} accepts it in any case`);
      if (def.type === 'complex' && def.subAttributes) {
        const outRef = refName(outProps[def.name]);
        t.ok(outRef, `${label} refers to an object schema`);
        if (def.mutability === 'readOnly') continue;
        const inObj = `${outRef}Input`;
        t.ok(inObj in schemas, `${inObj} exists`);
        if (outRef) checkAttrs(def.subAttributes, outRef, inObj, `${label}.`);
      }
      if (def.type === 'boolean' && def.name in outProps) t.equal(node(outProps[def.name], label).type, 'boolean', `${label} is a boolean`);
    }
  };
  checkAttrs(rs.coreAttributes, 'User', 'UserInput', '');
  for (const { schema } of rs.extensions) {
    t.ok(schema.id in props('User'), `${schema.id} is a key of User`);
    // Each extension has its own pair of component schemas: EnterpriseUser, ProfileUser (this server's own).
    const name = schema.id.startsWith('urn:scim-server:') ? 'ProfileUser' : 'EnterpriseUser';
    checkAttrs(schema.attributes, name, `${name}Input`, `${schema.id}:`);
  }
  t.same(node(node(props('User').schemas, 'schemas').items, 'items').enum, rs.schemaUrns, 'User.schemas lists the core schema and the extensions');

  const gs = registry.resourceSchema('Group');
  t.same(gs.extensions, [], 'Group has no extensions');
  checkAttrs(gs.coreAttributes, 'Group', 'GroupInput', '');
  t.same(node(node(props('Group').schemas, 'schemas').items, 'items').enum, gs.schemaUrns, 'Group.schemas lists the core schema');
  t.equal(node(node(props('GroupMeta').resourceType, 'resourceType'), 'resourceType').const, 'Group', 'GroupMeta.resourceType is Group');
  t.same(
    registry.resourceTypes().map((rt) => rt.id),
    ['Group', 'User'],
    'the root search answers Groups, then Users (the order openapi.yaml describes)',
  );
});

// ----- 6. Real responses conform -----

const templates = Object.keys(paths).map((p) => ({
  path: p,
  re: new RegExp(`^${p.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{[^}]+\\?\}/g, '[^/]+')}$`),
}));

/** The operations the exchanges below exercised (`GET /scim/v2/Groups/{id}`), with every status they answered. */
const exercised = new Map<string, Set<number>>();

/** Checks one exchange against the contract, the way schemathesis does. */
function conforms(t: Tap, method: string, url: string, res: LightMyRequestResponse): void {
  const path = decodeURI(url.split('?')[0]!);
  const label = `${method} ${url.slice(0, 120)} -> ${res.statusCode}`;
  const tpl = templates.find((x) => x.re.test(path));
  if (!tpl) {
    t.fail(`${label}: no documented path`);
    return;
  }
  const op = node(paths[tpl.path], tpl.path)[method.toLowerCase()];
  const key = `${method} ${tpl.path}`;
  exercised.set(key, new Set([...(exercised.get(key) ?? []), res.statusCode]));
  let response: Node | undefined;
  if (op === undefined) {
    t.equal(res.statusCode, 405, `${label}: an undocumented method is 405`);
    response = deref(node(components.responses, 'responses').MethodNotAllowed);
  } else {
    response = responsesOf({ path: tpl.path, method: method.toLowerCase() as Operation['method'], op: node(op, label) }).get(String(res.statusCode));
  }
  if (!response) {
    t.fail(`${label}: status not documented (${res.body.slice(0, 200)})`);
    return;
  }
  for (const [name, h] of Object.entries(node(response.headers ?? {}, `${label} headers`))) {
    const header = deref(h, `${label} header ${name}`);
    const value = res.headers[name.toLowerCase()];
    if (header.required === true) t.not(value, undefined, `${label}: has the ${name} header`);
    if (value !== undefined) t.equal(schemaErrors(header.schema, String(value)), undefined, `${label}: ${name} header ${String(value)}`);
  }
  if (!isNode(response.content) || method === 'HEAD') {
    t.equal(res.body, '', `${label}: no body`);
    return;
  }
  const type = String(res.headers['content-type'] ?? '').split(';')[0]!.trim();
  const media = response.content[type];
  if (!isNode(media)) {
    t.fail(`${label}: content type ${type} is not documented (${Object.keys(response.content).join(', ')})`);
    return;
  }
  let body: unknown;
  try {
    body = JSON.parse(res.body);
  } catch {
    t.fail(`${label}: the body is not JSON`);
    return;
  }
  t.equal(schemaErrors(media.schema, body), undefined, `${label}: the body matches the schema`);
}

const example = (name: string): Node => node(deref(node(components.examples, 'examples')[name], name).value, name);

/** An example with the ids it names (RFC 7643 §8's) swapped for ids of resources that exist. */
const exampleWith = (name: string, ids: Record<string, string>): Node => {
  let text = JSON.stringify(example(name));
  const named = Object.keys(ids).filter((from) => text.includes(from));
  if (named.length === 0) throw new Error(`example ${name} names none of ${Object.keys(ids).join(', ')}`);
  for (const from of named) text = text.split(from).join(ids[from]!);
  return node(JSON.parse(text), name);
};
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const SEARCH = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';
/** The ids the spec's examples use: two Users (RFC 7643 §8.4) and a Group. */
const EXAMPLE_IDS = { user1: '2819c223-7f76-453a-919d-413861904646', user2: '902c246b-6245-4190-8e05-00816be7344a', group: 'e9e30dba-f08f-4109-8486-d5c6a331660a' };

eachStore(t, async (t, kind) => {
  const h = await build(t, kind);
  const call = async (method: HTTPMethods, url: string, opts: { payload?: unknown; headers?: Record<string, string>; scope?: string; status?: number } = {}) => {
    const { status, ...rest } = opts;
    const payload = typeof rest.payload === 'string' || rest.payload === undefined ? rest.payload : JSON.stringify(rest.payload);
    const res = await h.req({ method, url, ...rest, payload: payload as string | undefined });
    conforms(t, method, url, res);
    if (status !== undefined) t.equal(res.statusCode, status, `${method} ${url.slice(0, 100)}: ${status} (${res.body.slice(0, 200)})`);
    return res;
  };
  const anonymous = async (method: HTTPMethods, url: string, status: number) => {
    const res = await h.app.inject({ method, url });
    conforms(t, method, url, res);
    t.equal(res.statusCode, status, `${method} ${url} without a token: ${status}`);
    return res;
  };

  // Health and discovery.
  for (const m of ['GET', 'HEAD'] as const) {
    await anonymous(m, '/healthz', 200);
    await anonymous(m, '/readyz', 200);
    for (const url of ['/ServiceProviderConfig', '/ResourceTypes', '/ResourceTypes/User', '/ResourceTypes/user', '/ResourceTypes/Group', '/Schemas', `/Schemas/${USER}`, `/Schemas/${ENTERPRISE}`, `/Schemas/${GROUP}`]) {
      await anonymous(m, `/scim/v2${url}`, 200);
    }
    await anonymous(m, '/scim/v2/ResourceTypes/Widget', 404);
    await anonymous(m, '/scim/v2/Schemas/urn:nope', 404);
  }

  // Create: the spec's own request examples must be accepted.
  const ids: string[] = [];
  for (const name of ['UserInput', 'UserInputEnterprise', 'UserInputEntra']) {
    const res = await call('POST', '/scim/v2/Users', { payload: example(name), status: 201 });
    ids.push(String(res.json().id));
  }
  await call('POST', '/scim/v2/Users', { payload: user('json.client'), headers: { 'content-type': 'application/json' }, status: 201 });
  const [id, id2] = ids as [string, string];
  const userUrl = `/scim/v2/Users/${id}`;

  // Read.
  const got = await call('GET', userUrl, { status: 200 });
  const etag = String(got.headers.etag);
  await call('HEAD', userUrl, { status: 200 });
  await call('GET', userUrl, { headers: { 'if-none-match': etag }, status: 304 });
  await call('HEAD', userUrl, { headers: { 'if-none-match': '*' }, status: 304 });
  await call('GET', `${userUrl}?attributes=userName`, { status: 200 });
  await call('GET', `/scim/v2/Users/${id2}?excludedAttributes=emails,${ENTERPRISE}`, { status: 200 });
  await call('GET', '/scim/v2/Users/no-such-user', { status: 404 });
  await call('HEAD', '/scim/v2/Users/no-such-user', { status: 404 });

  // List.
  const q = (s: string) => `/scim/v2/Users?${s}`;
  await call('GET', '/scim/v2/Users', { status: 200 });
  await call('HEAD', '/scim/v2/Users', { status: 200 });
  await call('GET', q(`filter=${encodeURIComponent('userName sw "b" or emails[type eq "work"]')}&count=2&startIndex=1`), { status: 200 });
  await call('GET', q('count=0'), { status: 200 });
  await call('GET', q('sortBy=userName&sortOrder=descending&attributes=userName'), { status: 200 });
  await call('GET', q(`filter=${encodeURIComponent('userName eq')}`), { status: 400 });
  await call('HEAD', q(`filter=${encodeURIComponent('nope pr')}`), { status: 400 });
  await call('GET', q('count=ten'), { status: 400 });
  await call('GET', q('sortBy=nope'), { status: 400 });
  await call('GET', q('sortBy=userName&sortOrder=up'), { status: 400 });

  // Create errors.
  await call('POST', '/scim/v2/Users', { payload: user('BJENSEN'), status: 409 });
  await call('POST', '/scim/v2/Users', { payload: { userName: 5 }, status: 400 });
  await call('POST', '/scim/v2/Users', { payload: { userName: 'typo', userNmae: 'x' }, status: 400 });
  await call('POST', '/scim/v2/Users', { payload: user('x', { emails: [{ value: 'a@b', primary: true }, { value: 'c@d', primary: 'True' }] }), status: 400 });
  await call('POST', '/scim/v2/Users', { payload: '{', status: 400 });
  await call('POST', '/scim/v2/Users', { payload: 'userName=x', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415 });
  await call('POST', '/scim/v2/Users', { payload: user('x'.repeat(h.config.bodyLimit)), status: 413 });

  // Replace.
  const putBody = { ...example('UserInput'), displayName: 'Babs' };
  const put = await call('PUT', userUrl, { payload: putBody, headers: { 'if-match': etag }, status: 200 });
  await call('PUT', userUrl, { payload: putBody, headers: { 'if-match': etag }, status: 412 });
  await call('PUT', userUrl, { payload: { ...putBody, userName: 'Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1@testuser.com' }, status: 409 });
  await call('PUT', userUrl, { payload: { ...putBody, nope: 1 }, status: 400 });
  await call('PUT', '/scim/v2/Users/no-such-user', { payload: putBody, status: 404 });

  // Cursor paging (RFC 9865) and search by POST.
  const first = await call('GET', q('cursor=&count=1'), { status: 200 });
  const next = String(first.json().nextCursor);
  const second = await call('GET', q(`cursor=${encodeURIComponent(next)}&count=1`), { status: 200 });
  t.ok(second.json().previousCursor, 'the second page links back');
  await call('GET', q('cursor=not-a-cursor'), { status: 400 });
  await call('GET', q('cursor=&startIndex=2'), { status: 400 });
  await call('GET', q('cursor=&sortBy=userName'), { status: 200 });
  await call('GET', q('cursor=&count=1001'), { status: 400 });
  await call('GET', q(`cursor=${encodeURIComponent(next)}&count=2`), { status: 400 });
  for (const url of ['/scim/v2/Users/.search', '/scim/v2/.search']) {
    await call('POST', url, { payload: example('SearchRequest'), status: 200 });
    // With Users and Groups, the root search pages by index only: a cursor there is 400 invalidValue.
    const cursor = await call('POST', url, { payload: example('SearchRequestCursor'), headers: { 'content-type': 'application/json' }, status: url === '/scim/v2/.search' ? 400 : 200 });
    if (url === '/scim/v2/.search') t.match(cursor.json(), { scimType: 'invalidValue', detail: /cursor paging is not offered across resource types/ });
    await call('POST', url, { payload: { filter: 'userName pr' }, status: 400 });
    await call('POST', url, { payload: { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter: 'userName eq' }, status: 400 });
    await call('GET', url, { status: 405 });
  }
  await call('POST', '/scim/v2/Users/.search', { payload: example('SearchRequest'), scope: 'scim:write', status: 403 });

  // Modify: the spec's PatchOp examples; whatever the PATCH engine answers must be documented.
  await call('PATCH', `/scim/v2/Users/${id2}`, { payload: example('PatchOp') });
  await call('PATCH', `/scim/v2/Users/${id2}`, { payload: example('PatchOpWithoutPath'), status: 200 });
  await call('PATCH', `/scim/v2/Users/${id2}`, { payload: example('PatchOpEntra'), status: 200 });
  await call('PATCH', userUrl, { payload: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'remove' }] }, status: 400 });
  await call('PATCH', userUrl, { payload: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'name.nope', value: 'x' }] }, status: 400 });
  await call('PATCH', userUrl, { payload: { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'id', value: 'x' }] }, status: 400 });
  await call('PATCH', userUrl, { payload: example('PatchOpEntra'), headers: { 'if-match': 'W/"999"' }, status: 412 });
  await call('PATCH', '/scim/v2/Users/no-such-user', { payload: example('PatchOpEntra'), status: 404 });

  // Authentication and authorisation.
  await anonymous('GET', '/scim/v2/Users', 401);
  await anonymous('HEAD', userUrl, 401);
  await anonymous('DELETE', userUrl, 401);
  await call('POST', '/scim/v2/Users', { payload: user('reader'), scope: 'scim:read', status: 403 });
  await call('GET', userUrl, { scope: 'scim:write', status: 403 });

  // Methods a path does not have.
  await call('DELETE', '/scim/v2/Users', { status: 405 });
  await call('POST', userUrl, { payload: {}, status: 405 });
  await call('PUT', '/scim/v2/Schemas', { payload: {}, status: 405 });
  await call('OPTIONS', '/scim/v2/ServiceProviderConfig', { status: 405 });

  // Delete.
  await call('DELETE', userUrl, { headers: { 'if-match': etag }, status: 412 });
  await call('DELETE', userUrl, { payload: '{', headers: { 'content-type': 'application/json' }, status: 400 });
  await call('DELETE', userUrl, { headers: { 'if-match': String(put.headers.etag) }, status: 204 });
  await call('GET', userUrl, { status: 404 });
  await call('DELETE', userUrl, { status: 404 });

  // Groups: every operation, the spec's own examples (with real ids), and the errors each documents.
  const m1 = id2;
  const m2 = ids[2]!;
  const swap = { [EXAMPLE_IDS.user1]: m1, [EXAMPLE_IDS.user2]: m2 };
  const groups = '/scim/v2/Groups';
  const created = await call('POST', groups, { payload: exampleWith('GroupInput', swap), status: 201 });
  const gid = String(created.json().id);
  t.same((created.json().members as Node[]).map((m) => m.value).sort(), [m1, m2].sort(), 'the example group has both members');
  const entra = await call('POST', groups, { payload: example('GroupInputEntra'), status: 201 });
  t.same(entra.json().schemas, [GROUP], "Entra's group schema URN is accepted and dropped");
  const okta = await call('POST', groups, { payload: example('GroupInputOkta'), headers: { 'content-type': 'application/json' }, status: 201 });
  const oktaId = String(okta.json().id);
  await call('POST', groups, { payload: { ...example('GroupInputOkta'), displayName: 'OKTA PUSH' }, status: 409 });
  await call('POST', groups, { payload: { schemas: [GROUP] }, status: 400 });
  await call('POST', groups, { payload: { displayName: 'ghostly', members: [{ value: 'no-such-member' }] }, status: 400 });
  await call('POST', groups, { payload: { displayName: 'primary', members: [{ value: m1, primary: true }] }, status: 400 });
  await call('POST', groups, { payload: { displayName: 'typo', dispalyName: 'x' }, status: 400 });
  await call('POST', groups, { payload: '{', status: 400 });
  await call('POST', groups, { payload: 'displayName=x', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415 });
  await call('POST', groups, { payload: { displayName: 'x'.repeat(h.config.bodyLimit) }, status: 413 });
  await call('POST', groups, { payload: { displayName: 'reader' }, scope: 'scim:read', status: 403 });

  const groupUrl = `${groups}/${gid}`;
  const gGot = await call('GET', groupUrl, { status: 200 });
  const gEtag = String(gGot.headers.etag);
  t.match(gGot.json().members, [{ type: 'User' }, { type: 'User' }], 'member types are filled in');
  await call('HEAD', groupUrl, { status: 200 });
  await call('GET', groupUrl, { headers: { 'if-none-match': gEtag }, status: 304 });
  await call('HEAD', groupUrl, { headers: { 'if-none-match': '*' }, status: 304 });
  await call('GET', `${groupUrl}?attributes=displayName`, { status: 200 });
  t.notOk('members' in (await call('GET', `${groupUrl}?excludedAttributes=members`, { status: 200 })).json(), 'excludedAttributes=members');
  await call('GET', `${groups}/no-such-group`, { status: 404 });
  await call('HEAD', `${groups}/no-such-group`, { status: 404 });

  const gq = (s: string) => `${groups}?${s}`;
  await call('GET', groups, { status: 200 });
  await call('HEAD', groups, { status: 200 });
  const byName = await call('GET', gq(`filter=${encodeURIComponent('displayName eq "tour guides"')}&excludedAttributes=members`), { status: 200 });
  t.equal(byName.json().totalResults, 1, 'displayName eq matches without regard to case');
  const byMember = await call('GET', gq(`filter=${encodeURIComponent(`id eq "${gid}" and members.value eq "${m1}"`)}&excludedAttributes=members`), { status: 200 });
  t.equal(byMember.json().totalResults, 1, "Entra ID's membership check");
  await call('GET', gq(`filter=${encodeURIComponent(`members[value eq "${m2}"]`)}`), { status: 200 });
  await call('GET', gq(`filter=${encodeURIComponent('members.display eq "x"')}`), { status: 400 });
  await call('HEAD', gq(`filter=${encodeURIComponent('members pr')}`), { status: 400 });
  await call('GET', gq(`filter=${encodeURIComponent('userName pr')}`), { status: 400 });
  await call('GET', gq('sortBy=displayName&sortOrder=descending&count=2&startIndex=1'), { status: 200 });
  await call('GET', gq('sortBy=userName'), { status: 400 });
  await call('GET', gq('count=ten'), { status: 400 });
  await call('GET', gq('count=&startIndex='), { status: 200 });
  const gFirst = await call('GET', gq('cursor=&count=1&excludedAttributes=members'), { status: 200 });
  await call('GET', gq(`cursor=${encodeURIComponent(String(gFirst.json().nextCursor))}&count=1&excludedAttributes=members`), { status: 200 });
  await call('GET', gq('cursor=not-a-cursor'), { status: 400 });

  // A member's groups, and filtering Users by membership.
  const member = await call('GET', `/scim/v2/Users/${m1}`, { status: 200 });
  t.match(member.json().groups, [{ value: gid, display: 'Tour Guides', type: 'direct' }], "the member's groups");
  await call('GET', `/scim/v2/Users?filter=${encodeURIComponent(`groups.value eq "${gid}"`)}`, { status: 200 });
  await call('GET', `/scim/v2/Users?filter=${encodeURIComponent('groups.display eq "x"')}`, { status: 400 });

  // Search: per type (cursor too), and across types.
  await call('POST', `${groups}/.search`, { payload: example('GroupSearchRequest'), status: 200 });
  const found = await call('POST', `${groups}/.search`, { payload: exampleWith('GroupSearchRequestMember', swap), status: 200 });
  t.same((found.json().Resources as Node[]).map((r) => r.id), [gid], 'the groups a user is a member of');
  const gCursor = await call('POST', `${groups}/.search`, { payload: { schemas: [SEARCH], cursor: '', count: 1 }, headers: { 'content-type': 'application/json' }, status: 200 });
  t.ok(gCursor.json().nextCursor, 'a per-type search pages by cursor');
  await call('POST', `${groups}/.search`, { payload: { schemas: [SEARCH], filter: 'userName pr' }, status: 400 });
  await call('POST', `${groups}/.search`, { payload: { filter: 'displayName pr' }, status: 400 });
  await call('POST', `${groups}/.search`, { payload: example('GroupSearchRequest'), scope: 'scim:write', status: 403 });
  await call('GET', `${groups}/.search`, { status: 405 });
  const both = await call('POST', '/scim/v2/.search', { payload: { schemas: [SEARCH], attributes: ['displayName'], sortBy: 'displayName' }, status: 200 });
  const kinds = (both.json().Resources as Node[]).map((r) => (r.schemas as string[])[0]);
  t.same(kinds, [...kinds].sort((a, b) => (a === GROUP ? 0 : 1) - (b === GROUP ? 0 : 1)), 'the root search lists Groups, then Users');
  t.ok(kinds.includes(GROUP) && kinds.includes(USER), 'the root search answers both types');
  const onlyUsers = await call('POST', '/scim/v2/.search', { payload: { schemas: [SEARCH], filter: 'userName pr' }, status: 200 });
  t.notOk((onlyUsers.json().Resources as Node[]).some((r) => (r.schemas as string[]).includes(GROUP)), 'Groups have no userName: left out');
  const onlyGroups = await call('POST', '/scim/v2/.search', { payload: { schemas: [SEARCH], filter: `members.value eq "${m1}"` }, status: 200 });
  t.same((onlyGroups.json().Resources as Node[]).map((r) => r.id), [gid], 'Users have no members: left out');
  await call('POST', '/scim/v2/.search', { payload: { schemas: [SEARCH], filter: 'nope pr' }, status: 400 });
  await call('POST', '/scim/v2/.search', { payload: { schemas: [SEARCH], cursor: '' }, status: 400 });

  // Modify: the Entra ID and Okta PATCH examples answer 204 with the new ETag; attributes asks for a body.
  const gPatch = async (payload: unknown, opts: { query?: string; headers?: Record<string, string>; status: number }) =>
    call('PATCH', `${groupUrl}${opts.query ?? ''}`, { payload, headers: opts.headers, status: opts.status });
  const removed = await gPatch(exampleWith('GroupPatchOpEntraRemove', swap), { status: 204 });
  t.not(removed.headers.etag, gEtag, 'a member change is a new version');
  await gPatch(exampleWith('GroupPatchOpEntraAdd', swap), { status: 204 });
  await gPatch(exampleWith('GroupPatchOpOktaRemove', swap), { status: 204 });
  await gPatch(exampleWith('GroupPatchOpReplaceMembers', swap), { status: 204 });
  await gPatch(exampleWith('GroupPatchOpOktaRename', { [EXAMPLE_IDS.group]: gid }), { status: 204 });
  const withBody = await gPatch(exampleWith('GroupPatchOpEntraRemove', swap), { query: '?attributes=members,displayName', status: 200 });
  t.match(withBody.json(), { displayName: 'Tour Guides (EMEA)', members: [{ value: m2 }] });
  await gPatch(exampleWith('GroupPatchOpEntraAdd', swap), { query: '?excludedAttributes=members', status: 200 });
  const ops = (Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });
  await gPatch(ops([{ op: 'replace', path: `members[value eq "${m1}"].value`, value: m2 }]), { status: 400 });
  await gPatch(ops([{ op: 'add', path: 'members', value: [{ value: 'no-such-member' }] }]), { status: 400 });
  await gPatch(ops([{ op: 'add', path: 'members', value: [{ value: gid }] }]), { status: 400 });
  await gPatch(ops([{ op: 'remove' }]), { status: 400 });
  await gPatch(ops([{ op: 'remove', path: 'displayName' }]), { status: 400 });
  await gPatch(ops([{ op: 'replace', path: 'displayName', value: 'entra sales' }]), { status: 409 });
  await gPatch(exampleWith('GroupPatchOpEntraAdd', swap), { headers: { 'if-match': 'W/"999"' }, status: 412 });
  await call('PATCH', `${groups}/no-such-group`, { payload: exampleWith('GroupPatchOpEntraAdd', swap), status: 404 });
  // A group in a group: the outer one cannot then become a member of the inner one.
  await call('PATCH', `${groups}/${oktaId}`, { payload: ops([{ op: 'add', path: 'members', value: [{ value: gid, type: 'Group' }] }]), status: 204 });
  await gPatch(ops([{ op: 'add', path: 'members', value: [{ value: oktaId }] }]), { status: 400 });

  // Replace.
  const gNow = await call('GET', groupUrl, { status: 200 });
  const gPutBody = { ...exampleWith('GroupInput', swap), displayName: 'Tour Guides 2' };
  const gPut = await call('PUT', groupUrl, { payload: gPutBody, headers: { 'if-match': String(gNow.headers.etag) }, status: 200 });
  t.equal((gPut.json().members as Node[]).length, 2, 'PUT with members sets them');
  await call('PUT', groupUrl, { payload: gPutBody, headers: { 'if-match': String(gNow.headers.etag) }, status: 412 });
  const renamed = await call('PUT', groupUrl, { payload: { schemas: [GROUP], displayName: 'Tour Guides 3' }, status: 200 });
  t.equal((renamed.json().members as Node[]).length, 2, 'PUT without members keeps them');
  await call('PUT', groupUrl, { payload: { displayName: 'Entra Sales' }, status: 409 });
  await call('PUT', groupUrl, { payload: { displayName: 'x', members: [{ value: oktaId }] }, status: 400 });
  await call('PUT', groupUrl, { payload: { displayName: 'x', nope: 1 }, status: 400 });
  await call('PUT', `${groups}/no-such-group`, { payload: gPutBody, status: 404 });

  // Methods, authentication, authorisation.
  await call('DELETE', groups, { status: 405 });
  await call('POST', groupUrl, { payload: {}, status: 405 });
  await anonymous('GET', groups, 401);
  await anonymous('PATCH', groupUrl, 401);
  await call('GET', groupUrl, { scope: 'scim:write', status: 403 });
  await call('PATCH', groupUrl, { payload: exampleWith('GroupPatchOpEntraAdd', swap), scope: 'scim:read', status: 403 });

  // Delete: the group leaves the group it was in.
  await call('DELETE', groupUrl, { headers: { 'if-match': gEtag }, status: 412 });
  await call('DELETE', groupUrl, { payload: '{', headers: { 'content-type': 'application/json' }, status: 400 });
  await call('DELETE', groupUrl, { status: 204 });
  await call('GET', groupUrl, { status: 404 });
  await call('DELETE', groupUrl, { status: 404 });
  t.notOk('members' in (await call('GET', `${groups}/${oktaId}`, { status: 200 })).json(), 'a deleted group leaves every group');

  t.match(got.json(), { schemas: [USER], id, userName: 'bjensen' });

  // Every Users and Groups operation was called, and answered something other than an error at least once.
  for (const o of operations()) {
    const tags = (o.op.tags as string[] | undefined) ?? [];
    if (!tags.includes('Users') && !tags.includes('Groups')) continue;
    const statuses = [...(exercised.get(`${o.method.toUpperCase()} ${o.path}`) ?? [])];
    t.ok(statuses.some((s) => s < 400), `${o.method.toUpperCase()} ${o.path} (${String(o.op.operationId)}) was exercised: ${statuses.join(', ')}`);
  }
});

t.test('with SCIM_DISCOVERY_PUBLIC=false, discovery answers 401 and 403 as documented', async (t) => {
  const h = await build(t, 'lmdb', { SCIM_DISCOVERY_PUBLIC: 'false' });
  for (const url of ['/scim/v2/ServiceProviderConfig', '/scim/v2/ResourceTypes/User', '/scim/v2/Schemas']) {
    const anon = await h.app.inject({ method: 'GET', url });
    t.equal(anon.statusCode, 401, url);
    conforms(t, 'GET', url, anon);
    const writer = await h.req({ method: 'GET', url, scope: 'scim:write' });
    t.equal(writer.statusCode, 403, url);
    conforms(t, 'GET', url, writer);
    t.match(writer.json(), { schemas: [ERROR], status: '403' });
  }
});
