/**
 * The administrator's page creates, blocks and deletes users (issue 29, items 1, 2 and 5), in Debian's Chromium
 * driven by playwright-core, against the app listening on loopback with the embedded store.
 *
 * Flows: a global administrator creates a user from the form (required fields marked, an initial password never
 * shown again), by keyboard only; a taken userName is refused at its field; sign-in blocked and allowed again from
 * the profile, the state shown in the directory; a change made meanwhile by someone else is shown, never
 * overwritten; a user deleted after a confirmation that names them, their groups and their reports, with the
 * server's cascade checked through the API. An HR feed's token (job info only) is offered neither a form nor a
 * delete. Every new view passes the audit (labels, names, contrast), with no console error or CSP violation.
 *
 * SCIM_UI_SCREENSHOTS=1 saves the new views to docs/screenshots/ (docs/ui.md shows them).
 */
import t from 'tap';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { build, ENTERPRISE, type Harness, user } from '../helper';
import { mintToken } from '../../src/cli/mint';
import { audit, chromiumAvailable, launchChromium, listenOnLoopback, shoot, signIn as signInAs, watchedPage } from './browser';

const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';


if (chromiumAvailable(t)) run();

function run(): void {
  t.setTimeout(240_000);
  let h: Harness;
  let base: string;
  let context: BrowserContext;
  const tokens: Record<'admin' | 'hr', string> = { admin: '', hr: '' };
  const problems: string[] = [];
  const admin = { roles: ['globalAdmin'] };

  const api = async (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: unknown) => {
    const res = await h.req({ method, url: `/scim/v2${url}`, ...(payload === undefined ? {} : { payload: payload as object }), ...admin });
    return { status: res.statusCode, body: res.body ? (h.json(res) as Record<string, unknown>) : {}, etag: res.headers.etag as string | undefined };
  };
  const create = async (body: Record<string, unknown>): Promise<string> => {
    const r = await api('POST', '/Users', body);
    if (r.status !== 201) throw new Error(`seed: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.id as string;
  };

  t.before(async () => {
    h = await build(t, 'lmdb', { SCIM_AUTHORITIES: '{"hr-feed":["jobInfo"]}' });
    base = await listenOnLoopback(h.app);
    tokens.admin = await mintToken(h.config.jwt, { scope: 'scim:read scim:write', ttlSeconds: 900, roles: ['globalAdmin'], clientId: 'admin-console' });
    tokens.hr = await mintToken(h.config.jwt, { scope: 'scim:read scim:write:jobInfo', ttlSeconds: 900, clientId: 'hr-feed' });
    await fetch(`${base}/ui`);
    context = await launchChromium(t);
    t.teardown(() => context.close());
  });

  const newPage = (): Promise<Page> => watchedPage(context, problems);
  const signIn = (page: Page, token: string): Promise<void> => signInAs(page, base, token);
  /** Whether the element the locator finds has focus (evaluated in the page, where `document` is). */
  const focused = (l: Locator): Promise<boolean> => l.evaluate((el) => el === (el as unknown as { ownerDocument: { activeElement: unknown } }).ownerDocument.activeElement);
  const text = async (page: Page, selector: string) => ((await page.locator(selector).first().textContent()) ?? '').replace(/\s+/g, ' ').trim();

  t.test('a new user from the form: required fields marked, the profile opens, the password is never shown', async (t) => {
    const page = await newPage();
    await signIn(page, tokens.admin);
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'New user' }).click();
    await page.getByRole('heading', { name: 'New user', level: 1 }).waitFor();
    t.equal(await page.getByRole('link', { name: 'New user' }).getAttribute('aria-current'), 'page', 'the navigation marks where the person is');
    // Every section the token may write is a fieldset; userName is required, in words and to assistive technology.
    const legends = (await page.locator('fieldset.new-user-section > legend').allTextContents()).map((s) => s.trim());
    t.ok(legends.includes('Identity') && legends.includes('Job info') && legends.includes('Contact info') && legends.includes('Account'), `sections offered: ${legends.join(', ')}`);
    const userName = page.getByLabel('User name (sign-in) (required)');
    t.equal(await userName.getAttribute('aria-required'), 'true', 'userName is marked required');
    t.ok(await page.getByLabel('Active (may sign in)').isChecked(), 'a new user starts active');
    await audit(t, page, 'new user form');
    await userName.fill('grace.hopper');
    await page.getByLabel('Given name', { exact: true }).fill('Grace');
    await page.getByLabel('Family name', { exact: true }).fill('Hopper');
    await page.getByLabel('Display name', { exact: true }).fill('Grace Hopper');
    await page.getByLabel('Title', { exact: true }).fill('Rear Admiral');
    await page.getByLabel('Initial password (optional)').fill('correct horse battery staple');
    await shoot(page, 'new-user', true);
    await page.getByRole('button', { name: 'Create user' }).click();
    await page.getByRole('heading', { name: 'Grace Hopper', level: 1 }).waitFor();
    const id = decodeURIComponent(new URL(page.url()).hash.split('/')[2] ?? '');
    const stored = await api('GET', `/Users/${id}`);
    t.equal(stored.status, 200, 'the user exists');
    t.equal(stored.body.userName, 'grace.hopper');
    t.same(stored.body.name, { givenName: 'Grace', familyName: 'Hopper' });
    t.equal(stored.body.title, 'Rear Admiral');
    t.equal(stored.body.active, true);
    t.notOk('password' in stored.body, 'the password is never returned');
    t.notOk((await page.content()).includes('correct horse'), 'nor shown on the page');
    // The form left nothing behind it: one POST made one user.
    const listed = await api('GET', `/Users?filter=${encodeURIComponent('userName eq "grace.hopper"')}`);
    t.equal(listed.body.totalResults, 1);
    await page.close();
  });

  t.test('a taken userName is refused at its field, and nothing is created', async (t) => {
    await create(user('taken.name'));
    const page = await newPage();
    await signIn(page, tokens.admin);
    await page.goto(`${base}/ui#/users/new`);
    const userName = page.getByLabel('User name (sign-in) (required)');
    await userName.fill('TAKEN.name');
    await page.getByRole('button', { name: 'Create user' }).click();
    const error = page.locator('.field-error').first();
    await error.waitFor();
    t.match(await error.textContent(), /userName|taken|unique/i, 'the server’s words at the field');
    t.equal(await userName.getAttribute('aria-invalid'), 'true', 'the field is marked invalid');
    t.ok(await focused(userName), 'and focused');
    t.match(await text(page, '.alert.error'), /Not created/, 'the form says it was not created');
    await shoot(page, 'new-user-error');
    // Without a userName: the server's required-value error, at the field too.
    await userName.fill('');
    await page.getByRole('button', { name: 'Create user' }).click();
    await page.locator('.field-error', { hasText: /required|userName/i }).waitFor();
    t.pass('a missing userName is refused at its field');
    const listed = await api('GET', `/Users?filter=${encodeURIComponent('userName eq "taken.name"')}`);
    t.equal(listed.body.totalResults, 1, 'still one user of that name');
    await page.close();
  });

  t.test('keyboard only: the form is filled and sent without a pointer', async (t) => {
    const page = await newPage();
    await signIn(page, tokens.admin);
    await page.goto(`${base}/ui#/users/new`);
    await page.getByRole('heading', { name: 'New user', level: 1 }).waitFor();
    // From the heading (focused on arrival), Tab reaches the first field of the first section the token writes.
    let reached = false;
    for (let i = 0; i < 40 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = (await page.evaluate("document.activeElement?.labels?.[0]?.textContent?.startsWith('User name') ?? false")) as boolean;
    }
    t.ok(reached, 'Tab reaches the user name');
    await page.keyboard.type('kb.user');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'kb.user', level: 1 }).waitFor();
    t.pass('Enter creates the user and opens the profile');
    await page.close();
  });

  t.test('block sign-in from the profile, shown in the directory; allowed again', async (t) => {
    const id = await create(user('blockme', { displayName: 'Block Me' }));
    const page = await newPage();
    await signIn(page, tokens.admin);
    await page.goto(`${base}/ui#/users/${id}`);
    const block = page.getByRole('button', { name: 'Block sign-in' });
    await block.click();
    await page.getByRole('button', { name: 'Allow sign-in' }).waitFor();
    t.equal((await api('GET', `/Users/${id}`)).body.active, false, 'the user is blocked');
    t.match(await text(page, '.user-head .badge'), /Blocked/, 'the header says so in words');
    t.ok(await focused(page.getByRole('button', { name: 'Allow sign-in' })), 'focus stays on the action');
    await page.goto(`${base}/ui#/users?q=blockme`);
    const row = page.locator('table.users tbody tr', { hasText: 'Block Me' });
    await row.waitFor();
    t.match(await row.textContent(), /Blocked/, 'the directory shows the state');
    await page.goto(`${base}/ui#/users/${id}`);
    await page.getByRole('button', { name: 'Allow sign-in' }).click();
    await page.getByRole('button', { name: 'Block sign-in' }).waitFor();
    t.equal((await api('GET', `/Users/${id}`)).body.active, true, 'allowed again');
    await audit(t, page, 'profile with its actions');
    await page.close();
  });

  t.test('a change made meanwhile is shown, never overwritten', async (t) => {
    const id = await create(user('raced', { displayName: 'Raced User' }));
    const page = await newPage();
    await signIn(page, tokens.admin);
    await page.goto(`${base}/ui#/users/${id}`);
    await page.getByRole('button', { name: 'Block sign-in' }).waitFor();
    // Someone else blocks the user and renames them after the page read it.
    const other = await api('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { active: false, displayName: 'Raced User (renamed)' } }] });
    t.equal(other.status, 200);
    await page.getByRole('button', { name: 'Block sign-in' }).click();
    const warning = page.locator('.user-actions .alert.warning');
    await warning.waitFor();
    t.match(await warning.textContent(), /changed by someone else/, 'the conflict is said');
    await page.getByRole('heading', { name: 'Raced User (renamed)', level: 1 }).waitFor();
    t.pass('the current version is shown');
    t.ok(await page.getByRole('button', { name: 'Allow sign-in' }).isVisible(), 'the action now offered is the one that fits the current state');
    const after = await api('GET', `/Users/${id}`);
    t.equal(after.body.displayName, 'Raced User (renamed)', 'the other change stands');
    t.equal((after.body.meta as { version: string }).version, other.body.meta && (other.body.meta as { version: string }).version, 'nothing was written by the page');
    // Deleting over a change made meanwhile is refused the same way.
    await page.getByRole('button', { name: 'Delete user…' }).click();
    await page.getByRole('alertdialog').waitFor();
    await api('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'Changed meanwhile' }] });
    await page.getByRole('button', { name: /^Delete Raced User/ }).click();
    await page.locator('.user-actions .alert.warning', { hasText: 'Not deleted' }).waitFor();
    t.equal((await api('GET', `/Users/${id}`)).status, 200, 'the user was not deleted over the change');
    await page.close();
  });

  t.test('delete a user after a confirmation that names them, their groups and their reports', async (t) => {
    const boss = await create(user('boss', { displayName: 'Bea Boss' }));
    const reports = [];
    for (const n of ['r1', 'r2', 'r3']) reports.push(await create(user(n, { [ENTERPRISE]: { manager: { value: boss } } })));
    const g1 = (await api('POST', '/Groups', { schemas: [GROUP], displayName: 'Platform', members: [{ value: boss }, { value: reports[0] }] })).body.id as string;
    const g2 = (await api('POST', '/Groups', { schemas: [GROUP], displayName: 'Managers', members: [{ value: boss }] })).body.id as string;
    const page = await newPage();
    await signIn(page, tokens.admin);
    await page.goto(`${base}/ui#/users/${boss}`);
    await page.getByRole('button', { name: 'Delete user…' }).click();
    const dialog = page.getByRole('alertdialog');
    await dialog.waitFor();
    const said = ((await dialog.textContent()) ?? '').replace(/\s+/g, ' ');
    t.match(said, /Delete Bea Boss \(boss\)\?/, 'names the person');
    t.match(said, /leave every group they are in \(2\)/, 'says they leave their groups');
    t.match(said, /Platform/);
    t.match(said, /Managers/);
    t.match(said, /Their 3 direct reports lose their manager/, 'says their reports lose their manager');
    t.ok(await focused(page.getByRole('button', { name: 'Keep' })), 'focus starts on the safe choice');
    await audit(t, page, 'delete confirmation');
    await shoot(page, 'delete-confirm');
    await page.keyboard.press('Enter');
    await page.getByRole('alertdialog').waitFor({ state: 'detached' });
    t.equal((await api('GET', `/Users/${boss}`)).status, 200, 'Keep deletes nothing');
    await page.getByRole('button', { name: 'Delete user…' }).click();
    await page.getByRole('button', { name: 'Delete Bea Boss' }).click();
    await page.getByRole('heading', { name: 'Directory', level: 1 }).waitFor();
    t.equal((await api('GET', `/Users/${boss}`)).status, 404, 'deleted');
    for (const r of reports) t.notOk(((await api('GET', `/Users/${r}`)).body[ENTERPRISE] as Record<string, unknown> | undefined)?.manager, 'a report lost their manager');
    const platform = await api('GET', `/Groups/${g1}`);
    t.same((platform.body.members as { value: string }[]).map((m) => m.value), [reports[0]], 'they left Platform');
    t.notOk((await api('GET', `/Groups/${g2}`)).body.members, 'and Managers');
    await page.close();
  });

  t.test('an HR feed’s token is offered no user form and no delete', async (t) => {
    const id = await create(user('hr.target'));
    const page = await newPage();
    await signIn(page, tokens.hr);
    await page.goto(`${base}/ui#/users/new`);
    await page.locator('.alert.warning').waitFor();
    t.match(await text(page, '.alert.warning'), /cannot create users: a new user needs User name/, 'says why');
    t.equal(await page.locator('form.new-user').count(), 0, 'no form the server would refuse');
    await page.goto(`${base}/ui#/users/${id}`);
    await page.locator('section#section-jobInfo h2').waitFor();
    t.equal(await page.getByRole('button', { name: 'Delete user…' }).count(), 0, 'no delete');
    t.equal(await page.getByRole('button', { name: 'Block sign-in' }).count(), 0, 'no block: settings are not granted');
    await page.close();
  });

  t.test('no console errors and no CSP violations', async (t) => {
    t.same(problems, [], 'none');
  });
}
