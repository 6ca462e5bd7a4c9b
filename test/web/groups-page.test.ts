/**
 * Groups on the administrator's page, in a real browser (Debian's Chromium, headless, driven by playwright-core),
 * against the app listening on loopback with the embedded store.
 *
 * Flows: the groups list (search, member counts); create a group; add three people through the search-as-you-type
 * picker with the keyboard alone (type, arrow keys, Enter), in one PATCH with If-Match; remove one; rename; a
 * change made through the API after the page read the group, so that adding and removing are refused with 412,
 * shown as a conflict and nothing is overwritten; delete, with a confirmation that names the group and its member
 * count; a user's groups changed from the profile; and a group of 100,000 members (SCIM_UI_BIG_GROUP to change
 * the number), paged without any request reading its member list whole. Every new view is audited (labels, names,
 * contrast), and no console error or CSP violation may occur.
 *
 * Without /usr/bin/chromium these tests skip, and fail when CI=true. SCIM_UI_SCREENSHOTS=1 saves groups.png,
 * group.png and member-picker.png to docs/screenshots/.
 */
import t from 'tap';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { build, type Harness, user } from '../helper';
import { mintToken } from '../../src/cli/mint';
import { audit, chromiumAvailable, launchChromium, listenOnLoopback, shoot, textOf, watchedPage } from './browser';

const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const BULK = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
const BIG = Number(process.env.SCIM_UI_BIG_GROUP ?? 100_000);


if (chromiumAvailable(t)) run();

/** What the page sent to the API: enough to check methods, queries, If-Match and bodies. */
interface Sent {
  method: string;
  url: URL;
  ifMatch?: string;
  body?: unknown;
  status?: number;
  size?: number;
}

