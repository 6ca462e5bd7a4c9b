/**
 * Importing people from a file (web/views/import.ts, web/import/) in a real browser: Debian's Chromium, headless,
 * driven by playwright-core, against the app listening on loopback with the embedded store.
 *
 * The file is shaped like an HR export: a BOM, `;` between columns, CRLF, quoted fields holding `;`, `,` and
 * quotes, accented names; 10,000 people whose managers mostly come later in the file (in the same chunk: bulkId
 * references; in a later one: the second pass), some earlier, the top ones in the directory already; and 20
 * broken rows the server refuses (no user name, a user name taken by an earlier row, an `active` that is not yes or
 * no). Then: the directory through the API (people, their managers), the failed-rows file (playwright's download),
 * the same file again (all unchanged), changed titles (updated), an import cancelled half way, and an HR feed's
 * token that may update job info but not create people. Each step: the accessibility audit, no console errors or
 * CSP violations. The import time and the longest task while importing are reported.
 *
 * Without /usr/bin/chromium these tests skip (and fail when CI=true). SCIM_UI_SCREENSHOTS=1 saves
 * docs/screenshots/import-{mapping,progress,done}.png.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page, Request } from 'playwright-core';
import { build, ENTERPRISE, type Harness, user } from '../helper';
import { mintToken } from '../../src/cli/mint';
import { parseCsv, writeCsv } from '../../web/csv';
import { AUDIT, audit, chromiumAvailable, launchChromium, listenOnLoopback, shoot, signIn as signInAs, watchedPage } from './browser';

const PEOPLE = 10_000;
const DIRECTORS = 50;
const HEADER = ['Employee ID', 'First Name', 'Last Name', 'Work Email', 'Job Title', 'Department', 'Manager Employee ID', 'Status'];

type Tap = tap.Test;
/** A <select> as the page's evaluate sees it (no DOM types in the tests' compilation). */
type Picked = { selectedOptions: ArrayLike<{ textContent: string | null }> };

const id = (k: number) => `E${String(k).padStart(5, '0')}`;

/** The broken rows, by number: 10 without an email (so no user name), 5 reusing a director's, 5 with a bad status. */
const NO_EMAIL = new Set(Array.from({ length: 10 }, (_, i) => 1_003 + i * 811));
const TAKEN = new Set(Array.from({ length: 5 }, (_, i) => 2_004 + i * 1_201));
const BAD_STATUS = new Set(Array.from({ length: 5 }, (_, i) => 1_506 + i * 1_703));
const BROKEN = new Set([...NO_EMAIL, ...TAKEN, ...BAD_STATUS]);

/**
 * Row k's manager: the first 50 (directors) report to the CEO, who is in the directory already; of the rest,
 * every 5th to a director (earlier in the file), every 3rd to the row 7 on (mostly in the same chunk: a bulkId),
 * the others to the row 500 on (the next chunk: the second pass). Forward references only ever go up, so there is
 * no cycle; a broken row manages no one.
 */
function managerOf(k: number): string {
  const director = (n: number) => id((n % DIRECTORS) + 1);
  if (k <= DIRECTORS) return 'E00000';
  if (k % 5 === 0) return director(k / 5);
  const target = k % 3 === 0 ? k + 7 : k + 500;
  return target <= PEOPLE && !BROKEN.has(target) ? id(target) : director(k);
}

function email(k: number): string {
  if (NO_EMAIL.has(k)) return '';
  // A director's, who is imported first (managers go before their reports), so the taken row is the one refused.
  if (TAKEN.has(k)) return `person${(k % DIRECTORS) + 1}@example.com`;
  return `person${k}@example.com`;
}

const FIRST = ['Ada', 'José', 'Zoë', 'Grace', 'Łukasz', 'Ming', 'O"Neil', 'Anne-Marie'];
const LAST = ['Lovelace', 'Müller', 'Hopper, Jr.', 'Nakamura', 'Smith; Jones', 'Ødegård'];

/** The export: BOM, `;`, CRLF, quoted fields. `title` makes the job title of row k. */
function hrExport(from: number, to: number, title: (k: number) => string = (k) => (k % 4 === 0 ? 'Engineer, Platform' : 'Analyst')): string {
  const rows: string[][] = [HEADER];
  for (let k = from; k <= to; k++) rows.push(exportRow(k, title(k)));
  return writeCsv(rows, { delimiter: ';', bom: true });
}

function exportRow(k: number, title: string): string[] {
  return [
    id(k),
    FIRST[k % FIRST.length]!,
    LAST[k % LAST.length]!,
    email(k),
    title,
    k % 7 === 0 ? 'Research; Development' : 'Operations',
    managerOf(k),
    BAD_STATUS.has(k) ? 'maybe' : k % 10 === 0 ? 'Inactive' : 'Active',
  ];
}

