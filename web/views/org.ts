/**
 * The org chart around one user, built from `manager` links (the enterprise extension): the chain of managers up
 * to the top, and the direct reports below, each expandable to their own reports on demand. Reports are found by
 * filter (`…:manager.value eq "<id>"`) and read a page at a time by cursor, so a manager with thousands of reports
 * costs one page until more is asked for. Then the groups the user belongs to (its readOnly `groups`).
 */
import { ENTERPRISE, type JsonObject, type ListResponse, literal, MANAGER } from '../api';
import { announce, focusHeading, h, uid } from '../dom';
import { avatar, groupLink, isObject, nameOf, statusBadge, userLink } from '../display';
import { count, errorBox, loadView, title, userHeader, type ViewContext } from './common';

const PAGE = 50;
/** Further than any real organisation; a guard should the data ever hold a loop. */
const MAX_CHAIN = 64;
const PERSON_ATTRIBUTES = ['displayName', 'name', 'userName', 'title', 'active', 'photos', MANAGER, `${ENTERPRISE}:department`].join(',');

function managerId(user: JsonObject): string | undefined {
  const ext = user[ENTERPRISE];
  const m = isObject(ext) && isObject(ext.manager) ? ext.manager.value : undefined;
  return typeof m === 'string' && m !== '' ? m : undefined;
}

function person(user: JsonObject, link: boolean): HTMLElement {
  const name = nameOf(user);
  return h(
    'span',
    { class: 'person' },
    avatar(user, 'small'),
    h(
      'span',
      null,
      link ? userLink(String(user.id), name, '/org') : h('strong', null, name),
      typeof user.title === 'string' ? h('span', { class: 'muted' }, ` · ${user.title}`) : null,
      user.active === false ? [' ', statusBadge(user)] : null,
    ),
  );
}

export async function orgView(ctx: ViewContext, id: string): Promise<void> {
  const api = ctx.session.api;
  const loaded = await loadView(ctx, 'Org chart', () => api.get(`/Users/${encodeURIComponent(id)}`, { attributes: `${PERSON_ATTRIBUTES},groups,meta` }));
  if (!loaded) return;
  const { body: user, etag } = loaded;
  title(nameOf(user), 'Org chart');
  const chain = h('ol', { class: 'chain', 'aria-busy': 'true' }, h('li', { class: 'muted' }, 'Loading the managers…'));
  ctx.main.replaceChildren(
    userHeader(ctx, user, etag, 'org'),
    h('section', { class: 'section', 'aria-labelledby': 'chain-h' }, h('h2', { id: 'chain-h' }, 'Management chain'), chain),
    h(
      'section',
      { class: 'section', 'aria-labelledby': 'reports-h' },
      h('h2', { id: 'reports-h' }, 'Direct reports'),
      pagedUsers(ctx, `${MANAGER}.value eq ${literal(id)}`, { noun: ['direct report', 'direct reports'], expandable: true }),
    ),
    h('section', { class: 'section', 'aria-labelledby': 'groups-h' }, h('h2', { id: 'groups-h' }, 'Groups'), groupList(user)),
  );
  focusHeading(document.getElementById('page-title'));

  // Up the chain, one manager at a time (each is one read; chains are short).
  const managers: JsonObject[] = [];
  const seen = new Set([id]);
  let next = managerId(user);
  let problem: unknown;
  while (next && !seen.has(next) && managers.length < MAX_CHAIN) {
    seen.add(next);
    try {
      const { body } = await api.get(`/Users/${encodeURIComponent(next)}`, { attributes: PERSON_ATTRIBUTES });
      managers.unshift(body);
      next = managerId(body);
    } catch (e) {
      problem = e;
      break;
    }
  }
  if (!ctx.live()) return;
  chain.removeAttribute('aria-busy');
  chain.replaceChildren(
    ...managers.map((m) => h('li', null, person(m, true))),
    h('li', { 'aria-current': 'true' }, person(user, false), managers.length === 0 ? h('span', { class: 'muted' }, ' — no manager: the top of the chain') : null),
  );
  if (problem) chain.before(errorBox(problem));
}

