/**
 * The groups: found by name, a page at a time, with their member counts; a group created here.
 *
 * - Paging is by cursor (RFC 9865), sorted by name, as the directory pages users: the search, cursor and page number
 *   are in the page's address, so Back from a group returns to the same page.
 * - A group's member count is `GET /Users?filter=groups.value eq "<id>"&count=0`: the server answers with
 *   totalResults and no resources, so a group of 100,000 costs one small answer, never its member list. Counts are
 *   read after the page is drawn, a few at a time, and filled in as they come.
 * - "New group" is one POST /Groups (name, and optionally an external id); the page then opens the new group.
 */
import { ApiError, type JsonObject, type ListResponse, literal } from '../api';
import { announce, fill, focusHeading, h, uid } from '../dom';
import { groupLink } from '../display';
import { count, cursorPager, errorBox, errorText, hashRoute, searchForm, title, type ViewContext } from './common';
import { mayWriteGroups, memberCount, people } from './group';

const PAGE_SIZE = 20;
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
/** Member counts read at once: enough to fill a page quickly, few enough not to crowd out other requests. */
const COUNTS_AT_ONCE = 4;

/** The SCIM filter behind the search box. */
export function groupSearchFilter(text: string): string | undefined {
  const q = text.trim();
  return q === '' ? undefined : `displayName co ${literal(q)}`;
}

function route(params: Record<string, string | undefined>): string {
  return hashRoute('/groups', params);
}

export async function groupsView(ctx: ViewContext): Promise<void> {
  const q = ctx.query.get('q') ?? '';
  const cursor = ctx.query.get('cursor') ?? '';
  const page = Math.max(1, Number(ctx.query.get('page')) || 1);
  title(q ? `Search “${q}”` : '', 'Groups');

  const form = searchForm({
    id: 'group-search',
    label: 'Search groups',
    hint: 'Matches any part of the group’s name.',
    value: q,
    search: (text) => (location.hash = route({ q: text })),
  });
  const summary = h('p', { id: 'groups-summary', class: 'summary', tabindex: -1 }, 'Loading…');
  const results = h('div', { class: 'results' });
  fill(ctx.main, h('h1', { id: 'page-title', tabindex: -1 }, 'Groups'), mayWriteGroups(ctx) ? newGroupSection(ctx) : null, form, summary, results);
  if (ctx.query.has('q') || cursor !== '') focusHeading(summary);
  else focusHeading(document.getElementById('page-title'));

  let body: ListResponse;
  try {
    ({ body } = await ctx.session.api.get<ListResponse>('/Groups', {
      filter: groupSearchFilter(q),
      sortBy: 'displayName',
      cursor,
      count: PAGE_SIZE,
      // The group's own fields: never its members (a group may have 100,000).
      attributes: 'displayName,externalId',
    }));
  } catch (e) {
    if (!ctx.live()) return;
    summary.textContent = '';
    const expired = cursor !== '' && e instanceof ApiError && e.scimType === 'invalidCursor';
    results.replaceChildren(errorBox(e, expired ? h('p', null, h('a', { href: route({ q }) }, 'Start again from the first page')) : null));
    return;
  }
  if (!ctx.live()) return;
  const groups = body.Resources ?? [];
  const total = body.totalResults ?? groups.length;
  const first = (page - 1) * PAGE_SIZE + 1;
  summary.textContent =
    total === 0
      ? q
        ? `No group matches “${q}”.`
        : 'There are no groups yet.'
      : `${q ? `${count(total)} ${total === 1 ? 'group matches' : 'groups match'} “${q}”` : `${count(total)} ${total === 1 ? 'group' : 'groups'}`}; showing ${count(first)}–${count(first + groups.length - 1)}.`;
  if (groups.length === 0) {
    results.replaceChildren();
    return;
  }
  const counts = new Map<string, HTMLElement>();
  const row = (g: JsonObject) => {
    const id = String(g.id);
    const cell = h('td', { 'data-label': 'Members', class: 'number', 'aria-busy': 'true' }, h('span', { class: 'muted' }, 'Counting…'));
    counts.set(id, cell);
    return h(
      'tr',
      null,
      h('td', { 'data-label': 'Name' }, groupLink(id, typeof g.displayName === 'string' && g.displayName !== '' ? g.displayName : id)),
      h('td', { 'data-label': 'External id' }, typeof g.externalId === 'string' ? g.externalId : ''),
      cell,
    );
  };
  const table = h(
    'table',
    { class: 'groups-table' },
    h('caption', { class: 'visually-hidden' }, `Groups, page ${page}, sorted by name`),
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'External id'), h('th', { scope: 'col', class: 'number' }, 'Members'))),
    h('tbody', null, groups.map(row)),
  );
  const href = (c: string | undefined, n: number) => route({ q, cursor: c, page: n > 1 ? String(n) : undefined });
  const pager = cursorPager({ page, total, pageSize: PAGE_SIZE, cursors: body, href });
  results.replaceChildren(table, pager);
  await fillCounts(ctx, counts);
}

