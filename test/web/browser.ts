/**
 * What the browser tests of the administrator page share (not a test itself: only *.test.ts files are): Debian's
 * Chromium, headless, driven by playwright-core (no browser is downloaded), and the accessibility audit every view
 * is held to.
 */
import 'tap';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { chromium } from 'playwright-core';

type Tap = tap.Test;

export const CHROMIUM = '/usr/bin/chromium';
/** SCIM_UI_SCREENSHOTS=1: the views are saved to docs/screenshots/, which docs/ui.md shows. */
const SCREENSHOTS = process.env.SCIM_UI_SCREENSHOTS === '1' ? join(__dirname, '..', '..', 'docs', 'screenshots') : undefined;

/** Starts the app on a free loopback port; its base URL (`http://127.0.0.1:<port>`). */
export async function listenOnLoopback(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

/** Signs in as a person would: the token pasted into the sign-in form; resolves once the page says who it is. */
export async function signIn(page: Page, base: string, token: string): Promise<void> {
  await page.goto(`${base}/ui`);
  await page.getByLabel('Bearer token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#whoami-text').waitFor();
}

/** What every view must meet (AUDIT below), as one assertion naming the view. */
export async function audit(t: Tap, page: Page, view: string): Promise<void> {
  t.same((await page.evaluate(AUDIT)) as string[], [], `${view}: labels, names, alt text and contrast`);
}

/** Saves the page as docs/screenshots/<name>.png when SCIM_UI_SCREENSHOTS=1. */
export async function shoot(page: Page, name: string, fullPage = false): Promise<void> {
  if (!SCREENSHOTS) return;
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage, animations: 'disabled', caret: 'hide' });
}

/** A locator's text as a person reads it: white space collapsed. */
export async function textOf(l: Locator): Promise<string> {
  return ((await l.textContent()) ?? '').replace(/\s+/g, ' ').trim();
}

/**
 * Whether the browser is there. Without it the file's tests skip, and fail when CI=true
 * (scripts/install-chromium.sh installs it).
 */
export function chromiumAvailable(t: Tap): boolean {
  if (existsSync(CHROMIUM)) return true;
  const reason = `${CHROMIUM} is missing (scripts/install-chromium.sh installs Debian's chromium)`;
  if (process.env.CI === 'true') t.fail(`the browser tests of the administrator page cannot run in CI: ${reason}`);
  else t.plan(0, `browser tests of the administrator page skipped: ${reason}`);
  return false;
}

/** A headless Chromium with a throw-away profile (removed at `t`'s teardown), in en-US and UTC. The caller closes it. */
export async function launchChromium(t: Tap): Promise<BrowserContext> {
  const profileDir = mkdtempSync(join(tmpdir(), 'scim-ui-chromium-'));
  t.teardown(() => rmSync(profileDir, { recursive: true, force: true }));
  return chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 900 },
    locale: 'en-US',
    timezoneId: 'UTC',
  });
}

/** Checks, in the page, what every view must meet: labelled fields, named controls, images with alt, contrast. */
/** A new tab (its own session storage) whose console errors, page errors and CSP violations go to `problems`. */
export async function watchedPage(context: BrowserContext, problems: string[]): Promise<Page> {
  const page = await context.newPage();
  page.on('console', (m) => {
    // A refused request (an expected 4xx) is logged by Chromium as a console error; those are the test's own.
    if (m.type() === 'error' && !/status of (40[0-9]|41[0-9])/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  await page.addInitScript({
    content: "document.addEventListener('securitypolicyviolation', (e) => console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));",
  });
  return page;
}

export const AUDIT = `(() => {
  const problems = [];
  const describe = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + ' "' + (el.textContent || '').trim().slice(0, 40) + '"';
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (el.type === 'hidden') continue;
    const named = (el.labels && el.labels.length > 0) || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
    if (!named) problems.push('field without a label: ' + describe(el));
  }
  for (const el of document.querySelectorAll('button, a[href]')) {
    if (!(el.getAttribute('aria-label') || el.textContent || '').trim()) problems.push('control without a name: ' + describe(el));
  }
  for (const el of document.querySelectorAll('img')) if (!el.hasAttribute('alt')) problems.push('image without alt: ' + describe(el));
  const ids = new Set();
  for (const el of document.querySelectorAll('[id]')) {
    if (ids.has(el.id)) problems.push('duplicate id: ' + el.id);
    ids.add(el.id);
  }
  const parse = (c) => {
    const m = /rgba?\\(([^)]+)\\)/.exec(c);
    if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; }
    }
    let base = { r: 255, g: 255, b: 255 };
    for (let i = layers.length - 1; i >= 0; i--) {
      const c = layers[i];
      base = { r: c.r * c.a + base.r * (1 - c.a), g: c.g * c.a + base.g * (1 - c.a), b: c.b * c.a + base.b * (1 - c.a) };
    }
    return base;
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const seen = new Set();
  while (walker.nextNode()) {
    const el = walker.currentNode.parentElement;
    if (!el || seen.has(el) || !walker.currentNode.textContent.trim()) continue;
    seen.add(el);
    if (el.closest('.visually-hidden, [hidden], :disabled, option')) continue;
    const rect = el.getBoundingClientRect();
    if (rect.width === 0 || rect.height === 0) continue;
    const style = getComputedStyle(el);
    const fg = parse(style.color);
    if (!fg) continue;
    const bg = background(el);
    const l1 = lum(fg), l2 = lum(bg);
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (Number(style.fontWeight) >= 700 && size >= 18.66);
    if (ratio < (large ? 3 : 4.5)) problems.push('contrast ' + ratio.toFixed(2) + ':1 for ' + describe(el));
  }
  return problems;
})()`;
