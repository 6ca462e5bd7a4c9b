/**
 * A user's history: the audit trail's entries for it (GET /AuditEvents, administrators only), newest first, a page
 * at a time: who wrote, when, how, and each attribute's value before and after (masked ones only said to change).
 */
import { ApiError, type Json, type JsonObject } from '../api';
import { announce, focusHeading, h } from '../dom';
import { compact, isObject, nameOf, when } from '../display';
import { labelOfKey } from '../schema';
import { actorName, count, errorBox, loadView, title, userHeader, type ViewContext } from './common';

const PAGE = 25;

const OPERATIONS: Record<string, string> = {
  create: 'Created',
  replace: 'Replaced (PUT)',
  patch: 'Changed (PATCH)',
  delete: 'Deleted',
  release: 'Section released',
  repair: 'Repaired by the server',
};

export async function historyView(ctx: ViewContext, id: string): Promise<void> {
  const api = ctx.session.api;
  const loaded = await loadView(ctx, 'History', () => api.get(`/Users/${encodeURIComponent(id)}`, { attributes: 'displayName,name,userName,active,photos,meta' }));
  if (!loaded) return;
  const { body: user, etag } = loaded;
  title(nameOf(user), 'History');
  const status = h('p', { class: 'summary' }, 'Loading…');
  const body = h('tbody');
  const table = h(
    'table',
    { class: 'history', hidden: true },
    h('caption', { class: 'visually-hidden' }, `Changes to ${nameOf(user)}, newest first`),
    h('thead', null, h('tr', null, ['When', 'Who', 'What', 'Changes'].map((t) => h('th', { scope: 'col' }, t)))),
    body,
  );
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Show older changes');
  ctx.main.replaceChildren(
    userHeader(ctx, user, etag, 'history'),
    h('section', { class: 'section', 'aria-labelledby': 'history-h' }, h('h2', { id: 'history-h' }, 'History'), status, table, more),
  );
  focusHeading(document.getElementById('page-title'));

  let cursor: string | undefined;
  let shown = 0;
  const load = async (focusNew: boolean) => {
    more.disabled = true;
    try {
      const { body: page } = await api.get<{ Resources?: JsonObject[]; nextCursor?: string }>('/AuditEvents', {
        resourceId: id,
        sortOrder: 'descending',
        count: PAGE,
        cursor,
      });
      if (!ctx.live()) return;
      const rows = (page.Resources ?? []).map(entryRow);
      body.append(...rows);
      shown += rows.length;
      table.hidden = shown === 0;
      status.textContent = shown === 0 ? 'No changes recorded.' : `${count(shown)} ${shown === 1 ? 'change' : 'changes'} shown, newest first${page.nextCursor ? '; older ones follow' : ''}.`;
      cursor = page.nextCursor;
      more.hidden = cursor === undefined;
      more.disabled = false;
      if (focusNew && rows[0]) {
        focusHeading(rows[0].querySelector('th'));
        announce(`${rows.length} older changes shown.`);
      }
    } catch (e) {
      if (!ctx.live()) return;
      const denied = e instanceof ApiError && e.status === 403;
      status.replaceChildren(denied ? h('p', { class: 'lock' }, 'The history is readable by administrators only (a token with the globalAdmin or userAdmin role).') : errorBox(e));
      more.disabled = false;
    }
  };
  more.addEventListener('click', () => void load(true));
  await load(false);
}

function entryRow(entry: JsonObject): HTMLTableRowElement {
  const changes = (Array.isArray(entry.changes) ? entry.changes : []).filter(isObject);
  const versions =
    typeof entry.versionBefore === 'number' || typeof entry.versionAfter === 'number'
      ? h('span', { class: 'muted' }, ` · version ${entry.versionBefore ?? '—'} → ${entry.versionAfter ?? '—'}`)
      : null;
  return h(
    'tr',
    null,
    h('th', { scope: 'row' }, when(entry.at)),
    h('td', null, isObject(entry.actor) ? actorName(entry.actor) : ''),
    h('td', null, OPERATIONS[String(entry.operation)] ?? String(entry.operation), versions),
    h('td', null, changes.length === 0 ? h('span', { class: 'muted' }, 'No attribute changed') : h('ul', { class: 'changes' }, changes.map(changeItem))),
  );
}

function changeItem(c: JsonObject): HTMLElement {
  const label = labelOfKey(String(c.attribute ?? ''));
  if (c.masked === true) return h('li', null, h('strong', null, label), ': changed (value not recorded)');
  const counts = (['added', 'removed', 'replaced'] as const).filter((k) => typeof c[k] === 'number').map((k) => `${String(c[k])} ${k}`);
  if (counts.length > 0) return h('li', null, h('strong', null, label), `: ${counts.join(', ')}`);
  const before = c.before as Json | undefined;
  const after = c.after as Json | undefined;
  return h(
    'li',
    null,
    h('strong', null, label),
    ': ',
    // Read aloud as "from … to …"; the strike-through and arrow are for the eye.
    h('span', { class: 'visually-hidden' }, 'from '),
    before === undefined ? h('span', { class: 'muted' }, 'not set') : h('del', null, compact(before)),
    h('span', { 'aria-hidden': 'true' }, ' → '),
    h('span', { class: 'visually-hidden' }, ' to '),
    after === undefined ? h('span', { class: 'muted' }, 'removed') : h('ins', null, compact(after)),
  );
}
