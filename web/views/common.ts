/** What the views share: how they are called, the heading of a user's pages, errors in words. */
import { ApiError, type JsonObject, versionOf } from '../api';
import { focusHeading, h, type Child } from '../dom';
import { avatar, nameOf, statusBadge, when } from '../display';
import { roleName, type Session } from '../session';

export interface ViewContext {
  session: Session;
  main: HTMLElement;
  /** The route's query (after `?` in the hash). */
  query: URLSearchParams;
  /** False once the page has moved on: an answer that arrives later is dropped, not drawn over the next view. */
  live(): boolean;
}

export type UserTab = 'profile' | 'org' | 'history';

/**
 * The first read of a view: "Loading…" meanwhile; on failure the view's heading and the error, focused. Undefined
 * when it failed, or when the page has moved on meanwhile (nothing is drawn over the next view).
 */
export async function loadView<T>(ctx: ViewContext, heading: string, load: () => Promise<T>): Promise<T | undefined> {
  ctx.main.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
  try {
    const out = await load();
    return ctx.live() ? out : undefined;
  } catch (e) {
    if (!ctx.live()) return undefined;
    ctx.main.replaceChildren(h('h1', { id: 'page-title', tabindex: -1 }, heading), errorBox(e));
    focusHeading(document.getElementById('page-title'));
    return undefined;
  }
}

/** The top of a user's pages: photo, name, status, version, and the links between profile, org chart and history. */
export function userHeader(ctx: ViewContext, user: JsonObject, etag: string | undefined, tab: UserTab): HTMLElement {
  const id = String(user.id);
  const base = `#/users/${encodeURIComponent(id)}`;
  const tabs: [UserTab, string, string][] = [
    ['profile', 'Profile', base],
    ['org', 'Org chart and groups', `${base}/org`],
  ];
  // The audit trail is for administrators only (the API answers 403 to anyone else).
  if (ctx.session.administrator) tabs.push(['history', 'History', `${base}/history`]);
  const meta = user.meta as JsonObject | undefined;
  return h(
    'div',
    { class: 'user-head' },
    h('nav', { 'aria-label': 'Breadcrumb', class: 'crumbs' }, h('a', { href: '#/users' }, 'Directory'), ' › ', nameOf(user)),
    h(
      'div',
      { class: 'identity' },
      avatar(user, 'large'),
      h(
        'div',
        null,
        h('h1', { id: 'page-title', tabindex: -1 }, nameOf(user)),
        h(
          'p',
          { class: 'subtitle' },
          typeof user.userName === 'string' ? h('span', null, user.userName) : null,
          ' ',
          statusBadge(user),
          etag ? h('span', { class: 'muted' }, ` · version ${versionOf(etag) ?? etag}`) : null,
          meta?.lastModified ? h('span', { class: 'muted' }, ' · changed ', when(meta.lastModified)) : null,
        ),
      ),
    ),
    h(
      'nav',
      { class: 'tabs', 'aria-label': 'User pages' },
      h(
        'ul',
        null,
        tabs.map(([t, label, href]) => h('li', null, h('a', { href, 'aria-current': t === tab ? 'page' : undefined }, label))),
      ),
    ),
  );
}

/** An error in words, for a whole view. */
export function errorText(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.status === 0) return `The server could not be reached (${e.detail}).`;
    if (e.status === 403) return `Not allowed: ${e.detail}`;
    if (e.status === 404) return `Not found: ${e.detail}`;
    return `${e.detail} (HTTP ${e.status}${e.scimType ? `, ${e.scimType}` : ''})`;
  }
  return e instanceof Error ? e.message : String(e);
}

export function errorBox(e: unknown, ...more: Child[]): HTMLElement {
  return h('div', { class: 'alert error', role: 'alert' }, h('p', null, errorText(e)), more);
}

/** A view's page title (the tab's, for history and screen readers). */
export function title(...parts: string[]): void {
  document.title = [...parts, 'Directory administration'].filter(Boolean).join(' · ');
}

/** Numbers as people write them (1,000). */
export function count(n: number): string {
  return n.toLocaleString();
}

/** Who made a change, as the audit trail names them (subject, client, roles), in words. */
export function actorName(actor: JsonObject): string {
  if (actor.system === true) return 'the server';
  const parts = [typeof actor.subject === 'string' ? actor.subject : undefined, typeof actor.clientId === 'string' ? `client ${actor.clientId}` : undefined];
  const roles = Array.isArray(actor.roles) ? actor.roles.filter((r): r is string => typeof r === 'string').map(roleName) : [];
  return [parts.filter(Boolean).join(', ') || 'an unnamed caller', roles.length ? `(${roles.join(', ')})` : ''].filter(Boolean).join(' ');
}

/** A view's address in the hash, with its query (search, sort, cursor, page); empty values left out. */
export function hashRoute(path: string, params: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, v);
  const s = q.toString();
  return `#${path}${s ? `?${s}` : ''}`;
}

export interface SearchFormOptions {
  /** The input's id (its hint's is `<id>-hint`). */
  id: string;
  label: string;
  hint: string;
  value: string;
  /** Called with the trimmed text on submit (a navigation: the search is in the address). */
  search(text: string): void;
}

/** A list's search box: a labelled, hinted search field and its button, as a `role=search` form. */
export function searchForm(o: SearchFormOptions): HTMLFormElement {
  const input = h('input', { id: o.id, type: 'search', name: 'q', autocomplete: 'off', 'aria-describedby': `${o.id}-hint` });
  input.value = o.value;
  return h(
    'form',
    {
      role: 'search',
      class: 'search',
      onsubmit: (e: Event) => {
        e.preventDefault();
        o.search(input.value.trim());
      },
    },
    h('div', { class: 'field grow' }, h('label', { for: o.id }, o.label), input, h('small', { id: `${o.id}-hint`, class: 'hint' }, o.hint)),
    h('button', { type: 'submit' }, 'Search'),
  );
}

export interface PagerOptions {
  page: number;
  total: number;
  pageSize: number;
  /** The ListResponse's cursors. */
  cursors: { previousCursor?: string; nextCursor?: string };
  /** The address of the page read from `cursor` (undefined: the first page), numbered `page`. */
  href(cursor: string | undefined, page: number): string;
}

/** Previous and next by cursor (RFC 9865), with "Page n of m". */
export function cursorPager(o: PagerOptions): HTMLElement {
  const { previousCursor, nextCursor } = o.cursors;
  return h(
    'nav',
    { class: 'pager', 'aria-label': 'Result pages' },
    o.page > 1
      ? // Without a previousCursor (a page reached some other way) the way back is the first page.
        h('a', { href: previousCursor ? o.href(previousCursor, o.page - 1) : o.href(undefined, 1), rel: 'prev' }, '← Previous page')
      : h('span', { class: 'muted' }, '← Previous page'),
    h('span', null, `Page ${o.page} of ${count(Math.max(1, Math.ceil(o.total / o.pageSize)))}`),
    nextCursor !== undefined ? h('a', { href: o.href(nextCursor, o.page + 1), rel: 'next' }, 'Next page →') : h('span', { class: 'muted' }, 'Next page →'),
  );
}
