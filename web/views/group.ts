/**
 * A group: its name, renamed or deleted here, and its members, added through a search-as-you-type picker and
 * removed one at a time.
 *
 * - A group may have 100,000 members, so the page never reads them whole: the group itself is read without them
 *   (`excludedAttributes=members`, for its name and ETag), the members are read as Users filtered by
 *   `groups.value eq "<id>"`, a page at a time by cursor, and every change asks for the group back without its
 *   members. Their number comes from the same filter with `count=0`.
 * - Every change is one PATCH (or the DELETE) with If-Match: the ETag of the version this page read. A 412 means
 *   someone else changed the group since: the page says so, with the version now held, and offers to reload; it
 *   never re-sends the change by itself. People picked to add are kept across the reload, to be added again on
 *   purpose.
 * - Errors other than a conflict are shown at the control they are about, with the server's words.
 */
import { ApiError, type JsonObject, type ListResponse, literal, PATCH_OP, versionOf } from '../api';
import { announce, focusHeading, h, uid } from '../dom';
import { avatar, isObject, nameOf, statusBadge, userLink } from '../display';
import { type Pick, picker } from '../picker';
import { actorName, count, errorText, loadView, title, type ViewContext } from './common';

const PAGE = 50;
const PERSON_ATTRIBUTES = 'displayName,name,userName,emails,active,photos';

/** A group's members (people, directly or through nested groups) as the filter the page reads them by. */
export function membersFilter(groupId: string): string {
  return `groups.value eq ${literal(groupId)}`;
}

/** How many people a group has, without reading them: `count=0` answers with totalResults alone. */
export async function memberCount(ctx: ViewContext, groupId: string): Promise<number> {
  const { body } = await ctx.session.api.get<ListResponse>('/Users', { filter: membersFilter(groupId), count: 0 });
  return body.totalResults ?? 0;
}

/** Whether the token may write groups at all (the scope scim:write); the server still decides each request. */
export function mayWriteGroups(ctx: ViewContext): boolean {
  return ctx.session.grants === 'all';
}

export function people(n: number): string {
  return `${count(n)} ${n === 1 ? 'person' : 'people'}`;
}

export async function groupView(ctx: ViewContext, id: string): Promise<void> {
  const page = new GroupPage(ctx, id);
  const loaded = await loadView(ctx, 'Group', () => page.load());
  if (loaded === undefined) return;
  page.render();
  focusHeading(document.getElementById('page-title'));
}

class GroupPage {
  private group: JsonObject = {};
  private etag: string | undefined;
  /** People picked to add, not yet sent. */
  private readonly staged = new Map<string, Pick>();
  private readonly path: string;
  private readonly writable: boolean;
  private readonly head = h('div', { class: 'group-head' });
  /** Where a conflict (412) is shown: above everything it is about. */
  private readonly conflictBox = h('div', { class: 'conflict-slot' });
  private readonly addBox = h('div', { class: 'add-members' });
  private readonly membersBox = h('div');
  private members: MemberList | undefined;
  /** Redraws the people picked to add (their Add button names the group). */
  private drawStaged: (() => void) | undefined;

  constructor(
    private readonly ctx: ViewContext,
    private readonly id: string,
  ) {
    this.path = `/Groups/${encodeURIComponent(id)}`;
    this.writable = mayWriteGroups(ctx);
  }

  private get name(): string {
    return typeof this.group.displayName === 'string' && this.group.displayName !== '' ? this.group.displayName : this.id;
  }

  async load(): Promise<true> {
    const r = await this.ctx.session.api.get(this.path, { excludedAttributes: 'members' });
    this.group = r.body;
    this.etag = r.etag;
    return true;
  }

