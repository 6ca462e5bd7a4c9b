/**
 * An operator's own schemas on the administrator's page, in a real browser (Debian's Chromium, headless, driven by
 * playwright-core; see ./browser.ts). The app runs with SCIM_SCHEMA_DIR=examples/schema: an HR extension whose
 * jobCode joins the built-in job info section and whose other attributes make a new section, `employment`, and
 * Entra's custom extension in the account section.
 *
 * Checked: the new section is a card of its own, with its description, after the built-in ones; each operator
 * attribute is in its card, labelled from its name and hinted with its schema's description; the form's controls
 * follow the schema's types (dateTime, integer, canonical values as a choice, a complex attribute's sub-attributes,
 * a reference); an untouched dateTime is never sent as a change; a value its type cannot take is stopped at its
 * field; jobCode, workLocation.site, hireDate and workerType are saved with one PATCH each, in their narrowest
 * paths, and the API has them; a token granted only the new section may change only it.
 */
import t from 'tap';
import { join } from 'node:path';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { build, ENTERPRISE, type Harness, user } from '../helper';
import { mintToken } from '../../src/cli/mint';
import { audit, chromiumAvailable, launchChromium, listenOnLoopback, textOf, watchedPage } from './browser';

const HR = 'urn:example:params:scim:schemas:extension:hr:2.0:User';
const ENTRA = 'urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const SCHEMA_DIR = join(__dirname, '..', '..', 'examples', 'schema');


interface Patch {
  headers: Record<string, string>;
  body: { Operations?: unknown[] };
}

if (chromiumAvailable(t)) run();

