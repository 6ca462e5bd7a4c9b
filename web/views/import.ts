/** Importing people from a file (an HR system's CSV export) through /Bulk, with a progress bar. */
import { h } from '../dom';
import { title, type ViewContext } from './common';

export async function importView(ctx: ViewContext): Promise<void> {
  title('Import people');
  ctx.main.replaceChildren(h('h1', { id: 'page-title', tabindex: -1 }, 'Import people from a file'));
}