  render(): void {
    title(this.name, 'Group');
    this.renderHead();
    this.renderAdd();
    this.members = new MemberList(this.ctx, this.id, () => this.name, this.writable ? (user, li) => this.remove(user, li) : undefined);
    this.membersBox.replaceChildren(this.members.element);
    this.ctx.main.replaceChildren(
      this.head,
      this.conflictBox,
      h('section', { class: 'section', 'aria-labelledby': 'members-h' }, h('h2', { id: 'members-h' }, 'Members'), this.addBox, this.membersBox),
    );
  }

  private renderHead(focus?: 'rename' | 'delete'): void {
    const actions = this.writable
      ? h(
          'div',
          { class: 'actions' },
          h('button', { type: 'button', class: 'secondary', id: 'rename-group', onclick: () => this.renameForm() }, 'Rename'),
          h('button', { type: 'button', class: 'secondary danger', id: 'delete-group', onclick: () => void this.deleteConfirm() }, 'Delete group…'),
        )
      : h('p', { class: 'lock' }, h('span', { class: 'badge read-only' }, 'Read-only'), ' Your token may not change groups (that needs the scope scim:write).');
    this.head.replaceChildren(
      h('nav', { 'aria-label': 'Breadcrumb', class: 'crumbs' }, h('a', { href: '#/groups' }, 'Groups'), ' › ', this.name),
      h('h1', { id: 'page-title', tabindex: -1 }, `Group: ${this.name}`),
      h(
        'p',
        { class: 'subtitle muted' },
        typeof this.group.externalId === 'string' ? `External id: ${this.group.externalId} · ` : '',
        `version ${versionOf(this.etag) ?? '?'}`,
      ),
      actions,
      h('div', { class: 'head-form' }),
    );
    if (focus === 'rename') document.getElementById('rename-group')?.focus();
    if (focus === 'delete') document.getElementById('delete-group')?.focus();
  }

  private headForm(): HTMLElement {
    return this.head.querySelector<HTMLElement>('.head-form')!;
  }

  /** Keeps the version a change answered with (its ETag), and the group's fields the answer carries. */
  private adopt(r: { body: JsonObject; etag?: string }): void {
    if (r.etag) this.etag = r.etag;
    if (r.body && typeof r.body.displayName === 'string') this.group = { ...this.group, ...r.body };
  }

  // ---- rename ----

  private renameForm(): void {
    const fieldId = uid('group-name');
    const errId = uid('err');
    const input = h('input', { id: fieldId, type: 'text', name: 'displayName', required: true, autocomplete: 'off' });
    input.value = this.name;
    const error = h('p', { id: errId, class: 'field-error', hidden: true });
    const save = h('button', { type: 'submit' }, 'Save name');
    const cancel = h('button', { type: 'button', class: 'secondary', onclick: () => this.closeHeadForm('rename') }, 'Cancel');
    const form: HTMLFormElement = h(
      'form',
      {
        class: 'edit rename',
        novalidate: true,
        'aria-label': `Rename the group ${this.name}`,
        onsubmit: (e: Event) => {
          e.preventDefault();
          void this.rename(input, error, [save, cancel], form);
        },
        onkeydown: (e: Event) => {
          if ((e as KeyboardEvent).key === 'Escape') {
            e.preventDefault();
            this.closeHeadForm('rename');
          }
        },
      },
      h('div', { class: 'field' }, h('label', { for: fieldId }, 'New name'), input, error),
      h('div', { class: 'actions' }, save, cancel),
    );
    this.headForm().replaceChildren(form);
    input.focus();
    input.select();
  }

  private closeHeadForm(focus: 'rename' | 'delete'): void {
    this.headForm().replaceChildren();
    document.getElementById(focus === 'rename' ? 'rename-group' : 'delete-group')?.focus();
  }