function run(): void {
  t.setTimeout(900_000);
  let h: Harness;
  let base: string;
  let context: BrowserContext;
  let ceo: string;
  const tokens = { admin: '', hr: '' };
  const problems: string[] = [];

  t.before(async () => {
    h = await build(t, 'lmdb', { SCIM_AUTHORITIES: '{"hr-feed":["jobInfo"]}' });
    base = await listenOnLoopback(h.app);
    const res = await h.req({
      method: 'POST',
      url: '/scim/v2/Users',
      payload: user('ceo@example.com', { displayName: 'The CEO', [ENTERPRISE]: { employeeNumber: 'E00000' } }),
      roles: ['globalAdmin'],
    });
    if (res.statusCode !== 201) throw new Error(`seed: ${res.statusCode} ${res.body}`);
    ceo = h.json(res).id as string;
    const mint = (scope: string, roles?: string[], clientId?: string) => mintToken(h.config.jwt, { scope, ttlSeconds: 1800, roles, clientId });
    tokens.admin = await mint('scim:read scim:write', ['globalAdmin'], 'admin-console');
    tokens.hr = await mint('scim:read scim:write:jobInfo', undefined, 'hr-feed');
    await fetch(`${base}/ui`);
    context = await launchChromium(t);
    t.teardown(() => context.close());
  });

  const newPage = async (): Promise<Page> => {
    // Each test's own page: its problems are its own.
    problems.length = 0;
    const page = await watchedPage(context, problems);
    // Long tasks (over 50 ms) from here on, for the report.
    await page.addInitScript({
      content:
        "window.__longtasks = []; try { new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__longtasks.push({ start: Math.round(e.startTime), duration: e.duration }); }).observe({ type: 'longtask', buffered: true }); } catch (e) {}",
    });
    return page;
  };
  const signIn = (page: Page, token: string): Promise<void> => signInAs(page, base, token);
  /** Polls from here (waitForFunction evaluates a string in the page, which its CSP rightly forbids). */
  const until = async (condition: () => Promise<boolean>, ms = 60_000) => {
    const end = Date.now() + ms;
    while (!(await condition())) {
      if (Date.now() > end) throw new Error('timed out waiting');
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  const text = async (page: Page, selector: string) => ((await page.locator(selector).textContent()) ?? '').replace(/\s+/g, ' ').trim();
  const counts = async (page: Page) => ({
    created: Number((await text(page, '#import-created')).replace(/,/g, '')),
    updated: Number((await text(page, '#import-updated')).replace(/,/g, '')),
    unchanged: Number((await text(page, '#import-unchanged')).replace(/,/g, '')),
    failed: Number((await text(page, '#import-failed')).replace(/,/g, '')),
  });
  /** Opens the import page and chooses a file; waits for the preview. */
  const choose = async (page: Page, name: string, csv: string) => {
    await page.goto(`${base}/ui#/import`);
    await page.locator('#import-file').waitFor();
    await page.setInputFiles('#import-file', { name, mimeType: 'text/csv', buffer: Buffer.from(csv, 'utf8') });
    await page.locator('#import-preview-summary').waitFor();
  };
  /** Imports the chosen file to its end; the time it took and the longest task meanwhile. */
  const importAll = async (page: Page) => {
    await page.evaluate('window.__longtasks = []');
    // Where the time goes: the lookups (GET /Users) and the Bulk requests, by their own timings.
    const spent = { lookups: 0, lookupCount: 0, bulk: 0, bulkCount: 0 };
    const finished = (r: Request) => {
      const timing = r.timing();
      const ms = timing.responseEnd - timing.requestStart;
      if (r.url().includes('/scim/v2/Users?')) {
        spent.lookups += ms;
        spent.lookupCount++;
      }
      if (r.url().endsWith('/scim/v2/Bulk')) {
        spent.bulk += ms;
        spent.bulkCount++;
        const ops = (JSON.parse(r.postData() ?? '{}') as { Operations?: { method: string }[] }).Operations ?? [];
        if (process.env.IMPORT_TRACE) t.comment(`bulk ${ops.length} ops (${ops.filter((o) => o.method === 'POST').length} POST): ${ms.toFixed(0)} ms`);
      }
    };
    page.on('requestfinished', finished);
    const started = Date.now();
    await page.locator('#import-start').click();
    await page.locator('#import-result-h').waitFor({ timeout: 600_000 });
    const ms = Date.now() - started;
    page.off('requestfinished', finished);
    const tasks = (await page.evaluate('window.__longtasks')) as { duration: number }[];
    const split = `${spent.lookupCount} lookups ${spent.lookups.toFixed(0)} ms, ${spent.bulkCount} Bulk requests ${spent.bulk.toFixed(0)} ms`;
    return { ms, longest: Math.max(0, ...tasks.map((x) => x.duration)), longTasks: tasks.length, split };
  };
  const users = async (filter: string, attributes?: string) => {
    const res = await h.req({ method: 'GET', url: `/scim/v2/Users?filter=${encodeURIComponent(filter)}&count=1000${attributes ? `&attributes=${attributes}` : ''}`, roles: ['globalAdmin'] });
    return h.json(res) as { totalResults: number; Resources?: Record<string, unknown>[] };
  };
  const byEmployee = async (k: number) => (await users(`${ENTERPRISE}:employeeNumber eq "${id(k)}"`)).Resources?.[0];
  const managerIdOf = (u: Record<string, unknown> | undefined) => ((u?.[ENTERPRISE] as { manager?: { value?: string } } | undefined)?.manager?.value);

  const csv = hrExport(1, PEOPLE);

  t.test('10,000 people from an HR export: mapped, previewed, imported with managers; the failed rows downloaded', async (t) => {
    const page = await newPage();
    await signIn(page, tokens.admin);
    await page.getByRole('link', { name: 'Import people' }).click();
    await page.locator('#import-file').waitFor();
    await audit(t, page, 'the import page');
    await page.evaluate("window.__longtasks = []; document.getElementById('import-file').addEventListener('change', () => (window.__changed = performance.now()), { capture: true })");
    const reading = Date.now();
    await page.setInputFiles('#import-file', { name: 'hr-export.csv', mimeType: 'text/csv', buffer: Buffer.from(csv, 'utf8') });
    await page.locator('#import-preview-summary').waitFor();
    // The task that hands the file over (playwright builds the 0.9 MB File inside the page, then fires `change`)
    // is the test's, not the page's: the page's own work starts with the change event.
    const readTasks = (await page.evaluate('window.__longtasks')) as { start: number; duration: number }[];
    const changed = (await page.evaluate('window.__changed')) as number;
    const handover = readTasks.filter((x) => x.start + x.duration >= changed - 1 && x.start <= changed);
    const pageOwn = readTasks.filter((x) => x.start > changed);
    const readLongest = Math.max(0, ...pageOwn.map((x) => x.duration));
    t.comment(
      `read and previewed 10,000 rows (${(csv.length / 1e6).toFixed(1)} MB) in ${Date.now() - reading} ms; longest task of the page's meanwhile: ${readLongest.toFixed(0)} ms` +
        (handover.length > 0 ? ` (playwright's file hand-over: ${handover.map((x) => x.duration.toFixed(0)).join(', ')} ms)` : ''),
    );
    t.ok(readLongest < 200, 'reading the file: no task of 200 ms or more');
    t.match(await text(page, '#import-file-status'), /10,000 rows, 8 columns, separated by “;”/);

    // The suggested mapping, from the column names.
    const mapped = async (column: number) => page.locator(`#import-map-${column}`).evaluate((s) => (s as unknown as Picked).selectedOptions[0]?.textContent ?? '');
    t.same(
      await Promise.all(HEADER.map((_, i) => mapped(i))),
      ['Employee number', 'Name: given name', 'Name: family name', 'Email (work)', 'Title', 'Department', 'Manager', 'Active (may sign in)'],
      'each column suggested from its name',
    );
    t.equal(await page.locator('#import-username').evaluate((s) => (s as unknown as Picked).selectedOptions[0]?.textContent), 'Work Email', 'the user name from the work email');
    t.equal(await page.locator('#import-match').inputValue(), 'employeeNumber', 'people matched by employee number');
    t.equal(await page.locator('#import-manager-by').inputValue(), 'employeeNumber', 'managers named by employee number');
    t.equal(await page.getByLabel('Match existing people by').count(), 1, 'the selects are labelled');

    // The preview: the first rows would be created; the first director's manager (the CEO) is in the directory.
    const preview = page.locator('table.import-preview tbody tr');
    t.equal(await preview.count(), 10);
    t.match(await preview.nth(0).textContent(), /^2person1@example\.com.*Create/, 'row 2 (the first after the header) would be created');
    t.match(await text(page, '#import-preview-summary'), /No problems found/);
    // The rest of the file, checked here against the schema: the bad statuses, and the rows without a user name.
    const check = await text(page, '#import-file-check');
    t.match(check, /5 rows have values the schema refuses \(rows 1,507, 3,210, 4,913, 6,616, 8,319\)/, check);
    t.match(check, /10 rows have no user name \(rows 1,004, 1,815, 2,626, 3,437, 4,248, …\): they can only update people already in the directory/);
    await audit(t, page, 'mapping and preview');
    await shoot(page, 'import-mapping', true);

    // A mapping that cannot work is said next to it, and Import waits.
    await page.locator('#import-match').selectOption('externalId');
    await page.locator('#import-map-errors .alert').waitFor();
    t.match(await text(page, '#import-map-errors'), /no column is imported as External id/);
    t.ok(await page.locator('#import-start').isDisabled(), 'Import is disabled while the mapping is wrong');
    await page.locator('#import-match').selectOption('employeeNumber');
    await page.locator('#import-map-errors .alert').waitFor({ state: 'detached' });

    // A preview row with a problem found here: a manager in neither the file nor the directory.
    const { ms, longest, longTasks, split } = await importAll(page);
    t.comment(`imported 10,000 rows (browser to server on loopback) in ${ms} ms (${split}); longest task while importing: ${longest.toFixed(0)} ms (${longTasks} tasks over 50 ms)`);
    // Every run here saw no task over 50 ms while importing (the work between two awaits is a chunk's planning and
    // its answer's reading, a few ms), so the bound holds with room to spare even on two shared cores.
    t.ok(longest < 200, 'importing: no task of 200 ms or more');
    t.same(await counts(page), { created: PEOPLE - BROKEN.size, updated: 0, unchanged: 0, failed: BROKEN.size }, 'created and failed counts');
    // The observer does see long tasks: a task of 150 ms made on purpose is reported.
    await page.evaluate("window.__longtasks = []; setTimeout(() => { const end = performance.now() + 150; while (performance.now() < end); }, 0)");
    await page.waitForTimeout(400);
    const probe = (await page.evaluate('window.__longtasks')) as { duration: number }[];
    t.ok(probe.some((x) => x.duration >= 140), `the long-task observer works (${probe.map((x) => x.duration.toFixed(0)).join(', ')} ms)`);
    t.match(await text(page, '#import-summary'), /9,980 created, 0 updated, 0 unchanged, 20 failed/);
    t.equal(await page.locator('#import-progress').evaluate((p) => (p as unknown as { value: number }).value), PEOPLE, 'the bar is full');
    await audit(t, page, 'the import done');
    await shoot(page, 'import-done', true);

    // The directory through the API: everyone but the broken rows, with their managers.
    t.equal((await users(`${ENTERPRISE}:employeeNumber sw "E"`, 'id')).totalResults, PEOPLE - BROKEN.size + 1, 'everyone but the broken rows, and the CEO');
    const ids = new Map<number, string | undefined>();
    const get = async (k: number) => {
      if (!ids.has(k)) ids.set(k, (await byEmployee(k))?.id as string | undefined);
      return ids.get(k);
    };
    for (const k of [1, 50, 51, 53, 55, 101, 102, 999, 4_001, 9_499, 9_502, 9_999, 10_000]) {
      const u = await byEmployee(k);
      const want = managerOf(k);
      const wantId = want === 'E00000' ? ceo : await get(Number(want.slice(1)));
      t.ok(wantId, `row ${k}'s manager exists`);
      t.equal(managerIdOf(u), wantId, `${id(k)} reports to ${want}`);
    }
    const sample = await byEmployee(4);
    t.equal(sample?.userName, 'person4@example.com');
    t.equal(sample?.title, 'Engineer, Platform', 'a quoted comma');
    t.same((sample?.name as Record<string, unknown>)?.givenName, 'Ł' + 'ukasz');
    t.equal((await byEmployee(14))?.[ENTERPRISE] && ((await byEmployee(14))?.[ENTERPRISE] as Record<string, unknown>).department, 'Research; Development', 'a quoted semicolon');
    t.equal((await byEmployee(10))?.active, false, '"Inactive" is active false');
    t.equal((await byEmployee(6))?.name && ((await byEmployee(6))?.name as Record<string, unknown>).givenName, 'O"Neil', 'a doubled quote');

    // The failed rows' file: the original columns, the row and the server's error.
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#import-failed-download').click()]);
    t.equal(download.suggestedFilename(), 'hr-export-failed.csv');
    const failed = parseCsv(readFileSync((await download.path())!, 'utf8'));
    t.equal(failed.delimiter, ';', 'written with the file’s own delimiter');
    t.same(failed.rows[0], ['row', ...HEADER, 'error']);
    t.equal(failed.rows.length, 1 + BROKEN.size, 'one line per failed row');
    const byRow = new Map(failed.rows.slice(1).map((r) => [Number(r[0]), r]));
    for (const k of BROKEN) {
      const r = byRow.get(k + 1);
      t.ok(r, `row ${k + 1} (${id(k)}) is in the file`);
      if (!r) continue;
      t.equal(r[1], id(k), 'with its own cells');
      const error = r[HEADER.length + 1]!;
      if (NO_EMAIL.has(k)) t.match(error, /userName/, `${id(k)}: no user name: ${error}`);
      if (TAKEN.has(k)) t.match(error, /userName|unique|already/i, `${id(k)}: user name taken: ${error}`);
      if (BAD_STATUS.has(k)) t.match(error, /active.*boolean/, `${id(k)}: a bad status: ${error}`);
      t.notMatch(error, /^operation \d+/, 'the bulk operation number is left out');
    }
    t.same(problems, [], 'no console errors or CSP violations');
    await page.close();
  });

  t.test('the same file again: everyone unchanged, nothing sent for them', async (t) => {
    const page = await newPage();
    await signIn(page, tokens.admin);
    await choose(page, 'hr-export.csv', csv);
    t.match(await page.locator('table.import-preview tbody tr').nth(0).textContent(), /Unchanged/, 'the preview says so');
    let bulks = 0;
    page.on('request', (r) => r.url().endsWith('/scim/v2/Bulk') && bulks++);
    const { ms, split } = await importAll(page);
    t.comment(`re-imported 10,000 unchanged rows in ${ms} ms (${split})`);
    const c = await counts(page);
    t.same(c, { created: 0, updated: 0, unchanged: PEOPLE - BROKEN.size, failed: BROKEN.size });
    t.ok(bulks <= Math.ceil(PEOPLE / 500), `only the broken rows were sent (${bulks} Bulk requests)`);
    await audit(t, page, 'a re-import');
    t.same(problems, []);
    await page.close();
  });

  t.test('changed titles: those people updated, only the title sent', async (t) => {
    const page = await newPage();
    await signIn(page, tokens.admin);
    const changed = hrExport(1, 200, (k) => (k <= 100 ? 'Senior Analyst' : k % 4 === 0 ? 'Engineer, Platform' : 'Analyst'));
    const bodies: string[] = [];
    page.on('request', (r) => r.url().endsWith('/scim/v2/Bulk') && bodies.push(r.postData() ?? ''));
    await choose(page, 'titles.csv', changed);
    t.match(await page.locator('table.import-preview tbody tr').nth(0).textContent(), /Update: Title/);
    await importAll(page);
    t.same(await counts(page), { created: 0, updated: 100, unchanged: 100, failed: 0 });
    const ops = bodies.flatMap((b) => (JSON.parse(b) as { Operations: { method: string; data: { Operations: { path: string }[] } }[] }).Operations);
    t.equal(ops.length, 100);
    t.ok(ops.every((o) => o.method === 'PATCH' && o.data.Operations.length === 1 && o.data.Operations[0]!.path === 'title'), 'each a PATCH of the title alone');
    t.equal((await byEmployee(7))?.title, 'Senior Analyst');
    t.same(problems, []);
    await page.close();
  });

  t.test('the preview: what each row would do, and the problems found before anything is sent', async (t) => {
    const page = await newPage();
    await signIn(page, tokens.admin);
    const row = (k: string, mail: string, title: string, manager: string, status = 'Active') => [k, 'Pre', 'View', mail, title, 'Operations', manager, status];
    const file = writeCsv(
      [
        HEADER,
        exportRow(7, 'Preview Title'),
        row('E20001', '', 'Analyst', 'E00001'),
        row('E20002', 'p20002@example.com', 'Analyst', 'E00001', 'maybe'),
        row('E20003', 'p20003@example.com', 'Analyst', 'E77777'),
        row('E20004', 'p20004@example.com', 'Analyst', 'E20005'),
        row('E20005', 'p20005@example.com', 'Lead', 'E00001'),
      ],
      { delimiter: ';', bom: true },
    );
    await choose(page, 'preview.csv', file);
    const lines = (await page.locator('table.import-preview tbody tr').allTextContents()).map((l) => l.replace(/\s+/g, ' '));
    t.match(lines[0], /^2person7@example\.com.*Update: Title.*None found/, 'an existing person: only the title differs');
    t.match(lines[1], /^3.*Create.*User name is required for a new person/, 'no user name');
    t.match(lines[2], /^4.*Active \(may sign in\): “maybe” is not yes or no/, 'a status that is not yes or no');
    t.match(lines[3], /^5.*manager “E77777” \(by employee number\) is in neither the file nor the directory/, 'a manager nowhere');
    t.match(lines[4], /^6.*Create; manager from row 7 of the file.*None found/, 'a manager later in the file');
    t.match(await text(page, '#import-preview-summary'), /3 of these rows have problems/);
    t.match(await text(page, '#import-preview-h + .desc'), /server checks every row again/);
    await audit(t, page, 'a preview with problems');
    await importAll(page);
    t.same(await counts(page), { created: 2, updated: 1, unchanged: 0, failed: 3 });
    const failedText = await text(page, 'table.import-failed tbody');
    t.match(failedText, /3required attribute missing: userName/, "the server's error for no user name");
    t.match(failedText, /4'active' must be a boolean/, "the server's error for the status");
    t.match(failedText, /5the manager “E77777” \(by employee number\) is in neither the file nor the directory/, 'the manager nowhere: not sent');
    const later = await byEmployee(20004);
    t.equal(managerIdOf(later), (await byEmployee(20005))?.id, 'the manager later in the file was created first and set');
    t.equal((await byEmployee(7))?.title, 'Preview Title');
    t.same(problems, []);
    await page.close();
  });

  t.test('an import paused and cancelled half way shows what was done', async (t) => {
    const page = await newPage();
    await signIn(page, tokens.admin);
    const rows = [['Employee ID', 'First Name', 'Last Name', 'Email']];
    for (let k = 1; k <= 3000; k++) rows.push([`C${k}`, 'Cancel', `Person ${k}`, `cancel${k}@example.com`]);
    await choose(page, 'cancel.csv', writeCsv(rows));
    await page.locator('#import-start').click();
    // Paused once the first chunk is in; the bar stands still meanwhile.
    await until(async () => (await counts(page)).created > 0);
    await page.locator('#import-pause').click();
    await until(async () => (await text(page, '#import-progress-text')).startsWith('Paused'));
    const paused = await counts(page);
    await page.waitForTimeout(500);
    t.same(await counts(page), paused, 'nothing moves while paused');
    t.equal(await text(page, '#import-pause'), 'Resume');
    await audit(t, page, 'an import paused');
    await shoot(page, 'import-progress');
    await page.locator('#import-cancel').click();
    await page.locator('#import-result-h').waitFor();
    t.equal(await text(page, '#import-result-h'), 'Import cancelled');
    const c = await counts(page);
    t.ok(c.created > 0 && c.created < 3000, `part was done (${c.created} created)`);
    t.match(await text(page, '#import-summary'), new RegExp(`${c.created.toLocaleString('en-US')} created, .* ${(3000 - c.created).toLocaleString('en-US')} not imported`));
    t.equal((await users('userName sw "cancel"', 'id')).totalResults, c.created, 'the directory holds exactly what the page says was created');
    t.equal(await page.evaluate('document.activeElement && document.activeElement.id'), 'import-result-h', 'focus on the result');
    t.same(problems, []);
    await page.close();
  });

  t.test('a file without people, or not UTF-8, is said so at the file input', async (t) => {
    const page = await newPage();
    await signIn(page, tokens.admin);
    await page.goto(`${base}/ui#/import`);
    await page.setInputFiles('#import-file', { name: 'empty.csv', mimeType: 'text/csv', buffer: Buffer.from('\ufeffEmployee ID;First Name\r\n', 'utf8') });
    await page.locator('#import-file-error').waitFor();
    t.equal(await text(page, '#import-file-error'), 'The file has a header row but no people.');
    t.equal(await page.locator('#import-file').getAttribute('aria-invalid'), 'true');
    t.match(await page.locator('#import-file').getAttribute('aria-describedby'), /import-file-error/);
    t.ok(await page.locator('#import-map-h').isHidden(), 'no mapping for it');
    // Windows-1252 (é as 0xE9) read as UTF-8.
    await page.setInputFiles('#import-file', { name: 'latin1.csv', mimeType: 'text/csv', buffer: Buffer.from('Login,Last Name\nrene@example.com,Ren\xe9\n', 'latin1') });
    await page.locator('#import-preview-summary').waitFor();
    t.match(await text(page, '#import-file-status'), /not UTF-8/);
    t.equal(await page.locator('#import-file').getAttribute('aria-invalid'), null, 'a new file clears the error');
    await audit(t, page, 'the file errors');
    t.same(problems, []);
    await page.close();
  });

  t.test('keyboard only: a file chosen, mapped and imported without a mouse', async (t) => {
    const page = await newPage();
    await signIn(page, tokens.admin);
    await page.goto(`${base}/ui#/import`);
    await page.locator('#import-file').waitFor();
    const focused = () => page.evaluate('document.activeElement && document.activeElement.id') as Promise<string>;
    t.equal(await focused(), 'page-title', 'the heading has focus on arrival');
    const tabTo = async (target: string) => {
      for (let i = 0; i < 80 && (await focused()) !== target; i++) await page.keyboard.press('Tab');
      return (await focused()) === target;
    };
    t.ok(await tabTo('import-file'), 'the file input is reached with Tab');
    const rows = [['Login', 'Given Name', 'Surname', 'Title']];
    for (let k = 1; k <= 30; k++) rows.push([`kb${k}@example.com`, 'Key', `Board ${k}`, 'Typist']);
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.keyboard.press('Space')]);
    await chooser.setFiles({ name: 'keyboard.csv', mimeType: 'text/csv', buffer: Buffer.from(writeCsv(rows), 'utf8') });
    await page.locator('#import-preview-summary').waitFor();
    t.equal(await page.locator('#import-username').inputValue(), '0', 'the Login column is the user name');
    // The title column, changed with the keyboard: to the option above (ignored), then back down.
    t.ok(await tabTo('import-map-3'), 'a column’s select is reached with Tab');
    t.equal(await page.locator('#import-map-3').inputValue(), 'title');
    t.ok(await tabTo('import-start'), 'Import is reached with Tab');
    await page.keyboard.press('Enter');
    await page.locator('#import-result-h').waitFor();
    t.equal(await focused(), 'import-result-h', 'focus on the result when done');
    t.same(await counts(page), { created: 30, updated: 0, unchanged: 0, failed: 0 });
    t.ok(await tabTo('import-again'), 'and on to “Import another file”');
    t.same(problems, []);
    await page.close();
  });

  t.test("an HR feed's token: job info updated, new people refused by the server, as failed rows", async (t) => {
    const page = await newPage();
    await signIn(page, tokens.hr);
    const rows = [['Employee ID', 'Work Email', 'Job Title', 'Department']];
    for (let k = 1; k <= 5; k++) rows.push([id(k), `person${k}@example.com`, 'Director', 'Leadership']);
    rows.push(['E99999', 'newcomer@example.com', 'Newcomer', 'Nowhere']);
    await choose(page, 'hr-feed.csv', writeCsv(rows));
    // The work email is the user name (what people sign in with), which the token may not write but may match by.
    t.equal(await page.locator('#import-username').inputValue(), '1');
    // The mapping offers what the token may write: job info, not emails or names.
    const offered = await page.locator('#import-map-2 option').allTextContents();
    t.ok(offered.includes('Title') && !offered.includes('Email (work)') && !offered.some((o) => /given name/.test(o)), 'only the sections it may write');
    await importAll(page);
    t.same(await counts(page), { created: 0, updated: 5, unchanged: 0, failed: 1 });
    const refused = await text(page, 'table.import-failed tbody');
    t.comment(`the HR feed's new person: ${refused}`);
    t.match(refused, /^7\S+/, 'the refused row, with the server’s error');
    t.equal(await byEmployee(99999), undefined, 'not created');
    t.equal((await byEmployee(3))?.title, 'Director');
    await audit(t, page, "an HR feed's import");
    t.same(problems, []);
    await page.close();
  });
}