function groupList(user: JsonObject): HTMLElement {
  const groups = (Array.isArray(user.groups) ? user.groups : []).filter(isObject).filter((g) => typeof g.value === 'string');
  if (groups.length === 0) return h('p', { class: 'muted' }, 'Not a member of any group.');
  return h(
    'ul',
    { class: 'groups' },
    groups.map((g) =>
      h(
        'li',
        null,
        groupLink(String(g.value), typeof g.display === 'string' ? g.display : String(g.value)),
        typeof g.type === 'string' ? h('span', { class: 'muted' }, ` (${g.type === 'indirect' ? 'through a nested group' : g.type})`) : null,
      ),
    ),
  );
}

export interface PagedOptions {
  /** Singular and plural of what is listed, for the counts. */
  noun: [string, string];
  /** Each person can be expanded to their own direct reports. */
  expandable?: boolean;
}

/** Users matching `filter`, a page at a time by cursor, with a button to read the next page. */
export function pagedUsers(ctx: ViewContext, filter: string, opts: PagedOptions): HTMLElement {
  const list = h('ul', { class: 'people' });
  const status = h('p', { class: 'summary' }, 'Loading…');
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Show more');
  const box = h('div', { class: 'paged' }, status, list, more);
  let cursor = '';
  let shown = 0;
  const load = async (focusNew: boolean) => {
    more.disabled = true;
    box.setAttribute('aria-busy', 'true');
    try {
      const { body } = await ctx.session.api.get<ListResponse>('/Users', { filter, cursor, count: PAGE, sortBy: 'displayName', attributes: PERSON_ATTRIBUTES });
      if (!ctx.live()) return;
      const users = body.Resources ?? [];
      const total = body.totalResults ?? shown + users.length;
      const items = users.map((u) => personItem(ctx, u, opts.expandable === true));
      list.append(...items);
      shown += users.length;
      const [one, many] = opts.noun;
      status.textContent = total === 0 ? `No ${many}.` : `${count(total)} ${total === 1 ? one : many}${shown < total ? `; showing ${count(shown)}` : ''}.`;
      cursor = body.nextCursor ?? '';
      more.hidden = body.nextCursor === undefined;
      more.textContent = `Show ${count(Math.min(PAGE, total - shown))} more (${count(shown)} of ${count(total)} shown)`;
      more.disabled = false;
      if (focusNew) {
        // Keyboard users carry on from the first person just added.
        items[0]?.querySelector('a')?.focus();
        announce(`${count(users.length)} more ${many} shown; ${count(shown)} of ${count(total)}.`);
      }
    } catch (e) {
      if (!ctx.live()) return;
      status.replaceChildren(errorBox(e));
      more.disabled = false;
    } finally {
      box.removeAttribute('aria-busy');
    }
  };
  more.addEventListener('click', () => void load(true));
  void load(false);
  return box;
}

/** One person in a list; with `expandable`, a button that shows their direct reports beneath (read on first use). */
function personItem(ctx: ViewContext, user: JsonObject, expandable: boolean): HTMLElement {
  const li = h('li', null, person(user, true));
  if (!expandable) return li;
  const id = String(user.id);
  const region = uid('reports');
  let loaded: HTMLElement | undefined;
  // A disclosure: the name stays, aria-expanded says whether the reports are shown (the arrow only draws it).
  const arrow = h('span', { 'aria-hidden': 'true' }, '▸ ');
  const toggle = h(
    'button',
    { type: 'button', class: 'link-button expander', 'aria-expanded': 'false', 'aria-controls': region },
    arrow,
    `Direct reports of ${nameOf(user)}`,
  );
  const holder = h('div', { id: region, class: 'nested', hidden: true });
  toggle.addEventListener('click', () => {
    const open = toggle.getAttribute('aria-expanded') !== 'true';
    toggle.setAttribute('aria-expanded', String(open));
    arrow.textContent = open ? '▾ ' : '▸ ';
    holder.hidden = !open;
    if (open && !loaded) {
      loaded = pagedUsers(ctx, `${MANAGER}.value eq ${literal(id)}`, { noun: ['direct report', 'direct reports'], expandable: true });
      holder.append(loaded);
    }
  });
  li.append(' ', toggle, holder);
  return li;
}