  private async rename(input: HTMLInputElement, error: HTMLElement, buttons: HTMLButtonElement[], form: HTMLFormElement): Promise<void> {
    const value = input.value.trim();
    const fail = (text: string) => {
      error.textContent = text;
      error.hidden = false;
      input.setAttribute('aria-invalid', 'true');
      input.setAttribute('aria-describedby', error.id);
      input.focus();
    };
    if (value === '') return fail('A group needs a name.');
    if (value === this.name) return this.closeHeadForm('rename');
    buttons.forEach((b) => (b.disabled = true));
    form.setAttribute('aria-busy', 'true');
    try {
      const r = await this.ctx.session.api.request('PATCH', this.path, {
        // Only the group's own fields come back, not its 100,000 members.
        query: { excludedAttributes: 'members' },
        body: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'displayName', value }] },
        ifMatch: this.etag,
      });
      if (!this.ctx.live()) return;
      this.adopt(r);
      title(this.name, 'Group');
      this.renderHead('rename');
      // The controls that name the group say its new name.
      this.drawStaged?.();
      this.members?.relabel();
      announce(`Renamed to ${this.name}.`);
    } catch (e) {
      if (!this.ctx.live()) return;
      buttons.forEach((b) => (b.disabled = false));
      form.removeAttribute('aria-busy');
      if (e instanceof ApiError && e.status === 412) {
        this.headForm().replaceChildren();
        return this.conflict('The new name was not saved');
      }
      fail(`Not renamed: ${errorText(e)}`);
    }
  }

  // ---- delete ----

  private async deleteConfirm(): Promise<void> {
    const box = this.headForm();
    const text = h('p', null, 'Counting the members…');
    const confirmButton = h('button', { type: 'button', class: 'danger', disabled: true, onclick: () => void this.delete(confirmButton, text) }, `Delete ${this.name}`);
    const keep = h('button', { type: 'button', class: 'secondary', onclick: () => this.closeHeadForm('delete') }, 'Keep the group');
    const panel = h(
      'div',
      {
        class: 'confirm alert warning',
        role: 'group',
        'aria-label': `Confirm deleting ${this.name}`,
        onkeydown: (e: Event) => {
          if ((e as KeyboardEvent).key === 'Escape') {
            e.preventDefault();
            this.closeHeadForm('delete');
          }
        },
      },
      text,
      h('div', { class: 'actions' }, confirmButton, keep),
    );
    box.replaceChildren(panel);
    keep.focus();
    let members: string;
    try {
      members = `It has ${people(await memberCount(this.ctx, this.id))} as members.`;
    } catch (e) {
      members = `Its members could not be counted (${errorText(e)}).`;
    }
    if (!this.ctx.live() || !panel.isConnected) return;
    text.textContent = `Delete the group “${this.name}”? ${members} The people themselves are not deleted: they only stop being members of this group. This cannot be undone.`;
    confirmButton.disabled = false;
    confirmButton.focus();
  }

  private async delete(button: HTMLButtonElement, text: HTMLElement): Promise<void> {
    button.disabled = true;
    try {
      await this.ctx.session.api.request('DELETE', this.path, { ifMatch: this.etag });
      announce(`Deleted the group ${this.name}.`);
      if (this.ctx.live()) location.hash = '#/groups';
    } catch (e) {
      if (!this.ctx.live()) return;
      if (e instanceof ApiError && e.status === 412) {
        this.headForm().replaceChildren();
        return this.conflict('The group was not deleted');
      }
      button.disabled = false;
      text.after(h('p', { class: 'field-error', role: 'alert' }, `Not deleted: ${errorText(e)}`));
    }
  }

  // ---- members ----

  private renderAdd(): void {
    if (!this.writable) {
      this.addBox.replaceChildren();
      return;
    }
    const staged = h('ul', { class: 'staged', 'aria-label': 'People to add' });
    const addButton = h('button', { type: 'button', class: 'add-button' }, 'Add');
    const error = h('div', { class: 'add-error' });
    const pick = picker({
      api: this.ctx.session.api,
      kind: 'users',
      label: 'Add people',
      hint: 'Type part of a name or the start of a user name; choose with the arrow keys and Enter. Pick several, then add them at once.',
      unavailable: (p) => {
        const groups = Array.isArray(p.resource.groups) ? p.resource.groups.filter(isObject) : [];
        if (groups.some((g) => g.value === this.id && g.type !== 'indirect')) return 'already a member';
        if (this.staged.has(p.id)) return 'already picked';
        return undefined;
      },
      onPick: (p) => {
        this.staged.set(p.id, p);
        draw();
        announce(`${p.name} picked; ${people(this.staged.size)} to add.`);
      },
    });
    const draw = () => {
      staged.replaceChildren(
        ...[...this.staged.values()].map((p) =>
          h(
            'li',
            { class: 'chip' },
            h('span', null, p.name, p.userName && p.userName !== p.name ? h('span', { class: 'muted' }, ` (${p.userName})`) : null),
            h(
              'button',
              {
                type: 'button',
                class: 'link-button',
                'aria-label': `Do not add ${p.name}`,
                onclick: () => {
                  this.staged.delete(p.id);
                  draw();
                  pick.input.focus();
                },
              },
              '×',
            ),
          ),
        ),
      );
      staged.hidden = this.staged.size === 0;
      actions.hidden = this.staged.size === 0;
      addButton.textContent = `Add ${people(this.staged.size)} to ${this.name}`;
    };
    addButton.addEventListener('click', () => void this.add(addButton, error, pick.disable, draw));
    const actions = h('div', { class: 'actions' }, addButton);
    this.addBox.replaceChildren(pick.element, staged, actions, error);
    this.drawStaged = draw;
    draw();
  }

  /** The people picked, added in one PATCH. */
  private async add(button: HTMLButtonElement, error: HTMLElement, disable: (d: boolean) => void, draw: () => void): Promise<void> {
    const picks = [...this.staged.values()];
    if (picks.length === 0) return;
    error.replaceChildren();
    button.disabled = true;
    disable(true);
    try {
      const r = await this.ctx.session.api.request('PATCH', this.path, {
        query: { excludedAttributes: 'members' },
        body: { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: picks.map((p) => ({ value: p.id })) }] },
        ifMatch: this.etag,
      });
      if (!this.ctx.live()) return;
      this.adopt(r);
      this.staged.clear();
      draw();
      this.renderHead();
      this.members?.reload();
      announce(`Added ${picks.map((p) => p.name).join(', ')} to ${this.name}.`);
    } catch (e) {
      if (!this.ctx.live()) return;
      if (e instanceof ApiError && e.status === 412) return this.conflict(`${picks.length === 1 ? `${picks[0]!.name} was` : `The ${picks.length} people were`} not added`);
      error.replaceChildren(h('p', { class: 'field-error', role: 'alert' }, `Not added: ${errorText(e)}`));
    } finally {
      button.disabled = false;
      disable(false);
    }
  }

  /** One member removed, in one PATCH. */
  private async remove(user: JsonObject, li: HTMLElement): Promise<boolean> {
    const userId = String(user.id);
    try {
      const r = await this.ctx.session.api.request('PATCH', this.path, {
        query: { excludedAttributes: 'members' },
        body: { schemas: [PATCH_OP], Operations: [{ op: 'remove', path: `members[value eq ${literal(userId)}]` }] },
        ifMatch: this.etag,
      });
      if (!this.ctx.live()) return false;
      this.adopt(r);
      this.renderHead();
      announce(`Removed ${nameOf(user)} from ${this.name}.`);
      return true;
    } catch (e) {
      if (!this.ctx.live()) return false;
      if (e instanceof ApiError && e.status === 412) {
        await this.conflict(`${nameOf(user)} was not removed`);
        return false;
      }
      li.querySelector('.field-error')?.remove();
      li.append(h('p', { class: 'field-error', role: 'alert' }, `Not removed: ${errorText(e)}`));
      return false;
    }
  }

  // ---- conflicts ----

  /**
   * A change refused with 412: the group was changed since this page read it. The version now held (and, for an
   * administrator, who changed it) is shown; the page's version is kept until the person reloads, so nothing is
   * sent over a change they have not seen.
   */
  private async conflict(what: string): Promise<void> {
    const panel = h('div', { class: 'conflict alert warning', role: 'alert' });
    const heading = h('h2', { tabindex: -1 }, `${what}: this group was changed by someone else`);
    const details = h('p', null, `This page shows version ${versionOf(this.etag) ?? '?'}. Nothing was changed. Reload the group to see its current name and members, then make the change again.`);
    const reload = h('button', { type: 'button', onclick: () => void this.reload() }, 'Reload the group');
    panel.append(heading, details, h('div', { class: 'actions' }, reload));
    this.conflictBox.replaceChildren(panel);
    focusHeading(heading);
    announce(`${what}: the group was changed by someone else.`);
    // What the directory holds now, in words: read, not adopted (the members on screen are the old ones).
    try {
      const now = await this.ctx.session.api.get(this.path, { excludedAttributes: 'members' });
      let by = '';
      if (this.ctx.session.administrator) {
        try {
          const { body } = await this.ctx.session.api.get<ListResponse>('/AuditEvents', { resourceId: this.id, sortOrder: 'descending', count: 1 });
          const last = body.Resources?.[0];
          if (last && isObject(last.actor)) by = `, changed by ${actorName(last.actor)}`;
        } catch {
          // shown without it
        }
      }
      if (!this.ctx.live() || !panel.isConnected) return;
      const name = typeof now.body.displayName === 'string' ? now.body.displayName : this.name;
      details.textContent =
        `This page shows version ${versionOf(this.etag) ?? '?'}; the directory now holds version ${versionOf(now.etag) ?? '?'}${by}` +
        `${name !== this.name ? `, named “${name}”` : ''}. Nothing was changed. Reload the group to see its current name and members, then make the change again.`;
    } catch (e) {
      if (!this.ctx.live() || !panel.isConnected) return;
      if (e instanceof ApiError && e.status === 404) {
        details.textContent = 'The group has been deleted meanwhile. Nothing was changed.';
        reload.replaceWith(h('a', { href: '#/groups' }, 'Back to the groups'));
      }
    }
  }

  private async reload(): Promise<void> {
    try {
      await this.load();
    } catch (e) {
      if (!this.ctx.live()) return;
      this.conflictBox.replaceChildren(h('div', { class: 'alert error', role: 'alert' }, h('p', null, `The group could not be reloaded: ${errorText(e)}`)));
      return;
    }
    if (!this.ctx.live()) return;
    this.conflictBox.replaceChildren();
    const kept = this.staged.size;
    this.render();
    focusHeading(document.getElementById('page-title'));
    announce(`Reloaded: version ${versionOf(this.etag) ?? '?'}.${kept > 0 ? ` ${people(kept)} picked to add are kept, not added yet.` : ''}`);
  }
}

