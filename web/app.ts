/**
 * The administrator's profile page: entry point. Signs in (views/signin.ts), shows who is signed in and
 * what they may change, and routes the address's hash to a view:
 *   #/users[?q=&sortBy=&sortOrder=&cursor=&page=]  the directory
 *   #/users/new                                   a new user
 *   #/users/<id>                                  a profile
 *   #/users/<id>/org                              org chart and groups
 *   #/users/<id>/history                          audit trail
 *   #/groups[?q=&cursor=&page=]                   the groups
 *   #/groups/<id>                                 a group and its members
 *   #/import                                      people imported from a file
 * Hash routes keep the page one static file for the server (no route per view), and Back/Forward work.
 */
import type { ApiError } from './api';
import { focusHeading, h } from './dom';
import { forgetToken, openSession, roleName, type Session, storedToken, storeToken } from './session';
import { sectionName } from './schema';
import type { ViewContext } from './views/common';
import { directoryView } from './views/directory';
import { groupView } from './views/group';
import { groupsView } from './views/groups';
import { historyView } from './views/history';
import { importView } from './views/import';
import { newUserView } from './views/new-user';
import { orgView } from './views/org';
import { profileView } from './views/profile';
import { signInView } from './views/signin';

const main = document.getElementById('main') as HTMLElement;
const whoami = document.getElementById('whoami') as HTMLElement;
const siteNav = document.getElementById('site-nav') as HTMLElement;
let session: Session | undefined;
/** Bumped on every navigation: a view whose generation is past drops what it receives. */
let generation = 0;

function route(): void {
  const mine = ++generation;
  if (!session) return;
  const hash = location.hash.replace(/^#/, '') || '/users';
  const [path = '', search = ''] = hash.split('?', 2);
  const ctx: ViewContext = { session, main, query: new URLSearchParams(search), live: () => mine === generation };
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const fail = (e: unknown) => main.replaceChildren(h('p', { class: 'alert error', role: 'alert' }, e instanceof Error ? e.message : String(e)));
  markNav(parts[0] === 'groups' ? 'groups' : parts[0] === 'import' ? 'import' : parts[0] === 'users' && parts[1] === 'new' ? 'new' : 'users');
  if (parts[0] === 'users' && parts[1] === 'new' && !parts[2]) {
    newUserView(ctx).catch(fail);
  } else if (parts[0] === 'users' && parts[1]) {
    const view = parts[2] === 'org' ? orgView : parts[2] === 'history' ? historyView : profileView;
    view(ctx, parts[1]).catch(fail);
  } else if (parts[0] === 'groups' && parts[1]) {
    groupView(ctx, parts[1]).catch(fail);
  } else if (parts[0] === 'groups') {
    groupsView(ctx).catch(fail);
  } else if (parts[0] === 'import') {
    importView(ctx).catch(fail);
  } else {
    directoryView(ctx).catch(fail);
  }
}

type NavItem = 'users' | 'groups' | 'new' | 'import';

/**
 * The page's main navigation, once signed in. "New user" and "Import people" are offered to a token that may write
 * users at all (the server still decides each request: an HR feed's token may update job info but not create).
 */
function showNav(s: Session): void {
  const writes = s.grants === 'all' || s.grants.length > 0;
  const items: [NavItem, string, string][] = [
    ['users', 'Directory', '#/users'],
    ['groups', 'Groups', '#/groups'],
    ...(writes ? ([['new', 'New user', '#/users/new'], ['import', 'Import people', '#/import']] as [NavItem, string, string][]) : []),
  ];
  siteNav.replaceChildren(h('ul', null, items.map(([key, label, href]) => h('li', null, h('a', { href, 'data-nav': key }, label)))));
  siteNav.hidden = false;
}

function markNav(current: NavItem): void {
  for (const a of siteNav.querySelectorAll<HTMLAnchorElement>('a[data-nav]')) {
    if (a.dataset.nav === current) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

/** The header line: who is signed in, with which roles, and what they may change. */
function showWhoami(s: Session): void {
  const who = [s.claims.subject, s.claims.clientId ? `client ${s.claims.clientId}` : undefined].filter(Boolean).join(', ') || 'an unnamed caller';
  const roles = s.roles.length > 0 ? s.roles.map(roleName).join(', ') : 'no administrator role';
  const writable = s.sections.filter((x) => x.writable).map((x) => sectionName(x.name));
  const mayWrite = s.grants === 'all' ? 'every section' : writable.length > 0 ? writable.join(', ') : 'nothing (read-only)';
  whoami.replaceChildren(
    h(
      'p',
      { id: 'whoami-text' },
      'Signed in as ',
      h('strong', null, who),
      ` · ${roles} · may change: ${mayWrite}`,
      s.authoritativeFor.length > 0 ? ` · source of authority for: ${s.authoritativeFor.map(sectionName).join(', ')}` : '',
      s.claims.expires ? ` · token valid until ${new Date(s.claims.expires * 1000).toLocaleTimeString()}` : '',
    ),
    h('button', { type: 'button', class: 'secondary', onclick: () => signOut() }, 'Sign out'),
  );
}

function signedIn(s: Session): void {
  session = s;
  storeToken(s.token);
  showWhoami(s);
  showNav(s);
  route();
}

function signOut(notice?: string): void {
  forgetToken();
  session = undefined;
  generation++;
  whoami.replaceChildren();
  siteNav.replaceChildren();
  siteNav.hidden = true;
  signInView(main, signedIn, unauthorized, notice);
}

/** A 401 mid-session: the token expired or was revoked. The address is kept, so signing in again returns here. */
function unauthorized(e: ApiError): void {
  if (session) signOut(`Signed out: the server no longer accepts the token (${e.detail}). Sign in again to continue.`);
}

async function start(): Promise<void> {
  // The skip link moves focus without touching the hash, which is the router's.
  document.getElementById('skip')?.addEventListener('click', (e) => {
    e.preventDefault();
    focusHeading(document.getElementById('page-title') ?? main);
  });
  window.addEventListener('hashchange', route);
  const token = storedToken();
  if (!token) return signInView(main, signedIn, unauthorized);
  try {
    signedIn(await openSession(token, unauthorized));
  } catch (e) {
    signOut(`Sign in again: ${(e as Error).message}`);
  }
}

void start();
