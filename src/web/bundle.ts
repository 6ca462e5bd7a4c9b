/**
 * The administrator's page (web/) as the files a browser loads: one script and one stylesheet bundled by
 * esbuild, named after their content hash so that they can be cached for good, and the HTML that names them.
 *
 * Two callers, one recipe:
 * - `npm run build` runs this file (`node dist/src/web/bundle.js`), which writes dist/web/; the compiled server
 *   serves those files (ui.ts) and needs no esbuild at run time.
 * - ui.ts running from TypeScript source (tap's loader, a developer's ts-node) bundles web/ in memory on the first
 *   request instead, so a test always exercises the page as the source says, never a stale dist/web.
 * esbuild is a devDependency: it is loaded only when a bundle is made, never by a server that serves a built page.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';

export interface Asset {
  /** The file name under /ui/ ('' for the page itself). */
  name: string;
  contentType: string;
  body: Buffer;
  /** Named after its content hash: cacheable forever (the page is revalidated and names the next one). */
  immutable: boolean;
}

const FROM_SOURCE = __filename.endsWith('.ts');
/** The repository root: src/web/ from source, dist/src/web/ when compiled. */
const ROOT = resolve(__dirname, FROM_SOURCE ? '../..' : '../../..');
export const WEB_SOURCE = join(ROOT, 'web');
export const WEB_BUILT = join(ROOT, 'dist', 'web');

export const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/** Bundles web/ into the page's assets, in memory. */
export async function bundleWeb(source: string = WEB_SOURCE): Promise<Asset[]> {
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: { app: join(source, 'app.ts'), style: join(source, 'style.css') },
    bundle: true,
    minify: true,
    format: 'esm',
    // Evergreen browsers of the last two years: no down-levelling of what plain TypeScript emits.
    target: ['chrome110', 'firefox115', 'safari16'],
    entryNames: '[name]-[hash]',
    outdir: '/ui',
    write: false,
    legalComments: 'none',
    charset: 'utf8',
    tsconfig: join(source, 'tsconfig.json'),
    logLevel: 'silent',
  });
  const assets: Asset[] = result.outputFiles.map((f) => ({
    name: basename(f.path),
    contentType: CONTENT_TYPES[f.path.slice(f.path.lastIndexOf('.'))] ?? 'application/octet-stream',
    body: Buffer.from(f.contents),
    immutable: true,
  }));
  const named = (prefix: string, ext: string) => {
    const a = assets.find((x) => x.name.startsWith(`${prefix}-`) && x.name.endsWith(ext));
    if (!a) throw new Error(`web bundle: esbuild produced no ${prefix}${ext}`);
    return `/ui/${a.name}`;
  };
  // web/index.html names the unhashed files; the page served names this build's.
  let html = await readFile(join(source, 'index.html'), 'utf8');
  for (const [from, to] of [
    ['/ui/app.js', named('app', '.js')],
    ['/ui/style.css', named('style', '.css')],
  ] as const) {
    if (!html.includes(`"${from}"`)) throw new Error(`web/index.html must reference "${from}"`);
    html = html.replace(`"${from}"`, `"${to}"`);
  }
  assets.push({ name: 'index.html', contentType: CONTENT_TYPES['.html']!, body: Buffer.from(html), immutable: false });
  return assets;
}

/** `npm run build`: writes the bundle to dist/web/, replacing what was there. */
async function main(): Promise<void> {
  const assets = await bundleWeb();
  await rm(WEB_BUILT, { recursive: true, force: true });
  await mkdir(WEB_BUILT, { recursive: true });
  for (const a of assets) await writeFile(join(WEB_BUILT, a.name), a.body);
  const { gzipSync } = await import('node:zlib');
  const sizes = assets.map((a) => `${a.name} ${(a.body.length / 1024).toFixed(1)} KB (${(gzipSync(a.body).length / 1024).toFixed(1)} KB gzipped)`);
  process.stdout.write(`web: ${WEB_BUILT}: ${sizes.join(', ')}\n`);
}

/** A strong ETag: the content's hash. */
export function etagOf(body: Buffer): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`web build: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