/**
 * The members, a page at a time by cursor, sorted by name. `remove`, when given, adds a Remove button to each,
 * which takes the person off the list once the server agrees.
 */
class MemberList {
  readonly element: HTMLElement;
  private readonly list = h('ul', { class: 'people members' });
  private readonly status = h('p', { class: 'summary', id: 'members-summary', tabindex: -1 }, 'Loading…');
  private readonly more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Show more');
  private cursor = '';
  private shown = 0;
  private total = 0;
  /** Bumped by reload: a page that arrives for an earlier list is dropped. */
  private generation = 0;

  constructor(
    private readonly ctx: ViewContext,
    private readonly groupId: string,
    private readonly groupName: () => string,
    private readonly remove?: (user: JsonObject, li: HTMLElement) => Promise<boolean>,
  ) {
    this.element = h('div', { class: 'paged' }, this.status, this.list, this.more);
    this.more.addEventListener('click', () => void this.load(true));
    void this.load(false);
  }

  reload(): void {
    this.generation++;
    this.cursor = '';
    this.shown = 0;
    this.list.replaceChildren();
    this.more.hidden = true;
    this.status.textContent = 'Loading…';
    void this.load(false);
  }

  /** The Remove buttons' names, after the group was renamed. */
  relabel(): void {
    for (const b of this.list.querySelectorAll<HTMLButtonElement>('button[data-name]')) b.setAttribute('aria-label', `Remove ${b.dataset.name} from ${this.groupName()}`);
  }

