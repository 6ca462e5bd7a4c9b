/** A group a user belongs to: its name and its members, read a page at a time (a group may have 100,000). */
import { type JsonObject, literal } from '../api';
import { fill, focusHeading, h } from '../dom';
import { errorBox, title, type ViewContext } from './common';
import { pagedUsers } from './org';

export async function groupView(ctx: ViewContext, id: string): Promise<void> {
  ctx.main.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
  let group: JsonObject;
  try {
    // Members are read as Users (filter on their `groups`), paged, rather than as the group's own list.
    ({ body: group } = await ctx.session.api.get(`/Groups/${encodeURIComponent(id)}`, { excludedAttributes: 'members' }));
  } catch (e) {
    if (!ctx.live()) return;
    ctx.main.replaceChildren(h('h1', { id: 'page-title', tabindex: -1 }, 'Group'), errorBox(e));
    focusHeading(document.getElementById('page-title'));
    return;
  }
  if (!ctx.live()) return;
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