/** Each group's member count, COUNTS_AT_ONCE requests at a time, written into its cell as it arrives. */
async function fillCounts(ctx: ViewContext, cells: Map<string, HTMLElement>): Promise<void> {
  const queue = [...cells.entries()];
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const [id, cell] = next;
      if (!ctx.live()) return;
      let text: string;
      try {
        text = people(await memberCount(ctx, id));
      } catch (e) {
        text = `not counted (${errorText(e)})`;
      }
      if (!ctx.live()) return;
      cell.textContent = text;
      cell.removeAttribute('aria-busy');
    }
  };
  await Promise.all(Array.from({ length: COUNTS_AT_ONCE }, worker));
}

/** "New group": a name and an optional external id, one POST; then the new group's page. */
function newGroupSection(ctx: ViewContext): HTMLElement {
  const nameId = uid('new-group-name');
  const externalId = uid('new-group-external');
  const nameError = h('p', { id: uid('err'), class: 'field-error', hidden: true });
  const alert = h('div', { class: 'alert error', role: 'alert', hidden: true });
  const name = h('input', { id: nameId, type: 'text', name: 'displayName', required: true, autocomplete: 'off' });
  const external = h('input', { id: externalId, type: 'text', name: 'externalId', autocomplete: 'off', 'aria-describedby': `${externalId}-hint` });
  const create = h('button', { type: 'submit' }, 'Create group');
  const markName = (text: string) => {
    nameError.textContent = text;
    nameError.hidden = false;
    name.setAttribute('aria-invalid', 'true');
    name.setAttribute('aria-describedby', nameError.id);
    name.focus();
  };
  const clear = () => {
    nameError.hidden = true;
    name.removeAttribute('aria-invalid');
    name.removeAttribute('aria-describedby');
    alert.hidden = true;
    alert.replaceChildren();
  };
  const form = h(
    'form',
    {
      class: 'new-group',
      novalidate: true,
      'aria-labelledby': 'new-group-h',
      onsubmit: async (e: Event) => {
        e.preventDefault();
        clear();
        const displayName = name.value.trim();
        if (displayName === '') return markName('A group needs a name.');
        const body: JsonObject = { schemas: [GROUP], displayName };
        if (external.value.trim() !== '') body.externalId = external.value.trim();
        create.disabled = true;
        form.setAttribute('aria-busy', 'true');
        try {
          const r = await ctx.session.api.request('POST', '/Groups', { body, query: { attributes: 'displayName' } });
          announce(`Created the group ${displayName}.`);
          if (ctx.live()) location.hash = `#/groups/${encodeURIComponent(String(r.body.id))}`;
        } catch (err) {
          if (!ctx.live()) return;
          create.disabled = false;
          form.removeAttribute('aria-busy');
          // A name already taken (409 uniqueness) or refused is about the name; anything else, the whole form.
          if (err instanceof ApiError && (err.scimType === 'uniqueness' || /displayName/i.test(err.detail))) return markName(`Not created: ${errorText(err)}`);
          alert.replaceChildren(h('p', null, `Not created: ${errorText(err)}`));
          alert.hidden = false;
          create.focus();
        }
      },
    },
    alert,
    h('div', { class: 'field' }, h('label', { for: nameId }, 'Name'), name, nameError),
    h(
      'div',
      { class: 'field' },
      h('label', { for: externalId }, 'External id (optional)'),
      external,
      h('small', { id: `${externalId}-hint`, class: 'hint' }, 'The group’s id in the system it comes from, if any.'),
    ),
    h('div', { class: 'actions' }, create),
  );
  return h('section', { class: 'section new-group-section', 'aria-labelledby': 'new-group-h' }, h('h2', { id: 'new-group-h' }, 'New group'), form);
}