function run(): void {
  t.setTimeout(600_000);
  let h: Harness;
  let base: string;
  let token = '';
  let context: BrowserContext;
  const ids: Record<string, string> = {};
  const problems: string[] = [];
  const admin = { roles: ['globalAdmin'] };

  t.before(async () => {
    h = await build(t, 'lmdb');
    base = await listenOnLoopback(h.app);
    const people: [string, string, string?][] = [
      ['grace', 'Grace Hopper'],
      ['alan', 'Alan Turing'],
      ['ada', 'Ada Lovelace', 'ada@example.org'],
      ['ken', 'Ken Thompson', 'ken@example.org'],
      ['margaret', 'Margaret Hamilton'],
      ['barbara', 'Barbara Liskov'],
      ['dennis', 'Dennis Ritchie'],
      ['adele', 'Adele Goldberg'],
    ];
    for (const [userName, displayName, email] of people) {
      const res = await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user(userName, { displayName, ...(email ? { emails: [{ value: email, type: 'work', primary: true }] } : {}) }), ...admin });
      if (res.statusCode !== 201) throw new Error(`seed: ${res.statusCode} ${res.body}`);
      ids[userName] = h.json(res).id as string;
    }
    ids.engineering = await group('Engineering', [ids.margaret!, ids.ken!, ids.alan!]);
    ids.apollo = await group('Apollo Program', [ids.margaret!]);
    ids.research = await group('Research', []);
    token = await mintToken(h.config.jwt, { scope: 'scim:read scim:write', ttlSeconds: 1800, roles: ['globalAdmin'], clientId: 'admin-console' });
    // The first request bundles the page (running from source).
    await fetch(`${base}/ui`);
    context = await launchChromium(t);
    t.teardown(() => context.close());
  });

  const group = async (displayName: string, members: string[]): Promise<string> => {
    const res = await h.req({ method: 'POST', url: '/scim/v2/Groups', payload: { schemas: [GROUP], displayName, members: members.map((value) => ({ value })) }, ...admin });
    if (res.statusCode !== 201) throw new Error(`seed: ${res.statusCode} ${res.body}`);
    return h.json(res).id as string;
  };
  const group$ = async (id: string) => h.req({ method: 'GET', url: `/scim/v2/Groups/${id}`, ...admin });
  const memberIds = async (id: string) => ((h.json(await group$(id)).members ?? []) as { value: string }[]).map((m) => m.value).sort();
  const text = textOf;
  const focused = (page: Page) => page.evaluate("(document.activeElement.getAttribute('aria-label') || document.activeElement.textContent || '').trim()") as Promise<string>;
  /** Presses Tab until the focused element's name (or, with `#`, its id) is `target`; false after `limit` presses. */
  const tabTo = async (page: Page, target: string | RegExp, limit = 40) => {
    for (let i = 0; i < limit; i++) {
      await page.keyboard.press('Tab');
      const now = typeof target === 'string' && target.startsWith('#') ? `#${(await page.evaluate('document.activeElement.id')) as string}` : await focused(page);
      if (typeof target === 'string' ? now === target : target.test(now)) return true;
    }
    return false;
  };

  /** A new tab, signed in, whose API requests (and their answers' sizes) are recorded. */
  const open = async (): Promise<{ page: Page; sent: Sent[] }> => {
    const page = await watchedPage(context, problems);
    const sent: Sent[] = [];
    page.on('request', (r) => {
      const url = new URL(r.url());
      if (!url.pathname.startsWith('/scim/v2/')) return;
      const data = r.postData();
      sent.push({ method: r.method(), url, ifMatch: r.headers()['if-match'], body: data ? JSON.parse(data) : undefined });
    });
    page.on('response', async (r) => {
      const entry = [...sent].reverse().find((s) => s.url.href === r.url() && s.method === r.request().method() && s.status === undefined);
      if (!entry) return;
      entry.status = r.status();
      try {
        entry.size = (await r.body()).length;
      } catch {
        // a response without a body (204)
        entry.size = 0;
      }
    });
    await page.goto(`${base}/ui`);
    await page.getByLabel('Bearer token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#whoami-text').waitFor();
    return { page, sent };
  };
  const patches = (sent: Sent[]) => sent.filter((s) => s.method === 'PATCH');

  /** Types into the picker and waits for the option named `name`. */
  const search = async (page: Page, input: Locator, typed: string, name: string) => {
    await input.focus();
    await page.keyboard.type(typed);
    const listbox = page.locator(`#${await input.getAttribute('aria-controls')}`);
    await listbox.getByRole('option', { name: new RegExp(`^${name}`) }).waitFor();
    return listbox;
  };

  t.test('the groups list: member counts, search; a new group created and opened', async (t) => {
    const { page, sent } = await open();
    await page.getByRole('link', { name: 'Groups' }).click();
    await page.getByRole('heading', { level: 1, name: 'Groups' }).waitFor();
    const rows = page.locator('table.groups-table tbody tr');
    await page.waitForFunction("document.querySelectorAll('table.groups-table td[aria-busy]').length === 0");
    t.same(
      (await rows.allTextContents()).map((s) => s.replace(/\s+/g, ' ').trim()),
      ['Apollo Program1 person', 'Engineering3 people', 'Research0 people'],
      'the groups by name, with their member counts',
    );
    t.match(await text(page.locator('#groups-summary')), /^3 groups; showing 1–3\.$/);
    // (The directory, drawn on signing in, read /Users too.)
    const counts = sent.filter((s) => s.url.pathname === '/scim/v2/Users' && /^groups\.value eq "/.test(s.url.searchParams.get('filter') ?? ''));
    t.same(
      counts.map((s) => s.url.searchParams.get('filter')).sort(),
      [ids.apollo, ids.engineering, ids.research].map((id) => `groups.value eq "${id}"`).sort(),
      'one count per group',
    );
    t.ok(
      counts.every((s) => s.url.searchParams.get('count') === '0'),
      'each with count=0: no member is read',
    );
    const list = sent.find((s) => s.url.pathname === '/scim/v2/Groups')!;
    t.equal(list.url.searchParams.get('attributes'), 'displayName,externalId', 'the list never asks for members');
    t.equal(list.url.searchParams.get('cursor'), '', 'cursor paging');
    await audit(t, page, 'groups list');
    await shoot(page, 'groups');

    await page.getByLabel('Search groups').fill('neer');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.locator('#groups-summary', { hasText: 'matches' }).waitFor();
    t.equal(await text(page.locator('#groups-summary')), '1 group matches “neer”; showing 1–1.');
    t.match(page.url(), /#\/groups\?q=neer$/, 'the search is in the address');
    t.equal(sent.filter((s) => s.url.pathname === '/scim/v2/Groups').pop()!.url.searchParams.get('filter'), 'displayName co "neer"');

    // A name already taken is refused at the field.
    await page.getByLabel('Name', { exact: true }).fill('Engineering');
    await page.getByRole('button', { name: 'Create group' }).click();
    const nameField = page.getByLabel('Name', { exact: true });
    await page.locator('.new-group-section .field-error:not([hidden])').waitFor();
    t.equal(await nameField.getAttribute('aria-invalid'), 'true', 'the name is marked');
    t.match(await text(page.locator('.new-group-section .field-error')), /Not created: .*(already|unique|exists)/i);
    t.equal(await page.evaluate("document.activeElement.getAttribute('name')"), 'displayName', 'focus on the field');

    await nameField.fill('Platform Team');
    await page.getByLabel('External id (optional)').fill('hr-platform');
    await page.getByRole('button', { name: 'Create group' }).click();
    await page.getByRole('heading', { level: 1, name: 'Group: Platform Team' }).waitFor();
    const created = sent.filter((s) => s.method === 'POST' && s.status === 201);
    t.equal(created.length, 1, 'one POST /Groups');
    t.same(created[0]!.body, { schemas: [GROUP], displayName: 'Platform Team', externalId: 'hr-platform' });
    ids.platform = decodeURIComponent(page.url().split('#/groups/')[1]!);
    t.equal(h.json(await group$(ids.platform)).externalId, 'hr-platform', 'stored');
    await page.locator('#members-summary', { hasText: 'No members.' }).waitFor();
    t.match(await text(page.locator('.group-head')), /External id: hr-platform · version 1/);
    await page.close();
  });

  t.test('three people added through the picker with the keyboard alone, in one PATCH with If-Match', async (t) => {
    const { page, sent } = await open();
    await page.goto(`${base}/ui#/groups/${ids.platform}`);
    await page.locator('#members-summary', { hasText: 'No members.' }).waitFor();
    t.equal(await page.evaluate('document.activeElement.id'), 'page-title', 'focus on the heading');
    let reached = false;
    for (let i = 0; i < 10 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = (await page.evaluate("document.activeElement.getAttribute('role')")) === 'combobox';
    }
    t.ok(reached, 'tabbing reaches the picker');
    const input = page.getByRole('combobox', { name: 'Add people' });
    t.equal(await page.evaluate('document.activeElement.id'), await input.getAttribute('id'));
    t.equal(await input.getAttribute('aria-expanded'), 'false');

    // "ad" finds Ada and Adele (userName sw) and Ada Lovelace… ; ArrowDown twice, ArrowUp once: the first.
    await page.keyboard.type('ad');
    const listbox = page.locator(`#${await input.getAttribute('aria-controls')}`);
    await listbox.getByRole('option').first().waitFor();
    t.equal(await listbox.getAttribute('role'), 'listbox');
    t.equal(await input.getAttribute('aria-expanded'), 'true', 'the list is open');
    t.same(
      (await listbox.getByRole('option').allTextContents()).map((s) => s.replace(/\s+/g, ' ').trim()),
      ['Ada Lovelaceada · ada@example.org', 'Adele Goldbergadele'],
      'name, user name and email of each match',
    );
    t.match(await text(page.locator('.picker-status')), /2 people match\. Use the arrow keys and Enter to choose\./);
    const users = sent.filter((s) => s.url.pathname === '/scim/v2/Users' && (s.url.searchParams.get('filter') ?? '').startsWith('userName sw'));
    t.equal(users.length, 1, 'one search for the two letters typed (debounced)');
    t.equal(users[0]!.url.searchParams.get('filter'), 'userName sw "ad" or displayName co "ad"');
    t.equal(await input.getAttribute('aria-activedescendant'), null, 'nothing highlighted yet');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    const second = await input.getAttribute('aria-activedescendant');
    t.equal(await page.locator(`#${second}`).getAttribute('aria-selected'), 'true');
    t.match(await text(page.locator(`#${second}`)), /^Adele Goldberg/, 'ArrowDown moves to the second');
    await page.keyboard.press('ArrowUp');
    t.match(await text(page.locator(`#${await input.getAttribute('aria-activedescendant')}`)), /^Ada Lovelace/, 'ArrowUp back to the first');
    await audit(t, page, 'member picker, open');
    await shoot(page, 'member-picker');
    await page.keyboard.press('Enter');
    t.equal(await input.inputValue(), '', 'picked: the field is cleared');
    t.equal(await input.getAttribute('aria-expanded'), 'false', 'and the list closed');
    t.equal(await page.evaluate("document.activeElement.getAttribute('role')"), 'combobox', 'focus stays in the field');

    // Escape closes the list, a second Escape clears the text.
    await page.keyboard.type('Turing');
    await listbox.getByRole('option', { name: /^Alan Turing/ }).waitFor();
    await page.keyboard.press('Escape');
    t.equal(await input.getAttribute('aria-expanded'), 'false', 'Escape closes the list');
    t.equal(await input.inputValue(), 'Turing', 'and keeps the text');
    await page.keyboard.press('ArrowDown');
    t.equal(await input.getAttribute('aria-expanded'), 'true', 'ArrowDown opens it again');
    await page.keyboard.press('Enter');
    await search(page, input, 'ken', 'Ken Thompson');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    // Picked twice: listed, marked, not picked again.
    await search(page, input, 'Turing', 'Alan Turing');
    t.equal(await listbox.getByRole('option').first().getAttribute('aria-disabled'), 'true', 'someone already picked is marked');
    t.match(await text(listbox.getByRole('option').first()), /already picked/);
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    t.match(await text(page.locator('.picker-status')), /Alan Turing cannot be chosen: already picked\./);
    await page.keyboard.press('Escape');
    await page.keyboard.press('Escape');
    t.same(
      (await page.locator('ul.staged li > span').allTextContents()).map((s) => s.trim()),
      ['Ada Lovelace (ada)', 'Alan Turing (alan)', 'Ken Thompson (ken)'],
      'three people picked',
    );
    t.equal(patches(sent).length, 0, 'nothing sent yet');
    t.ok(await tabTo(page, 'Add 3 people to Platform Team', 10), 'tabbing reaches the Add button');
    await page.keyboard.press('Enter');
    await page.locator('#members-summary', { hasText: '3 members' }).waitFor();
    const [patch] = patches(sent);
    t.equal(patches(sent).length, 1, 'one PATCH');
    t.equal(patch!.ifMatch, 'W/"1"', 'with If-Match');
    t.equal(patch!.url.searchParams.get('excludedAttributes'), 'members', 'asking the group back without its members');
    t.same(patch!.body, { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: ids.ada }, { value: ids.alan }, { value: ids.ken }] }] });
    t.same(await memberIds(ids.platform!), [ids.ada, ids.alan, ids.ken].sort(), 'stored');
    t.same(await page.locator('ul.members a').allTextContents(), ['Ada Lovelace', 'Alan Turing', 'Ken Thompson'], 'the members, by name');
    t.match(await text(page.locator('.group-head')), /version 2/, 'the new version is kept');
    t.equal(await page.locator('ul.staged li').count(), 0, 'nothing left picked');
    // Someone already a member is marked in the picker.
    await search(page, input, 'ken', 'Ken Thompson');
    t.match(await text(listbox.getByRole('option').first()), /already a member/);
    await page.keyboard.press('Escape');
    await page.keyboard.press('Escape');
    await audit(t, page, 'group');
    await shoot(page, 'group');
    await page.close();
  });

  t.test('a member removed, then the group renamed: each one PATCH with the last ETag', async (t) => {
    const { page, sent } = await open();
    await page.goto(`${base}/ui#/groups/${ids.platform}`);
    await page.locator('#members-summary', { hasText: '3 members' }).waitFor();
    await page.getByRole('button', { name: 'Remove Ken Thompson from Platform Team' }).click();
    await page.locator('#members-summary', { hasText: '2 members' }).waitFor();
    t.same(await page.locator('ul.members a').allTextContents(), ['Ada Lovelace', 'Alan Turing']);
    t.equal(await focused(page), 'Remove Alan Turing from Platform Team', "the last one removed: focus on the previous one's Remove");
    const [remove] = patches(sent);
    t.equal(remove!.ifMatch, 'W/"2"');
    t.same(remove!.body, { schemas: [PATCH_OP], Operations: [{ op: 'remove', path: `members[value eq "${ids.ken}"]` }] });
    t.same(await memberIds(ids.platform!), [ids.ada, ids.alan].sort());

    await page.getByRole('button', { name: 'Rename' }).click();
    const field = page.getByLabel('New name');
    t.equal(await field.inputValue(), 'Platform Team');
    await field.fill('Platform Guild');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Group: Platform Guild' }).waitFor();
    const rename = patches(sent)[1]!;
    t.equal(rename.ifMatch, 'W/"3"', 'the ETag the removal answered with');
    t.same(rename.body, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'displayName', value: 'Platform Guild' }] });
    t.equal(h.json(await group$(ids.platform!)).displayName, 'Platform Guild');
    t.equal(await page.evaluate('document.activeElement.id'), 'rename-group', 'focus back on Rename');
    t.equal(await page.title(), 'Platform Guild · Group · Directory administration');
    t.equal(await page.getByRole('button', { name: 'Remove Alan Turing from Platform Guild' }).count(), 1, 'the Remove buttons name the new name');
    // A name already taken: shown at the field.
    await page.getByRole('button', { name: 'Rename' }).click();
    await field.fill('Engineering');
    await page.getByRole('button', { name: 'Save name' }).click();
    await page.locator('.rename .field-error:not([hidden])').waitFor();
    t.match(await text(page.locator('.rename .field-error')), /Not renamed: /);
    t.equal(await field.getAttribute('aria-invalid'), 'true');
    await audit(t, page, 'rename form');
    await page.keyboard.press('Escape');
    t.equal(await page.evaluate('document.activeElement.id'), 'rename-group', 'Escape closes the form');
    await page.close();
  });

  t.test('a change made elsewhere after the page read the group: 412 shown, nothing overwritten', async (t) => {
    const { page, sent } = await open();
    await page.goto(`${base}/ui#/groups/${ids.platform}`);
    await page.locator('#members-summary', { hasText: '2 members' }).waitFor();
    // Someone else adds Grace and renames the group meanwhile.
    const other = await h.req({
      method: 'PATCH',
      url: `/scim/v2/Groups/${ids.platform}`,
      payload: { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: ids.grace }] }, { op: 'replace', path: 'displayName', value: 'Platform Crew' }] },
      roles: ['userAdmin'],
      client: 'helpdesk',
    });
    t.equal(other.statusCode, 204, 'changed through the API');
    const before = await memberIds(ids.platform!);

    await page.getByRole('button', { name: 'Remove Alan Turing from Platform Guild' }).click();
    const conflict = page.locator('.conflict-slot .conflict');
    await conflict.locator('p', { hasText: 'now holds version' }).waitFor();
    t.same(patches(sent).map((p) => p.status), [412], 'the removal was refused');
    t.match(await text(conflict.locator('h2')), /^Alan Turing was not removed: this group was changed by someone else$/);
    t.match(
      await text(conflict),
      /This page shows version 4; the directory now holds version 5, changed by scim-client, client helpdesk \(User administrator\), named “Platform Crew”\. Nothing was changed\./,
    );
    t.equal(await page.evaluate('document.activeElement.tagName'), 'H2', 'focus on the conflict');
    t.same(await memberIds(ids.platform!), before, 'nothing removed');
    t.same(await page.locator('ul.members a').allTextContents(), ['Ada Lovelace', 'Alan Turing'], 'the list is as it was');

    // Adding is refused too (the page still holds version 4): never retried by itself.
    const input = page.getByRole('combobox', { name: 'Add people' });
    await search(page, input, 'Dennis', 'Dennis Ritchie');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Add 1 person to Platform Guild' }).click();
    await conflict.locator('h2', { hasText: 'Dennis Ritchie was not added' }).waitFor();
    t.same(patches(sent).map((p) => [p.status, p.ifMatch]), [[412, 'W/"4"'], [412, 'W/"4"']], 'each refused, once');
    t.same(await memberIds(ids.platform!), before, 'nothing added');
    t.equal(h.json(await group$(ids.platform!)).displayName, 'Platform Crew', 'the other change stands');
    await audit(t, page, 'group conflict');

    // Reloading shows the other change; the person picked is kept, and added on purpose.
    await conflict.getByRole('button', { name: 'Reload the group' }).click();
    await page.getByRole('heading', { level: 1, name: 'Group: Platform Crew' }).waitFor();
    await page.locator('#members-summary', { hasText: '3 members' }).waitFor();
    t.same(await page.locator('ul.members a').allTextContents(), ['Ada Lovelace', 'Alan Turing', 'Grace Hopper']);
    t.equal(await page.locator('.conflict').count(), 0);
    await page.getByRole('button', { name: 'Add 1 person to Platform Crew' }).click();
    await page.locator('#members-summary', { hasText: '4 members' }).waitFor();
    t.same(patches(sent).map((p) => [p.status, p.ifMatch]).pop(), [200, 'W/"5"'], 'added over the version now shown');
    t.same(await memberIds(ids.platform!), [ids.ada, ids.alan, ids.grace, ids.dennis].sort());
    await page.close();
  });

  t.test("a user's groups changed from the profile: one PATCH of the group with If-Match each", async (t) => {
    const { page, sent } = await open();
    await page.goto(`${base}/ui#/users/${ids.margaret}`);
    const section = page.locator('#section-groups');
    await section.locator('.summary', { hasText: 'A member of' }).waitFor();
    t.equal(await text(section.locator('h2')), 'Groups');
    t.same((await section.locator('ul.user-groups a').allTextContents()).sort(), ['Apollo Program', 'Engineering'], 'her groups');
    const input = section.getByRole('combobox', { name: 'Add to a group' });
    await search(page, input, 'Plat', 'Platform Crew');
    t.equal(sent.filter((s) => s.url.pathname === '/scim/v2/Groups').pop()!.url.searchParams.get('filter'), 'displayName co "Plat"');
    await audit(t, page, 'profile groups, picker open');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await section.locator('ul.user-groups a', { hasText: 'Platform Crew' }).waitFor();
    t.ok((await memberIds(ids.platform!)).includes(ids.margaret!), 'added to the group');
    const [add] = patches(sent);
    t.equal(add!.url.pathname, `/scim/v2/Groups/${ids.platform}`, 'a PATCH of the group');
    t.equal(add!.ifMatch, 'W/"6"', "with the group's ETag, read just before");
    const etagRead = sent.filter((s) => s.method === 'GET' && s.url.pathname === `/scim/v2/Groups/${ids.platform}`).pop()!;
    t.equal(etagRead.url.searchParams.get('attributes'), 'id', 'the ETag read without members');
    t.same(add!.body, { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: ids.margaret }] }] });

    await section.getByRole('button', { name: 'Remove from Apollo Program' }).click();
    await section.locator('ul.user-groups a', { hasText: 'Apollo Program' }).waitFor({ state: 'detached' });
    t.same(await memberIds(ids.apollo!), [], 'removed from the group');
    const remove = patches(sent)[1]!;
    t.same(remove.body, { schemas: [PATCH_OP], Operations: [{ op: 'remove', path: `members[value eq "${ids.margaret}"]` }] });
    t.equal(remove.ifMatch, 'W/"1"');
    t.match(await text(section.locator('.summary')), /A member of 2 groups\./);
    await audit(t, page, 'profile groups');
    await page.close();
  });

  t.test('deleting a group: a confirmation naming it and its members; the people stay', async (t) => {
    const { page, sent } = await open();
    await page.goto(`${base}/ui#/groups/${ids.platform}`);
    await page.locator('#members-summary', { hasText: '5 members' }).waitFor();
    await page.getByRole('button', { name: 'Delete group…' }).click();
    const confirm = page.locator('.group-head .confirm');
    await confirm.locator('p', { hasText: 'It has' }).waitFor();
    t.equal(
      await text(confirm.locator('p')),
      'Delete the group “Platform Crew”? It has 5 people as members. The people themselves are not deleted: they only stop being members of this group. This cannot be undone.',
    );
    await audit(t, page, 'delete confirmation');
    await page.keyboard.press('Escape');
    t.equal(await confirm.count(), 0, 'Escape keeps the group');
    t.equal(await page.evaluate('document.activeElement.id'), 'delete-group');
    await page.keyboard.press('Enter');
    await confirm.locator('p', { hasText: 'It has' }).waitFor();
    t.equal(await focused(page), 'Delete Platform Crew', 'focus on the confirmation once the members are counted');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Groups' }).waitFor();
    const del = sent.find((s) => s.method === 'DELETE')!;
    t.equal(del.ifMatch, 'W/"7"', 'DELETE with If-Match');
    t.equal((await group$(ids.platform!)).statusCode, 404, 'the group is gone');
    for (const who of ['ada', 'alan', 'grace', 'dennis', 'margaret']) {
      t.equal((await h.req({ method: 'GET', url: `/scim/v2/Users/${ids[who]}`, ...admin })).statusCode, 200, `${who} is still there`);
    }
    await page.close();
  });

  t.test('the groups list paged by cursor, the page in the address', async (t) => {
    for (let i = 1; i <= 23; i++) await group(`Team ${String(i).padStart(2, '0')}`, i === 21 ? [ids.ada!, ids.ken!] : []);
    const { page, sent } = await open();
    await page.goto(`${base}/ui#/groups?q=Team`);
    await page.locator('#groups-summary', { hasText: '23 groups match “Team”; showing 1–20.' }).waitFor();
    t.equal(await page.locator('table.groups-table tbody tr').count(), 20);
    await page.getByRole('link', { name: 'Next page →' }).click();
    await page.locator('#groups-summary', { hasText: 'showing 21–23' }).waitFor();
    t.match(page.url(), /#\/groups\?q=Team&cursor=[^&]+&page=2$/, 'the cursor and page in the address');
    t.same((await page.locator('.pager > *').allTextContents()).map((s) => s.trim()), ['← Previous page', 'Page 2 of 2', 'Next page →']);
    t.equal(await page.locator('.pager a[rel="next"]').count(), 0, 'no next page after the last');
    const row = page.locator('table.groups-table tbody tr', { hasText: 'Team 21' });
    await row.locator('td[data-label="Members"]:not([aria-busy])').waitFor();
    t.equal(await text(row.locator('td[data-label="Members"]')), '2 people');
    t.equal(await page.evaluate('document.activeElement.id'), 'groups-summary', 'focus on the results');
    const lists = sent.filter((s) => s.url.pathname === '/scim/v2/Groups');
    t.same(
      lists.map((s) => [s.url.searchParams.get('count'), s.url.searchParams.get('sortBy')]),
      [
        ['20', 'displayName'],
        ['20', 'displayName'],
      ],
      'every page asks for the same count, sorted by name',
    );
    await page.getByRole('link', { name: '← Previous page' }).click();
    await page.locator('#groups-summary', { hasText: 'showing 1–20' }).waitFor();
    t.equal(await text(page.locator('table.groups-table tbody tr td[data-label="Name"]').first()), 'Team 01', 'back to the first page');
    await audit(t, page, 'groups list, paged');
    await page.close();
  });

  t.test(`a group of ${BIG.toLocaleString('en-US')} members: paged, never read whole`, async (t) => {
    const seeding = Date.now();
    const big = await group('Everyone', []);
    for (let i = 0; i < BIG; i += 1000) {
      const Operations = Array.from({ length: Math.min(1000, BIG - i) }, (_, j) => {
        const n = String(i + j).padStart(6, '0');
        return { method: 'POST', bulkId: `u${n}`, path: '/Users', data: user(`member${n}`, { displayName: `Member ${n}` }) };
      });
      const res = await h.req({ method: 'POST', url: '/scim/v2/Bulk', payload: { schemas: [BULK], Operations }, ...admin });
      if (res.statusCode !== 200) throw new Error(`seed: ${res.statusCode} ${res.body.slice(0, 300)}`);
      const created = (h.json(res).Operations as { location: string }[]).map((o) => ({ value: o.location.split('/').pop()! }));
      const add = await h.req({ method: 'PATCH', url: `/scim/v2/Groups/${big}?attributes=id`, payload: { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: created }] }, ...admin });
      if (add.statusCode !== 200) throw new Error(`seed: ${add.statusCode} ${add.body.slice(0, 300)}`);
    }
    t.comment(`seeded ${BIG.toLocaleString('en-US')} users in one group in ${Date.now() - seeding} ms`);

    const { page, sent } = await open();
    let started = Date.now();
    await page.goto(`${base}/ui#/groups?q=Every`);
    const row = page.locator('table.groups-table tbody tr', { hasText: 'Everyone' });
    await row.locator('td[data-label="Members"]:not([aria-busy])').waitFor();
    t.equal(await text(row.locator('td[data-label="Members"]')), `${BIG.toLocaleString('en-US')} people`, 'the count');
    t.comment(`groups list with its member count drawn in ${Date.now() - started} ms`);
    started = Date.now();
    await row.getByRole('link', { name: 'Everyone' }).click();
    await page.locator('#members-summary', { hasText: `${BIG.toLocaleString('en-US')} members; showing 50.` }).waitFor();
    t.comment(`the group's first page of members drawn in ${Date.now() - started} ms`);
    t.equal(await page.locator('ul.members > li').count(), 50, 'one page');
    started = Date.now();
    await page.getByRole('button', { name: /^Show 50 more/ }).click();
    await page.locator('#members-summary', { hasText: 'showing 100.' }).waitFor();
    t.comment(`the next page in ${Date.now() - started} ms`);
    t.same((await page.locator('ul.members a').allTextContents()).slice(48, 52), ['Member 000048', 'Member 000049', 'Member 000050', 'Member 000051'], 'in order');
    t.equal(await page.evaluate('document.activeElement.textContent'), 'Member 000050', 'focus on the first one added');
    await page.getByRole('button', { name: 'Remove Member 000003 from Everyone' }).click();
    await page.locator('#members-summary', { hasText: `${(BIG - 1).toLocaleString('en-US')} members; showing 99.` }).waitFor();
    t.equal(await focused(page), 'Remove Member 000004 from Everyone', "focus on the next person's Remove");
    const removal = patches(sent)[0]!;
    t.equal(removal.status, 200);
    t.ok(removal.size! < 2000, `the PATCH's answer is the group without its members (${removal.size} bytes)`);
    t.equal(h.json(await h.req({ method: 'GET', url: `/scim/v2/Users?filter=${encodeURIComponent(`groups.value eq "${big}"`)}&count=0`, ...admin })).totalResults, BIG - 1);

    // No request read the member list whole: the group is read without members, users a page at a time.
    const reads = sent.filter((s) => s.url.pathname.startsWith('/scim/v2/Groups'));
    t.ok(
      reads.every((s) => s.url.searchParams.get('excludedAttributes') === 'members' || (s.url.searchParams.get('attributes') ?? '').split(',').every((a) => a !== '' && a !== 'members')),
      'every request of a group leaves its members out',
    );
    const users = sent.filter((s) => s.url.pathname === '/scim/v2/Users');
    t.ok(users.length > 0 && users.every((s) => Number(s.url.searchParams.get('count')) <= 50), 'users are read 50 at most at a time');
    const largest = Math.max(...sent.map((s) => s.size ?? 0));
    t.ok(largest < 100_000, `no answer is large: the largest is ${largest.toLocaleString('en-US')} bytes`);
    t.comment(`${sent.length} API requests, the largest answer ${largest} bytes`);
    await audit(t, page, 'large group');
    await page.close();
  });

  t.test('a read-only token: the groups and members are shown, nothing offers a change', async (t) => {
    const readOnly = await mintToken(h.config.jwt, { scope: 'scim:read', ttlSeconds: 600, clientId: 'viewer' });
    const page = await watchedPage(context, problems);
    await page.goto(`${base}/ui`);
    await page.getByLabel('Bearer token').fill(readOnly);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('#whoami-text').waitFor();
    await page.goto(`${base}/ui#/groups`);
    await page.locator('#groups-summary', { hasText: 'groups' }).waitFor();
    t.equal(await page.getByRole('heading', { name: 'New group' }).count(), 0, 'no New group form');
    await page.goto(`${base}/ui#/groups/${ids.engineering}`);
    await page.locator('#members-summary', { hasText: '3 members' }).waitFor();
    t.match(await text(page.locator('.group-head .lock')), /Read-only Your token may not change groups/);
    t.equal(await page.getByRole('button').filter({ hasText: /Rename|Delete|Remove/ }).count(), 0, 'no Rename, Delete or Remove');
    t.equal(await page.getByRole('combobox').count(), 0, 'no picker');
    await audit(t, page, 'group, read-only');
    await page.goto(`${base}/ui#/users/${ids.ken}`);
    await page.locator('#section-groups .summary', { hasText: 'A member of' }).waitFor();
    t.equal(await page.locator('#section-groups button').count(), 0, 'the profile lists the groups without changing them');
    await page.close();
  });

  t.test('no console error, CSP violation or uncaught exception', async (t) => {
    t.same(problems, []);
  });
}