/** An app of the test's own (its settings), a browser signed in to it as an administrator, on the import page. */
async function ownApp(t: Tap, env: Record<string, string>): Promise<{ h: Harness; page: Page; problems: string[] }> {
  const problems: string[] = [];
  const h = await build(t, 'lmdb', env);
  await h.app.listen({ port: 0, host: '127.0.0.1' });
  const address = h.app.server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const token = await mintToken(h.config.jwt, { scope: 'scim:read scim:write', ttlSeconds: 900, roles: ['globalAdmin'], clientId: 'admin-console' });
  await fetch(`${base}/ui`);
  const context = await launchChromium(t);
  t.teardown(() => context.close());
  const page = await watchedPage(context, problems);
  await page.goto(`${base}/ui`);
  await page.getByLabel('Bearer token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#whoami-text').waitFor();
  await page.goto(`${base}/ui#/import`);
  await page.locator('#import-file').waitFor();
  return { h, page, problems };
}

/**
 * A server with tiny Bulk limits (3 operations, 2,000 bytes): chunks follow the advertised limits, a request over
 * the payload limit is split, a chain of managers listed reports-first resolves, and a reporting cycle that spans
 * two chunks goes to the second pass, where the server refuses it: failed rows with its error.
 */
function smallLimits(): void {
  t.test('small Bulk limits: chunks within them, managers across chunks, a cycle refused by the server', async (t) => {
    const { h, page, problems } = await ownApp(t, { SCIM_BULK_MAX_OPERATIONS: '3', SCIM_BULK_MAX_PAYLOAD_SIZE: '2000' });
    const bodies: { ops: number; bytes: number; methods: string[] }[] = [];
    page.on('request', (r) => {
      if (!r.url().endsWith('/scim/v2/Bulk')) return;
      const body = r.postData() ?? '';
      const ops = (JSON.parse(body) as { Operations: { method: string }[] }).Operations;
      bodies.push({ ops: ops.length, bytes: Buffer.byteLength(body), methods: ops.map((o) => o.method) });
    });
    const rows = [
      ['Employee ID', 'Email', 'Display Name', 'Manager'],
      // A chain listed reports first: R1 reports to R2, R2 to R3 … R6 to no one.
      ...[1, 2, 3, 4, 5].map((k) => [`R${k}`, `r${k}@example.com`, `Chain ${k}`, `R${k + 1}`]),
      ['R6', 'r6@example.com', 'x'.repeat(1200), ''],
      // A cycle: C1 and C2 report to each other.
      ['C1', 'c1@example.com', 'Cycle 1', 'C2'],
      ['P1', 'p1@example.com', 'Padding 1', ''],
      ['P2', 'p2@example.com', 'Padding 2', ''],
      ['P3', 'p3@example.com', 'Padding 3', ''],
      // Imported managers first: R6, P1, P2 | P3, C2, R5 | C1, R4, R3 | R2 | R1. C2's manager C1 comes a chunk
      // later, so C2 waits for the second pass; C1 gets C2 at once, and C2's PATCH then closes the cycle.
      ['C2', 'c2@example.com', 'Cycle 2', 'C1'],
    ];
    await page.setInputFiles('#import-file', { name: 'limits.csv', mimeType: 'text/csv', buffer: Buffer.from(writeCsv(rows), 'utf8') });
    await page.locator('#import-preview-summary').waitFor();
    await page.locator('#import-start').click();
    await page.locator('#import-result-h').waitFor();
    t.ok(bodies.every((b) => b.ops <= 3 && b.bytes <= 2000), `every request within the limits (${bodies.map((b) => `${b.ops} ops ${b.bytes} B`).join('; ')})`);
    const summary = (await page.locator('#import-summary').textContent()) ?? '';
    t.match(summary, /^10 created, 0 updated, 0 unchanged, 1 failed/, summary);
    t.same(bodies.at(-1)?.methods, ['PATCH'], "the second pass: C2's manager");
    t.ok(bodies.slice(0, -1).every((b) => b.methods.every((m) => m === 'POST')), 'before it, creates only');
    const failed = ((await page.locator('table.import-failed tbody').textContent()) ?? '').replace(/\s+/g, ' ');
    t.match(failed, /created, but the manager could not be set: .*(cycle|reports)/, `the cycle's second PATCH refused by the server: ${failed}`);
    const get = async (userName: string) =>
      (h.json(await h.req({ method: 'GET', url: `/scim/v2/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`, roles: ['globalAdmin'] })).Resources as Record<string, unknown>[])[0];
    const managerOf = (u: Record<string, unknown> | undefined) => (u?.[ENTERPRISE] as { manager?: { value?: string } } | undefined)?.manager?.value;
    for (let k = 1; k <= 5; k++) t.equal(managerOf(await get(`r${k}@example.com`)), (await get(`r${k + 1}@example.com`))?.id, `R${k} reports to R${k + 1}`);
    t.same(problems, [], 'no console errors or CSP violations');
    await page.close();
  });
}

