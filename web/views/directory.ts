/**
 * The directory: users found by name, user name, email or department, a page at a time. Paging is by cursor
 * (RFC 9865: `cursor`, `count`; the answer's `nextCursor` and `previousCursor`), which stays correct while users
 * are added or removed, where index paging would skip or repeat people. The search, sort and cursor are in the
 * page's address (never the token), so Back from a profile returns to the same page of results.
 */
import { ENTERPRISE, type JsonObject, type ListResponse, literal } from '../api';
import { focusHeading, h } from '../dom';
import { avatar, isObject, nameOf, statusBadge, userLink } from '../display';
import { count, cursorPager, errorBox, hashRoute, searchForm, title, type ViewContext } from './common';

const PAGE_SIZE = 20;
const DEPARTMENT = `${ENTERPRISE}:department`;

interface Column {
  label: string;
  /** The attribute the column sorts by, when it is sortable. */
  sortBy?: string;
  cell(user: JsonObject): Node | string;
}

const COLUMNS: Column[] = [
  { label: 'Name', sortBy: 'displayName', cell: (u) => h('span', { class: 'person' }, avatar(u, 'small'), userLink(String(u.id), nameOf(u))) },
  { label: 'User name', sortBy: 'userName', cell: (u) => String(u.userName ?? '') },
  { label: 'Email', cell: (u) => primaryEmail(u) },
  { label: 'Department', sortBy: DEPARTMENT, cell: (u) => String((isObject(u[ENTERPRISE]) && u[ENTERPRISE].department) || '') },
  { label: 'Title', sortBy: 'title', cell: (u) => String(u.title ?? '') },
  { label: 'Status', cell: (u) => statusBadge(u) },
];

function primaryEmail(u: JsonObject): string {
  const emails = (Array.isArray(u.emails) ? u.emails : []).filter(isObject);
  const e = emails.find((x) => x.primary === true) ?? emails[0];
  return typeof e?.value === 'string' ? e.value : '';
}

/** The SCIM filter behind the search box: any of the fields people search by contains the text. */
export function searchFilter(text: string): string | undefined {
  const q = text.trim();
  if (q === '') return undefined;
  const v = literal(q);
  return `displayName co ${v} or name.formatted co ${v} or userName co ${v} or emails.value co ${v} or ${DEPARTMENT} co ${v}`;
}

function route(params: Record<string, string | undefined>): string {
  return hashRoute('/users', params);
}

export async function directoryView(ctx: ViewContext): Promise<void> {
  const q = ctx.query.get('q') ?? '';
  const sortBy = ctx.query.get('sortBy') ?? 'displayName';
  const sortOrder = ctx.query.get('sortOrder') === 'descending' ? 'descending' : 'ascending';
  const cursor = ctx.query.get('cursor') ?? '';
  const page = Math.max(1, Number(ctx.query.get('page')) || 1);
  title(q ? `Search “${q}”` : '', 'Directory');

  const form = searchForm({
    id: 'search',
    label: 'Search users',
    hint: 'Matches name, user name, email or department.',
    value: q,
    search: (text) => (location.hash = route({ q: text, sortBy, sortOrder })),
  });
  const summary = h('p', { id: 'results-summary', class: 'summary', tabindex: -1 }, 'Loading…');
  const results = h('div', { class: 'results' });
  ctx.main.replaceChildren(h('h1', { id: 'page-title', tabindex: -1 }, 'Directory'), form, summary, results);
  // After a search or a page turn, the results are what the person wants next; on arrival, the page's heading.
  if (ctx.query.has('q') || cursor !== '') focusHeading(summary);
  else focusHeading(document.getElementById('page-title'));

  let body: ListResponse;
  try {
    const attributes = ['displayName', 'name', 'userName', 'emails', 'title', 'active', 'photos', DEPARTMENT].join(',');
    ({ body } = await ctx.session.api.get<ListResponse>('/Users', { filter: searchFilter(q), sortBy, sortOrder, cursor, count: PAGE_SIZE, attributes }));
  } catch (e) {
    if (!ctx.live()) return;
    summary.textContent = '';
    // A cursor expires (an hour): start again from the first page rather than strand the person.
    const expired = cursor !== '' && (e as { scimType?: string }).scimType === 'invalidCursor';
    results.replaceChildren(errorBox(e, expired ? h('p', null, h('a', { href: route({ q, sortBy, sortOrder }) }, 'Start again from the first page')) : null));
    return;
  }
  if (!ctx.live()) return;
  const users = body.Resources ?? [];
  const total = body.totalResults ?? users.length;
  const first = (page - 1) * PAGE_SIZE + 1;
  summary.textContent =
    total === 0
      ? q
        ? `No user matches “${q}”.`
        : 'The directory has no users yet.'
      : `${q ? `${count(total)} users match “${q}”` : `${count(total)} users`}; showing ${count(first)}–${count(first + users.length - 1)}.`;
  if (users.length === 0) {
    results.replaceChildren();
    return;
  }
  const header = (c: Column) => {
    if (!c.sortBy) return h('th', { scope: 'col' }, c.label);
    const sorted = c.sortBy === sortBy;
    const next = sorted && sortOrder === 'ascending' ? 'descending' : 'ascending';
    return h(
      'th',
      { scope: 'col', 'aria-sort': sorted ? sortOrder : undefined },
      h(
        'a',
        { href: route({ q, sortBy: c.sortBy, sortOrder: next }), class: 'sort', title: `Sort by ${c.label.toLowerCase()}, ${next}` },
        c.label,
        h('span', { 'aria-hidden': 'true' }, sorted ? (sortOrder === 'ascending' ? ' ▲' : ' ▼') : ''),
      ),
    );
  };
  const table = h(
    'table',
    { class: 'users' },
    h('caption', { class: 'visually-hidden' }, `Users, page ${page}, sorted by ${COLUMNS.find((c) => c.sortBy === sortBy)?.label ?? sortBy}, ${sortOrder}`),
    h('thead', null, h('tr', null, COLUMNS.map(header))),
    h(
      'tbody',
      null,
      users.map((u) => h('tr', { class: u.active === false ? 'blocked' : undefined }, COLUMNS.map((c) => h('td', { 'data-label': c.label }, c.cell(u))))),
    ),
  );
  const href = (c: string | undefined, n: number) => route({ q, sortBy, sortOrder, cursor: c, page: n > 1 ? String(n) : undefined });
  const pager = cursorPager({ page, total, pageSize: PAGE_SIZE, cursors: body, href });
  results.replaceChildren(table, pager);
  // For measuring (test/web/profile-page.test.ts): when the first results are on screen.
  performance.mark('directory-drawn');
}
