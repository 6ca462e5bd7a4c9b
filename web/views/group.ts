/** A group a user belongs to: its name and its members, read a page at a time (a group may have 100,000). */
import { type JsonObject, literal } from '../api';
import { fill, focusHeading, h } from '../dom';
import { loadView, title, type ViewContext } from './common';
import { pagedUsers } from './org';

export async function groupView(ctx: ViewContext, id: string): Promise<void> {
  // Members are read as Users (filter on their `groups`), paged, rather than as the group's own list.
  const loaded = await loadView(ctx, 'Group', () => ctx.session.api.get(`/Groups/${encodeURIComponent(id)}`, { excludedAttributes: 'members' }));
  if (!loaded) return;
  const group: JsonObject = loaded.body;
  const name = typeof group.displayName === 'string' ? group.displayName : id;
  title(name, 'Group');
  fill(
    ctx.main,
    h('nav', { 'aria-label': 'Breadcrumb', class: 'crumbs' }, h('a', { href: '#/users' }, 'Directory'), ' › ', `Group ${name}`),
    h('h1', { id: 'page-title', tabindex: -1 }, `Group: ${name}`),
    typeof group.externalId === 'string' ? h('p', { class: 'muted' }, `External id: ${group.externalId}`) : null,
    h(
      'section',
      { class: 'section', 'aria-labelledby': 'members-h' },
      h('h2', { id: 'members-h' }, 'Members'),
      pagedUsers(ctx, `groups.value eq ${literal(id)}`, { noun: ['member', 'members'] }),
    ),
  );
  focusHeading(document.getElementById('page-title'));
}