  private summarise(): void {
    this.status.textContent =
      this.total === 0 ? 'No members.' : `${count(this.total)} ${this.total === 1 ? 'member' : 'members'}${this.shown < this.total ? `; showing ${count(this.shown)}` : ''}.`;
    this.more.textContent = `Show ${count(Math.max(0, Math.min(PAGE, this.total - this.shown)))} more (${count(this.shown)} of ${count(this.total)} shown)`;
  }

  private async load(focusNew: boolean): Promise<void> {
    const mine = this.generation;
    this.more.disabled = true;
    this.element.setAttribute('aria-busy', 'true');
    try {
      const { body } = await this.ctx.session.api.get<ListResponse>('/Users', {
        filter: membersFilter(this.groupId),
        cursor: this.cursor,
        count: PAGE,
        sortBy: 'displayName',
        attributes: `${PERSON_ATTRIBUTES},groups`,
      });
      if (!this.ctx.live() || mine !== this.generation) return;
      const users = body.Resources ?? [];
      const items = users.map((u) => this.item(u));
      this.list.append(...items);
      this.shown += users.length;
      this.total = body.totalResults ?? this.shown;
      this.cursor = body.nextCursor ?? '';
      this.more.hidden = body.nextCursor === undefined;
      this.summarise();
      if (focusNew) {
        items[0]?.querySelector('a')?.focus();
        announce(`${count(users.length)} more members shown; ${count(this.shown)} of ${count(this.total)}.`);
      }
    } catch (e) {
      if (!this.ctx.live() || mine !== this.generation) return;
      this.status.replaceChildren(h('span', { class: 'alert error', role: 'alert' }, `The members could not be read: ${errorText(e)}`));
    } finally {
      if (mine === this.generation) {
        this.more.disabled = false;
        this.element.removeAttribute('aria-busy');
      }
    }
  }