/** A caller over its rate limit (SCIM_RATE_LIMIT, applied to loopback here): the import waits as told and goes on. */
function rateLimited(): void {
  t.test('rate limited: the import waits as the server says, and goes on', async (t) => {
    const { h, page, problems } = await ownApp(t, { SCIM_RATE_LIMIT: '30', SCIM_RATE_LIMIT_LOOPBACK: 'true', SCIM_BULK_MAX_OPERATIONS: '1' });
    let refused = 0;
    page.on('response', (r) => r.status() === 429 && refused++);
    const rows = [['Login', 'Display Name']];
    for (let k = 1; k <= 14; k++) rows.push([`slow${k}@example.com`, `Slow ${k}`]);
    await page.setInputFiles('#import-file', { name: 'slow.csv', mimeType: 'text/csv', buffer: Buffer.from(writeCsv(rows), 'utf8') });
    await page.locator('#import-preview-summary').waitFor();
    await page.locator('#import-start').click();
    let said = '';
    const end = Date.now() + 120_000;
    while (Date.now() < end && !(await page.locator('#import-result-h').count())) {
      const now = (await page.locator('#import-progress-text').textContent()) ?? '';
      if (/slow down/.test(now)) said = now;
      await page.waitForTimeout(100);
    }
    t.ok(refused > 0, `the server turned requests away (${refused} answers 429)`);
    t.match(said, /the server asked to slow down: going on in \d+ s/, `the page said so: ${said}`);
    t.match(await page.locator('#import-summary').textContent(), /^14 created, 0 updated, 0 unchanged, 0 failed/);
    const res = await h.req({ method: 'GET', url: `/scim/v2/Users?filter=${encodeURIComponent('userName sw "slow"')}&count=0`, roles: ['globalAdmin'] });
    t.equal(h.json(res).totalResults, 14);
    // Chromium logs each 429 as a console error; those are the test's own doing.
    t.same(problems.filter((p) => !/status of 429/.test(p)), [], 'no other console errors or CSP violations');
    await page.close();
  });
}