function run(): void {
  t.setTimeout(180_000);
  let h: Harness;
  let base: string;
  let id: string;
  let context: BrowserContext;
  let admin: string;
  const problems: string[] = [];

  t.before(async () => {
    h = await build(t, 'lmdb', { SCIM_SCHEMA_DIR: SCHEMA_DIR });
    base = await listenOnLoopback(h.app);
    const created = await h.req({
      method: 'POST',
      url: '/scim/v2/Users',
      roles: ['globalAdmin'],
      payload: user('rosalind', {
        schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE, HR, ENTRA],
        displayName: 'Rosalind Franklin',
        title: 'Research Associate',
        [ENTERPRISE]: { department: 'Biophysics' },
        [HR]: {
          hireDate: '2019-04-01T08:00:00Z',
          jobCode: 'RES-2',
          workerType: 'Employee',
          badgeNumber: 'B-0451',
          workLocation: { site: 'London', building: "King's College", floor: 3 },
        },
        [ENTRA]: { CustomAttribute: 'x-ray', licenseTier: 'standard' },
      }),
    });
    if (created.statusCode !== 201) throw new Error(`seed: ${created.statusCode} ${created.body}`);
    id = h.json(created).id as string;
    admin = await mintToken(h.config.jwt, { scope: 'scim:read scim:write', ttlSeconds: 900, roles: ['globalAdmin'], clientId: 'admin-console' });
    // The first request bundles the page (running from source).
    await fetch(`${base}/ui`);
    context = await launchChromium(t);
    t.teardown(() => context.close());
  });

  /** A new tab (its own session storage), with console errors and CSP violations collected. */
  const newPage = (): Promise<Page> => watchedPage(context, problems);
  const openProfile = async (page: Page, token: string): Promise<void> => {
    await page.goto(`${base}/ui#/users/${id}`);
    await page.getByLabel('Bearer token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Rosalind Franklin' }).waitFor();
    await page.locator('#section-employment dl.values').waitFor();
  };
  const patchesOf = (page: Page): Patch[] => {
    const out: Patch[] = [];
    page.on('request', (r) => {
      if (r.method() === 'PATCH') out.push({ headers: r.headers(), body: r.postDataJSON() as Patch['body'] });
    });
    return out;
  };
  const text = textOf;
  const hintOf = async (field: Locator) => {
    const ids = ((await field.getAttribute('aria-describedby')) ?? '').split(' ').filter(Boolean);
    return (await Promise.all(ids.map((x) => text(field.page().locator(`[id="${x}"]`))))).join(' ');
  };
  const stored = async () => {
    const res = await h.req({ method: 'GET', url: `/scim/v2/Users/${id}`, roles: ['globalAdmin'] });
    return h.json(res);
  };

  t.test("the operator's section is a card of its own, and its attributes are in their cards", async (t) => {
    const page = await newPage();
    await openProfile(page, admin);
    t.same(
      (await page.locator('section.section h2').allTextContents()).map((s) => s.trim()),
      ['Photo', 'Identity', 'Job info', 'Settings', 'Preferences', 'Contact info', 'Authentication contact info', 'Account', 'Employment', 'Groups'],
      "the built-in sections, then the operator's, in the server's order",
    );
    const employment = page.locator('#section-employment');
    t.equal(
      await text(employment.locator('.desc')),
      'Employment facts the HR system owns: hire and termination dates, worker type, badge, work location and cost center owner.',
      "the section's description from extensions.json",
    );
    t.same(
      (await employment.locator('dl.values > .pair > dt').allTextContents()).map((s) => s.trim()),
      ['Hire date', 'Termination date', 'Worker type', 'Badge number', 'Work location', 'Cost center owner'],
      'its attributes, labelled from their names, in its order',
    );
    const value = (section: Locator, label: string) => section.locator('dl.values > .pair', { has: page.locator('dt', { hasText: new RegExp(`^${label}$`) }) }).locator('dd').first();
    t.equal(await value(employment, 'Hire date').locator('time').getAttribute('datetime'), '2019-04-01T08:00:00Z', 'a dateTime is shown as a time');
    t.match(await text(value(employment, 'Hire date')), /Apr 1, 2019/);
    t.equal(await text(value(employment, 'Termination date')), 'Not set');
    t.equal(await text(value(employment, 'Worker type')), 'Employee');
    t.same(
      (await value(employment, 'Work location').locator('dl.sub > *').allTextContents()).map((s) => s.trim()),
      ['Site', 'London', 'Building', "King's College", 'Floor', '3'],
      'a complex attribute: its sub-attributes, labelled',
    );
    const jobInfo = page.locator('#section-jobInfo');
    t.equal(await text(value(jobInfo, 'Job code')), 'RES-2', 'jobCode is in the built-in job info section');
    t.equal(await employment.locator('dt', { hasText: 'Job code' }).count(), 0, 'and not in employment');
    const account = page.locator('#section-account');
    t.equal(await text(value(account, 'Custom attribute')), 'x-ray', "Entra's custom attribute is in account");
    t.equal(await text(value(account, 'License tier')), 'standard');
    t.match(await text(page.locator('#whoami-text')), /may change: every section/);
    await audit(t, page, 'profile with operator sections');
    await page.close();
  });

  t.test("an operator's attribute in a built-in section: jobCode edited and saved in job info", async (t) => {
    const page = await newPage();
    const patches = patchesOf(page);
    await openProfile(page, admin);
    const before = await h.req({ method: 'GET', url: `/scim/v2/Users/${id}`, roles: ['globalAdmin'] });
    await page.getByRole('button', { name: 'Edit Job info' }).click();
    const jobCode = page.locator('#section-jobInfo').getByLabel('Job code', { exact: true });
    t.equal(await jobCode.getAttribute('type'), 'text');
    t.equal(await jobCode.inputValue(), 'RES-2');
    t.equal(await hintOf(jobCode), "The HR system's code of the job, e.g. 'ENG-3'.", "hinted with its schema's description");
    await jobCode.fill('RES-3');
    await page.getByRole('button', { name: 'Save Job info' }).click();
    await page.getByRole('button', { name: 'Edit Job info' }).waitFor();
    t.equal(patches.length, 1, 'one PATCH');
    t.equal(patches[0]!.headers['if-match'], before.headers.etag, 'with If-Match');
    t.same(patches[0]!.body, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: `${HR}:jobCode`, value: 'RES-3' }] }, 'holding only jobCode, by its URN path');
    t.match(await text(page.locator('#section-jobInfo')), /Job code ?RES-3/, 'the saved value is shown');
    t.match(await stored(), { [HR]: { jobCode: 'RES-3' }, title: 'Research Associate', [ENTERPRISE]: { department: 'Biophysics' } }, 'the directory has it');
    await page.close();
  });

  t.test('the new section: controls by type, a wrong value stopped at its field, and a save of site, hire date and worker type', async (t) => {
    const page = await newPage();
    const patches = patchesOf(page);
    await openProfile(page, admin);
    const employment = page.locator('#section-employment');

    // Saved untouched: nothing to send (the dateTime is not rewritten in another spelling).
    await page.getByRole('button', { name: 'Edit Employment' }).click();
    await page.getByRole('button', { name: 'Save Employment' }).click();
    await page.getByRole('button', { name: 'Edit Employment' }).waitFor();
    t.equal(patches.length, 0, 'an untouched form sends nothing');

    await page.getByRole('button', { name: 'Edit Employment' }).click();
    t.equal(await text(employment.locator('h2')), 'Employment: editing');
    const hireDate = employment.getByLabel('Hire date');
    t.equal(await hireDate.getAttribute('type'), 'datetime-local', 'a dateTime: a date and time control');
    t.equal(await hireDate.inputValue(), '2019-04-01T08:00', "in the browser's time zone (UTC here)");
    t.equal(await page.evaluate('document.activeElement && document.activeElement.id'), await hireDate.getAttribute('id'), 'the first field has focus');
    t.match(await hintOf(hireDate), /^The day the worker started, as the HR system records it\. In your time zone \((Etc\/)?UTC\)\.$/, 'its description, and the zone it is in');
    t.equal(await employment.getByLabel('Termination date').getAttribute('type'), 'datetime-local');
    t.equal(await employment.getByLabel('Termination date').inputValue(), '');
    const workerType = employment.getByLabel('Worker type');
    t.equal(await workerType.evaluate((el) => el.tagName), 'SELECT', 'canonical values: a choice');
    t.same((await workerType.locator('option').allTextContents()).map((s) => s.trim()), ['(none)', 'Employee', 'Contractor', 'Intern', 'Vendor']);
    t.equal(await workerType.inputValue(), 'Employee');
    t.equal(await employment.getByLabel('Badge number').inputValue(), 'B-0451');
    t.equal(await employment.getByLabel('Cost center owner').getAttribute('type'), 'url', 'a reference: a URL');
    const location = employment.locator('fieldset', { has: page.locator('legend', { hasText: 'Work location' }) });
    t.equal(await location.count(), 1, 'a complex attribute: a group of its sub-attributes');
    const site = location.getByLabel('Site');
    const floor = location.getByLabel('Floor');
    t.equal(await site.inputValue(), 'London');
    t.equal(await location.getByLabel('Building').inputValue(), "King's College");
    t.equal(await floor.getAttribute('type'), 'number', 'an integer: a number control');
    t.equal(await floor.getAttribute('step'), '1');
    t.equal(await floor.inputValue(), '3');
    await audit(t, page, 'employment, editing');

    // A value its type cannot take is stopped at its field; nothing is sent.
    await floor.fill('2.5');
    await page.getByRole('button', { name: 'Save Employment' }).click();
    const error = employment.locator('.field-error');
    await error.waitFor();
    t.equal(await text(error), 'Enter a whole number.', 'a fraction for an integer');
    t.equal(await floor.getAttribute('aria-invalid'), 'true');
    t.equal(await page.evaluate('document.activeElement && document.activeElement.id'), await floor.getAttribute('id'), 'focus is on it');
    t.match(await text(employment.locator('[role="alert"]')), /Not saved: see the message at Work location/);
    t.equal(patches.length, 0, 'nothing sent');

    await floor.fill('3');
    await site.fill('Cambridge');
    await hireDate.fill('2021-03-15T09:30');
    await workerType.selectOption('Contractor');
    await page.getByRole('button', { name: 'Save Employment' }).click();
    await page.getByRole('button', { name: 'Edit Employment' }).waitFor();
    t.equal(await employment.locator('.field-error').count(), 0, 'saved without an error');
    t.equal(patches.length, 1, 'one PATCH');
    t.same(
      patches[0]!.body.Operations,
      [
        { op: 'replace', path: `${HR}:hireDate`, value: '2021-03-15T09:30:00Z' },
        { op: 'replace', path: `${HR}:workerType`, value: 'Contractor' },
        { op: 'replace', path: `${HR}:workLocation.site`, value: 'Cambridge' },
      ],
      'only what changed: the dateTime in UTC, the sub-attribute by its own path',
    );
    const saved = (await stored())[HR] as Record<string, unknown>;
    t.match(saved, { jobCode: 'RES-3', workerType: 'Contractor', badgeNumber: 'B-0451', workLocation: { site: 'Cambridge', building: "King's College", floor: 3 } }, 'the directory has them, the rest kept');
    t.equal(Date.parse(String(saved.hireDate)), Date.parse('2021-03-15T09:30:00Z'), 'the hire date, as the instant typed');
    t.notOk('terminationDate' in saved, 'an empty field untouched stays unset');
    t.equal(await employment.locator('time').first().getAttribute('datetime'), String(saved.hireDate), 'the card shows the saved values');
    t.match(await text(employment), /Worker type ?Contractor/);
    t.match(await text(employment), /Site ?Cambridge/);
    t.match(await text(page.locator('.user-head')), /version 3/, 'the new version is shown');
    await page.close();
  });

  t.test('a token granted only the new section may change only it', async (t) => {
    const hr = await mintToken(h.config.jwt, { scope: 'scim:read scim:write:employment', ttlSeconds: 900, clientId: 'hr-system' });
    const page = await newPage();
    await openProfile(page, hr);
    t.match(await text(page.locator('#whoami-text')), /may change: Employment/, 'named by its heading');
    t.equal(await page.getByRole('button', { name: 'Edit Employment' }).count(), 1, 'employment is editable');
    t.equal(await page.getByRole('button', { name: 'Edit Job info' }).count(), 0, 'job info is not');
    t.match(await text(page.locator('#section-jobInfo .lock')), /Your token may change only: Employment\./, 'and says why');
    await page.getByRole('button', { name: 'Edit Employment' }).click();
    await page.locator('#section-employment').getByLabel('Badge number').fill('B-0452');
    await page.getByRole('button', { name: 'Save Employment' }).click();
    await page.getByRole('button', { name: 'Edit Employment' }).waitFor();
    t.match(await stored(), { [HR]: { badgeNumber: 'B-0452' } });
    await page.close();
  });

  t.test('no CSP violation or script error', async (t) => {
    t.same(problems, [], 'no console error, CSP violation or uncaught exception');
  });
}