  private item(user: JsonObject): HTMLElement {
    const name = nameOf(user);
    // A member through a nested group is listed, but cannot be removed here: it is not this group's own member.
    const groups = Array.isArray(user.groups) ? user.groups.filter(isObject) : [];
    const direct = groups.some((g) => g.value === this.groupId && g.type !== 'indirect');
    const li = h(
      'li',
      null,
      h(
        'span',
        { class: 'person' },
        avatar(user, 'small'),
        h(
          'span',
          null,
          userLink(String(user.id), name),
          typeof user.userName === 'string' && user.userName !== name ? h('span', { class: 'muted' }, ` · ${user.userName}`) : null,
          user.active === false ? [' ', statusBadge(user)] : null,
          direct ? null : h('span', { class: 'muted' }, ' · through a nested group'),
        ),
      ),
    );
    if (this.remove && direct) {
      const button = h('button', { type: 'button', class: 'secondary small', 'data-name': name, 'aria-label': `Remove ${name} from ${this.groupName()}` }, 'Remove');
      button.addEventListener('click', async () => {
        button.disabled = true;
        const removed = await this.remove!(user, li);
        if (!removed) {
          if (button.isConnected) button.disabled = false;
          return;
        }
        // Focus moves to the next person's Remove (or the previous, or the count), not to the page's top.
        const next = (li.nextElementSibling ?? li.previousElementSibling)?.querySelector<HTMLElement>('button');
        li.remove();
        this.shown--;
        this.total--;
        this.summarise();
        if (next) next.focus();
        else focusHeading(this.status);
      });
      li.append(' ', button);
    }
    return li;
  }
}
