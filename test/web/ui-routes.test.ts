/**
 * GET /ui and its assets (src/web/ui.ts, bundle.ts), without a browser: content types, cache headers, the
 * Content-Security-Policy, methods, the built-directory mode of the compiled server, the bundle's size, and the
 * page's own code: type-checked (web/tsconfig.json, which `npm run typecheck` does not cover) and free of HTML
 * injection sinks.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import Fastify from 'fastify';
import { build } from '../helper';
import { bundleWeb, WEB_SOURCE } from '../../src/web/bundle';
import { uiRoutes } from '../../src/web/ui';

const BUDGET_GZIPPED = 100 * 1024;

t.test('the page and its assets', async (t) => {
  const h = await build(t);
  const page = await h.app.inject({ method: 'GET', url: '/ui' });
  t.equal(page.statusCode, 200);
  t.equal(page.headers['content-type'], 'text/html; charset=utf-8');
  t.equal(page.headers['cache-control'], 'no-cache', 'the page is revalidated, so a new build shows at once');
  t.match(page.headers['content-security-policy'], /^default-src 'self'; /);
  t.match(page.headers['content-security-policy'], /frame-ancestors 'none'/);
  t.notMatch(page.headers['content-security-policy'], /unsafe-inline|unsafe-eval/);
  t.equal(page.headers['x-content-type-options'], 'nosniff');
  t.equal(page.headers['referrer-policy'], 'no-referrer');
  t.ok(page.headers.etag);
  // No inline script or style: everything the CSP allows comes from /ui/.
  t.notMatch(page.body, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
  t.notMatch(page.body, /<style|style="/, 'no inline style');
  const script = /src="(\/ui\/app-[A-Z0-9]+\.js)"/.exec(page.body)?.[1];
  const style = /href="(\/ui\/style-[A-Z0-9]+\.css)"/.exec(page.body)?.[1];
  t.ok(script && style, 'the page names the hashed bundle and stylesheet');

  const js = await h.app.inject({ method: 'GET', url: script! });
  t.equal(js.statusCode, 200);
  t.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
  t.equal(js.headers['cache-control'], 'public, max-age=31536000, immutable');
  t.equal(js.headers['x-content-type-options'], 'nosniff');
  const css = await h.app.inject({ method: 'GET', url: style! });
  t.equal(css.headers['content-type'], 'text/css; charset=utf-8');

  const again = await h.app.inject({ method: 'GET', url: script!, headers: { 'if-none-match': js.headers.etag as string } });
  t.equal(again.statusCode, 304, 'a cached asset is revalidated with its ETag');
  t.equal((await h.app.inject({ method: 'GET', url: '/ui/', headers: { 'if-none-match': page.headers.etag as string } })).statusCode, 304);
  t.equal((await h.app.inject({ method: 'HEAD', url: '/ui' })).statusCode, 200);

  const missing = await h.app.inject({ method: 'GET', url: '/ui/nope.js' });
  t.equal(missing.statusCode, 404);
  t.equal(missing.headers['x-content-type-options'], 'nosniff');
  t.match(missing.headers['content-security-policy'], /default-src 'self'/);
  const post = await h.app.inject({ method: 'POST', url: '/ui', payload: {} });
  t.equal(post.statusCode, 405);
  t.equal(post.headers.allow, 'GET, HEAD');
  t.equal((await h.app.inject({ method: 'DELETE', url: script! })).statusCode, 405);

  // The page is public; the directory is not: the SCIM API still wants a token.
  t.equal((await h.app.inject({ method: 'GET', url: '/scim/v2/Users' })).statusCode, 401);

  const gzipped = gzipSync(js.rawPayload).length + gzipSync(css.rawPayload).length + gzipSync(page.rawPayload).length;
  t.ok(gzipped < BUDGET_GZIPPED, `bundle ${(gzipped / 1024).toFixed(1)} KB gzipped, under ${BUDGET_GZIPPED / 1024} KB`);
  t.comment(
    `bundle: app.js ${(js.rawPayload.length / 1024).toFixed(1)} KB (${(gzipSync(js.rawPayload).length / 1024).toFixed(1)} KB gzipped), ` +
      `style.css ${(css.rawPayload.length / 1024).toFixed(1)} KB (${(gzipSync(css.rawPayload).length / 1024).toFixed(1)} KB gzipped), ` +
      `index.html ${page.rawPayload.length} B; total ${(gzipped / 1024).toFixed(1)} KB gzipped`,
  );
});

t.test('the compiled server serves the built directory, and says when there is none', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'scim-ui-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const a of await bundleWeb()) writeFileSync(join(dir, a.name), a.body);
  const app = Fastify();
  await app.register(uiRoutes, { dir });
  const page = await app.inject({ method: 'GET', url: '/ui' });
  t.equal(page.statusCode, 200);
  const js = readdirSync(dir).find((n) => n.endsWith('.js'))!;
  t.match(page.body, `/ui/${js}`);
  t.equal((await app.inject({ method: 'GET', url: `/ui/${js}` })).body, readFileSync(join(dir, js), 'utf8'));
  await app.close();

  const empty = Fastify();
  await empty.register(uiRoutes, { dir: join(dir, 'none') });
  const res = await empty.inject({ method: 'GET', url: '/ui' });
  t.equal(res.statusCode, 503);
  t.match(res.json(), { message: /npm run build/ });
  await empty.close();
});

t.test("the page's code type-checks (web/tsconfig.json: DOM types, no Node)", async (t) => {
  const tsc = join(__dirname, '..', '..', 'node_modules', 'typescript', 'bin', 'tsc');
  const { code, out } = await new Promise<{ code: number; out: string }>((resolve) =>
    execFile(process.execPath, [tsc, '--noEmit', '-p', join(WEB_SOURCE, 'tsconfig.json')], (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    ),
  );
  t.equal(code, 0, out || 'tsc -p web/tsconfig.json');
});

t.test('the page never turns text into HTML', async (t) => {
  const sinks = /\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write|new Function|\beval\(/;
  const files = (readdirSync(WEB_SOURCE, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts'));
  t.ok(files.length > 5);
  for (const f of files) t.notMatch(readFileSync(join(WEB_SOURCE, f), 'utf8'), sinks, `web/${f}`);
});
