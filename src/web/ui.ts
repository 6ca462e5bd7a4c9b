/**
 * GET /ui: the administrator's profile page, a static page that talks only to this server's SCIM API
 * with the bearer token its user pastes, so it can do nothing the API would not let that token do.
 *
 * Outside /scim/v2, as the health probes: no SCIM media types or error bodies here, and no token either (the page
 * and its assets are public; the data is not). Every answer carries a strict Content-Security-Policy: scripts,
 * styles and API calls from this origin only, no inline script or style, no framing. Images may also come from
 * https: and data: URLs, because a user's `photos` are URLs that point elsewhere by nature (RFC 7643 §4.1.2); the
 * page requests them without a referrer.
 *
 * Where the files come from (bundle.ts): the compiled server serves dist/web/, which `npm run build` writes; run
 * from TypeScript source (the tests), the plugin bundles web/ in memory on the first request to /ui, so what is
 * tested is always the source, and no test writes to dist/.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { methodNotAllowed } from '../http/methods';
import { type Asset, bundleWeb, CONTENT_TYPES, etagOf, WEB_BUILT } from './bundle';

const FROM_SOURCE = __filename.endsWith('.ts');

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': [
    "default-src 'self'",
    "img-src 'self' https: data:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; '),
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

/** An asset ready to send: its body and the headers that go with it. */
interface Served extends Asset {
  etag: string;
}

/** The built page in dist/web/, or undefined when `npm run build` has not made it. */
function readBuilt(dir: string): Asset[] | undefined {
  if (!existsSync(join(dir, 'index.html'))) return undefined;
  return readdirSync(dir)
    .filter((name) => CONTENT_TYPES[extname(name)] !== undefined)
    .map((name) => ({ name, contentType: CONTENT_TYPES[extname(name)]!, body: readFileSync(join(dir, name)), immutable: name !== 'index.html' }));
}

/** One bundle per process when running from source: every app a test builds serves the same page. */
let sourceBundle: Promise<Asset[]> | undefined;

export interface UiOptions {
  /** A directory of built assets to serve instead of dist/web/ (or of bundling web/ when running from source). */
  dir?: string;
}

export async function uiRoutes(app: FastifyInstance, opts: UiOptions = {}): Promise<void> {
  let assets: Promise<Map<string, Served>> | undefined;
  const index = (list: Asset[]) => new Map(list.map((a) => [a.name, { ...a, etag: etagOf(a.body) }]));
  if (opts.dir !== undefined || !FROM_SOURCE) {
    const built = readBuilt(opts.dir ?? WEB_BUILT);
    if (built) assets = Promise.resolve(index(built));
    else app.log.warn({ dir: opts.dir ?? WEB_BUILT }, 'the administrator page (/ui) is not built: run `npm run build`');
  }
  const load = (): Promise<Map<string, Served>> | undefined => {
    if (assets || !FROM_SOURCE || opts.dir !== undefined) return assets;
    sourceBundle ??= bundleWeb();
    // A failed bundle is not kept: the next request tries again (and reports the error again).
    sourceBundle.catch(() => (sourceBundle = undefined));
    return sourceBundle.then(index);
  };

  // Every answer under /ui, errors included, gets the security headers.
  app.addHook('onRequest', async (request, reply) => {
    if (request.url === '/ui' || request.url.startsWith('/ui/') || request.url.startsWith('/ui?')) reply.headers(SECURITY_HEADERS);
  });

  const send = async (request: FastifyRequest, reply: FastifyReply, name: string) => {
    const pending = load();
    if (!pending) {
      return reply
        .code(503)
        .header('cache-control', 'no-store')
        .send({ statusCode: 503, error: 'Service Unavailable', message: 'the administrator page is not built: run `npm run build`' });
    }
    const asset = (await pending).get(name);
    if (!asset) return reply.code(404).send({ statusCode: 404, error: 'Not Found', message: `no file /ui/${name}` });
    // Hashed assets never change under their name; the page is revalidated every time, so a new build shows at once.
    reply.header('cache-control', asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    reply.header('etag', asset.etag);
    const inm = request.headers['if-none-match'];
    if (typeof inm === 'string' && inm.split(',').some((t) => t.trim().replace(/^W\//, '') === asset.etag || t.trim() === '*')) {
      return reply.code(304).send();
    }
    return reply.code(200).type(asset.contentType).send(asset.body);
  };

  app.get('/ui', (request, reply) => send(request, reply, 'index.html'));
  app.get<{ Params: { file: string } }>('/ui/:file', (request, reply) => send(request, reply, request.params.file === '' ? 'index.html' : request.params.file));
  methodNotAllowed(app, '/ui', ['GET'], { plain: true });
  methodNotAllowed(app, '/ui/:file', ['GET'], { plain: true });
}