/** An operator's extension (examples/schema: SCIM_SCHEMA_DIR) on an app of its own: its attributes are offered and imported like the rest. */
function operatorSchemas(): void {
  const HR = 'urn:example:params:scim:schemas:extension:hr:2.0:User';
  t.test("an operator's extension attributes: offered by their labels, suggested by their names, imported with their types", async (t) => {
    const { h, page, problems } = await ownApp(t, { SCIM_SCHEMA_DIR: join(__dirname, '..', '..', 'examples', 'schema') });
    const header = ['User Name', 'Hire Date', 'Worker Type', 'Badge Number', 'Work Location Site'];
    const rows = [header, ['op1@example.com', '2026-03-01', 'contractor', 'B-1', 'Berlin'], ['op2@example.com', '2025-12-24T09:30:00Z', 'Employee', 'B-2', 'Paris']];
    await page.setInputFiles('#import-file', { name: 'operator.csv', mimeType: 'text/csv', buffer: Buffer.from(writeCsv(rows), 'utf8') });
    await page.locator('#import-preview-summary').waitFor();
    const picked = async (i: number) => page.locator(`#import-map-${i}`).evaluate((s) => (s as unknown as Picked).selectedOptions[0]?.textContent ?? '');
    t.same(await Promise.all([1, 2, 3, 4].map(picked)), ['Hire date', 'Worker type', 'Badge number', 'Work location: site'], 'suggested by their own names');
    const groups = await page.locator('#import-map-1 optgroup').evaluateAll((gs) => gs.map((g) => g.getAttribute('label')));
    t.same(groups, ['Core', 'Enterprise', 'Profile', 'HrUser', 'CustomExtensionName'].filter((g) => groups.includes(g)), 'grouped by schema');
    t.ok(groups.includes('HrUser') && groups.includes('CustomExtensionName'), "the operator's schemas are offered");
    t.same((await page.evaluate(AUDIT)) as string[], [], 'labels, names, alt text and contrast');
    await page.locator('#import-start').click();
    await page.locator('#import-result-h').waitFor();
    t.match(await page.locator('#import-summary').textContent(), /^2 created/);
    const res = await h.req({ method: 'GET', url: `/scim/v2/Users?filter=${encodeURIComponent('userName eq "op1@example.com"')}`, roles: ['globalAdmin'] });
    const ext = ((h.json(res).Resources as Record<string, unknown>[])[0]?.[HR] ?? {}) as Record<string, unknown>;
    t.equal(ext.hireDate, '2026-03-01T00:00:00Z', 'a date made a dateTime');
    t.equal(ext.workerType, 'Contractor', 'a canonical value in its canonical spelling');
    t.equal(ext.badgeNumber, 'B-1');
    t.same(ext.workLocation, { site: 'Berlin' }, "a complex attribute's sub-attribute");
    t.same(problems, [], 'no console errors or CSP violations');
    await page.close();
  });
}

// Last: run() uses the constants above.
if (chromiumAvailable(t)) {
  run();
  operatorSchemas();
  smallLimits();
  rateLimited();
}
