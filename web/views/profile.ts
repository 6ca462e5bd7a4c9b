/**
 * A user's profile: the sections of GET /Sections in their order, each read, edited and saved on its own.
 *
 * - Save sends one PATCH with If-Match: the ETag of the version on screen. A 412 means someone else changed the
 *   user since: the page shows what was on screen, what the person typed and what the directory now holds, and
 *   never sends the typed values over the other change unless the person chooses to edit again from the new
 *   version (then they are the base of a new If-Match).
 * - A section is editable exactly when the API would accept the change: the token is granted the section, and no
 *   other source of authority owns it for this user (its `sources`). Otherwise it is read-only, saying why.
 * - An error is shown at the field it names (errors.ts), with the server's own words.
 * One section is edited at a time, so that the version a save is based on is always the one shown.
 */
import { ApiError, type Json, type JsonObject, literal, MANAGER, PATCH_OP, PROFILE, versionOf } from '../api';
import { announce, type Child, fill, focusHeading, h, uid } from '../dom';
import { compact, displayValue, isObject, nameOf, when } from '../display';
import { clearErrors, markField, showError } from '../form-errors';
import { editablePart, type Field, fieldFor, sameJson } from '../fields';
import { labelOfKey, sectionName, valueOf } from '../schema';
import { roleName, type SectionInfo, type Session } from '../session';
import { actorName, errorBox, title, userHeader, type ViewContext } from './common';
import { userGroupsSection } from './user-groups';

interface Owner {
  source: string;
  since?: string;
}

/** What a section shows after a refused save: the three versions of each field that differs. */
interface Conflict {
  shown: JsonObject;
  shownEtag?: string;
  mine: Map<string, Json | undefined>;
  by?: string;
}

/** The attributes a profile asks for: every readable section's (authentication contact info is returned only when named), and the user's groups and owners. */
export function profileAttributes(session: Session): string {
  const keys = session.sections.filter((s) => s.readable).flatMap((s) => s.attributes);
  return [...new Set([...keys, 'groups', 'meta', `${PROFILE}:sources`])].join(',');
}

export function ownersOf(user: JsonObject): Map<string, Owner> {
  const out = new Map<string, Owner>();
  const ext = user[PROFILE];
  for (const s of isObject(ext) && Array.isArray(ext.sources) ? ext.sources : []) {
    if (isObject(s) && typeof s.section === 'string' && typeof s.source === 'string') {
      out.set(s.section, { source: s.source, since: typeof s.since === 'string' ? s.since : undefined });
    }
  }
  return out;
}

export async function profileView(ctx: ViewContext, id: string): Promise<void> {
  ctx.main.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
  const page = new ProfilePage(ctx, id);
  try {
    await page.load();
  } catch (e) {
    if (!ctx.live()) return;
    title('User not found');
    ctx.main.replaceChildren(h('h1', { id: 'page-title', tabindex: -1 }, 'User'), errorBox(e, h('p', null, h('a', { href: '#/users' }, 'Back to the directory'))));
    focusHeading(document.getElementById('page-title'));
    return;
  }
  if (!ctx.live()) return;
  page.render();
  focusHeading(document.getElementById('page-title'));
}

class ProfilePage {
  private user: JsonObject = {};
  private etag: string | undefined;
  /** The section being edited, if any: its form's fields. */
  private editing: { name: string; fields: Field[] } | undefined;
  private readonly conflicts = new Map<string, Conflict>();
  private readonly containers = new Map<string, HTMLElement>();
  private readonly head = h('div');
  /** Block or allow sign-in, delete: the account's actions, under the header. */
  private readonly actions = h('div', { class: 'user-actions' });
  /** What the last action said (a refusal, a conflict), shown beside the buttons until the next render. */
  private actionNote: Child = null;
  private readonly attributes: string;
  private readonly path: string;

  constructor(
    private readonly ctx: ViewContext,
    id: string,
  ) {
    this.attributes = profileAttributes(ctx.session);
    this.path = `/Users/${encodeURIComponent(id)}`;
  }

  private get session(): Session {
    return this.ctx.session;
  }

  async load(): Promise<void> {
    const r = await this.session.api.get(this.path, { attributes: this.attributes });
    this.user = r.body;
    this.etag = r.etag;
  }

  render(): void {
    title(nameOf(this.user), 'Profile');
    if (!this.ctx.main.contains(this.head)) {
      const sections = this.session.sections.map((info) => {
        const el = h('section', { class: 'section', id: `section-${info.name}`, 'aria-labelledby': `h-${info.name}` });
        this.containers.set(info.name, el);
        return el;
      });
      // The user's groups: changed on the groups themselves (User.groups is readOnly, RFC 7643 §4.1.2), from here.
      this.ctx.main.replaceChildren(this.head, this.actions, h('div', { class: 'sections' }, sections), userGroupsSection(this.ctx, String(this.user.id)));
    }
    this.head.replaceChildren(userHeader(this.ctx, this.user, this.etag, 'profile'));
    this.renderActions();
    for (const info of this.session.sections) if (this.editing?.name !== info.name) this.renderSection(info);
  }

  /**
   * The section holding `active` (sign-in allowed: the directory's "Block sign-in"), when this token may change it
   * for this user: granted, and not owned by another source of authority.
   */
  private signInSection(): SectionInfo | undefined {
    const info = this.session.sections.find((s) => s.readable && s.attributes.includes('active'));
    return info && this.lock(info, ownersOf(this.user).get(info.name)) === undefined ? info : undefined;
  }

  private renderActions(): void {
    const buttons: HTMLElement[] = [];
    if (this.signInSection()) {
      const blocked = this.user.active === false;
      buttons.push(
        h(
          'button',
          { type: 'button', class: blocked ? undefined : 'secondary', 'data-action': 'sign-in', onclick: () => void this.setSignIn(blocked) },
          blocked ? 'Allow sign-in' : 'Block sign-in',
        ),
      );
    }
    // Deleting is the whole resource's: a token limited to some sections may not (the server answers 403).
    if (this.session.grants === 'all') {
      buttons.push(h('button', { type: 'button', class: 'secondary danger', 'data-action': 'delete', onclick: () => void this.askDelete() }, 'Delete user…'));
    }
    fill(this.actions, buttons, this.actionNote);
    this.actions.hidden = buttons.length === 0 && !this.actionNote;
  }

  /** One PATCH of `active` with If-Match; a change made meanwhile by someone else is shown, never overwritten. */
  private async setSignIn(allow: boolean): Promise<void> {
    const name = nameOf(this.user);
    for (const b of this.actions.querySelectorAll('button')) b.disabled = true;
    try {
      const r = await this.session.api.request('PATCH', this.path, {
        query: { attributes: this.attributes },
        body: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: allow }] },
        ifMatch: this.etag,
      });
      if (!this.ctx.live()) return;
      this.user = r.body;
      this.etag = r.etag ?? this.etag;
      this.actionNote = h('p', { class: 'alert ok', role: 'status' }, allow ? `${name} may sign in again.` : `${name} is blocked: they cannot sign in.`);
      this.render();
      announce(allow ? `Sign-in allowed for ${name}.` : `Sign-in blocked for ${name}.`);
    } catch (e) {
      await this.refused(e, allow ? 'Sign-in not allowed' : 'Not blocked');
    }
    this.actions.querySelector<HTMLElement>('[data-action="sign-in"]')?.focus();
  }

  /**
   * A refused action: a 412 reloads the user and says so (the person decides again on what is now there); any
   * other refusal is shown in the server's words.
   */
  private async refused(e: unknown, what: string): Promise<void> {
    if (!this.ctx.live()) return;
    if (e instanceof ApiError && e.status === 412) {
      await this.load().catch(() => undefined);
      if (!this.ctx.live()) return;
      this.actionNote = h('p', { class: 'alert warning', role: 'alert' }, `${what}: ${nameOf(this.user)} was changed by someone else meanwhile. The current version is shown; nothing was overwritten. Check it and try again.`);
    } else {
      this.actionNote = errorBox(e);
    }
    this.render();
  }

  /**
   * Deleting asks first, naming the person and what follows, as the server does it: they leave every group, and
   * their direct reports lose their manager (the reference is removed; RFC 7643 §4.3 manager).
   */
  private async askDelete(): Promise<void> {
    const name = nameOf(this.user);
    const id = String(this.user.id);
    let reports: number | undefined;
    try {
      const { body } = await this.session.api.get<{ totalResults?: number }>('/Users', { filter: `${MANAGER}.value eq ${literal(id)}`, count: 0 });
      reports = body.totalResults;
    } catch {
      // said as unknown below
    }
    if (!this.ctx.live()) return;
    const groups = (Array.isArray(this.user.groups) ? this.user.groups : []).filter(isObject).map((g) => String(g.display ?? g.value));
    const keep = h('button', { type: 'button', class: 'secondary', onclick: () => ((this.actionNote = null), this.render(), this.actions.querySelector<HTMLElement>('[data-action="delete"]')?.focus()) }, 'Keep');
    const confirm = h('button', { type: 'button', class: 'danger', onclick: () => void this.delete(confirm, keep) }, `Delete ${name}`);
    const headingId = uid('h');
    this.actionNote = h(
      'div',
      { class: 'confirm alert warning', role: 'alertdialog', 'aria-labelledby': headingId },
      h('h2', { id: headingId, tabindex: -1 }, `Delete ${name}${typeof this.user.userName === 'string' ? ` (${this.user.userName})` : ''}?`),
      h(
        'ul',
        null,
        h('li', null, groups.length === 0 ? 'They are in no group.' : `They leave every group they are in (${groups.length}): ${groups.join(', ')}.`),
        h(
          'li',
          null,
          reports === undefined
            ? 'Anyone who reports to them loses their manager.'
            : reports === 0
              ? 'No one reports to them.'
              : `Their ${reports === 1 ? 'direct report loses' : `${reports.toLocaleString()} direct reports lose`} their manager.`,
        ),
        h('li', null, 'Their history stays in the audit trail. The user cannot be restored.'),
      ),
      h('div', { class: 'actions' }, confirm, keep),
    );
    this.render();
    keep.focus();
  }

  private async delete(confirm: HTMLButtonElement, keep: HTMLButtonElement): Promise<void> {
    const name = nameOf(this.user);
    confirm.disabled = keep.disabled = true;
    try {
      await this.session.api.request('DELETE', this.path, { ifMatch: this.etag });
      if (!this.ctx.live()) return;
      announce(`Deleted ${name}.`);
      location.hash = '#/users';
    } catch (e) {
      await this.refused(e, 'Not deleted');
    }
  }

  /** Why the caller may not change a section of this user, or undefined when it may. */
  private lock(info: SectionInfo, owner: Owner | undefined): Child | undefined {
    if (owner && owner.source !== this.session.claims.clientId) {
      return [
        h('strong', null, `Managed by ${owner.source}`),
        owner.since ? [' since ', when(owner.since)] : null,
        `: its source of authority. Changes come from ${owner.source} until an administrator releases the section.`,
      ];
    }
    if (info.writable) return undefined;
    if (info.writers && !info.writers.some((r) => this.session.roles.includes(r))) {
      return `Only a ${info.writers.map(roleName).join(' or ')} may change ${sectionName(info.name).toLowerCase()}.`;
    }
    const granted = this.session.grants === 'all' ? [] : this.session.grants;
    return granted.length === 0
      ? 'Your token may not change users (it has no write scope).'
      : `Your token may change only: ${granted.map(sectionName).join(', ')}.`;
  }

  private mayRelease(info: SectionInfo): boolean {
    return this.session.administrator && (!info.writers || info.writers.some((r) => this.session.roles.includes(r)));
  }

  private renderSection(info: SectionInfo, focus?: 'edit' | 'conflict'): void {
    const el = this.containers.get(info.name)!;
    const label = sectionName(info.name);
    const owner = ownersOf(this.user).get(info.name);
    const conflict = this.conflicts.get(info.name);
    if (!info.readable) {
      el.replaceChildren(
        h('div', { class: 'section-head' }, h('h2', { id: `h-${info.name}` }, label)),
        h('p', { class: 'lock' }, h('span', { class: 'badge read-only' }, 'Hidden'), ` Only a ${(info.readers ?? []).map(roleName).join(' or ')} may read ${label.toLowerCase()}.`),
      );
      return;
    }
    const lock = this.lock(info, owner);
    const editButton =
      lock === undefined
        ? h(
            'button',
            {
              type: 'button',
              class: 'secondary',
              'aria-label': `Edit ${label}`,
              disabled: this.editing !== undefined,
              onclick: () => this.edit(info),
            },
            'Edit',
          )
        : null;
    fill(
      el,
      h('div', { class: 'section-head' }, h('h2', { id: `h-${info.name}` }, label), editButton),
      info.description ? h('p', { class: 'desc' }, info.description) : null,
      lock !== undefined
        ? h('div', { class: 'lock' }, h('p', null, h('span', { class: 'badge read-only' }, 'Read-only'), ' ', lock), owner && this.mayRelease(info) ? this.releaseControl(info, owner) : null)
        : null,
      conflict ? this.conflictPanel(info, conflict) : null,
      this.values(info),
    );
    if (focus === 'edit') editButton?.focus();
    if (focus === 'conflict') focusHeading(el.querySelector<HTMLElement>('.conflict h3'));
  }

  private values(info: SectionInfo): HTMLElement {
    return h(
      'dl',
      { class: 'values' },
      info.attributes.map((key) => {
        const def = this.session.schemas.attribute(key);
        return h('div', { class: 'pair' }, h('dt', null, labelOfKey(key)), h('dd', null, displayValue(key, def, valueOf(this.user, key))));
      }),
    );
  }

  /** Opens a section's form; `initial`: values to start from instead of the server's (kept after a conflict). */
  private edit(info: SectionInfo, initial?: Map<string, Json | undefined>): void {
    const el = this.containers.get(info.name)!;
    const label = sectionName(info.name);
    const fields = info.attributes.flatMap((key) => {
      const def = this.session.schemas.attribute(key);
      if (!def) return [];
      const value = valueOf(this.user, key);
      return [fieldFor(key, def, value, { api: this.session.api }, initial?.has(key) ? initial.get(key) : value)];
    });
    this.editing = { name: info.name, fields };
    this.conflicts.delete(info.name);
    const alertId = uid('alert');
    const alert = h('div', { id: alertId, class: 'alert error', role: 'alert', tabindex: -1, hidden: true });
    const save = h('button', { type: 'submit', 'aria-label': `Save ${label}` }, 'Save');
    const cancel = h('button', { type: 'button', class: 'secondary', 'aria-label': `Cancel editing ${label}`, onclick: () => this.cancel(info) }, 'Cancel');
    const form: HTMLFormElement = h(
      'form',
      {
        class: 'edit',
        novalidate: true,
        'aria-labelledby': `h-${info.name}`,
        onsubmit: (e: Event) => {
          e.preventDefault();
          void this.save(info, form, alert, [save, cancel]);
        },
        onkeydown: (e: Event) => {
          if ((e as KeyboardEvent).key === 'Escape') {
            e.preventDefault();
            this.cancel(info);
          }
        },
      },
      alert,
      initial ? h('p', { class: 'alert warning' }, `Your values are kept; the form now saves them over version ${versionOf(this.etag) ?? '?'}. Check them against the current values first.`) : null,
      fields.map((f) => f.element),
      h('div', { class: 'actions' }, save, cancel),
    );
    el.replaceChildren(h('div', { class: 'section-head' }, h('h2', { id: `h-${info.name}` }, `${label}: editing`)), form);
    // The other sections' Edit buttons are disabled while this one is open.
    for (const other of this.session.sections) if (other.name !== info.name) this.renderSection(other);
    form.querySelector<HTMLElement>('input, select, textarea')?.focus();
  }

  private cancel(info: SectionInfo): void {
    this.editing = undefined;
    this.render();
    this.renderSection(info, 'edit');
  }

  private async save(info: SectionInfo, form: HTMLFormElement, alert: HTMLElement, buttons: HTMLButtonElement[]): Promise<void> {
    const fields = this.editing?.fields ?? [];
    const label = sectionName(info.name);
    clearErrors(form, alert);
    // What no value of its type could be (a half-typed date, a word for a number) is shown at its field, not sent:
    // the control reads as empty, and sending that would remove the attribute.
    for (const f of fields) {
      const problem = f.problem();
      if (problem) return markField(problem.control, problem.message, labelOfKey(f.key), undefined, alert);
    }
    const operations = fields.flatMap((f) => f.operations());
    if (operations.length === 0) {
      this.editing = undefined;
      this.render();
      this.renderSection(info, 'edit');
      announce(`No changes to ${label}.`);
      return;
    }
    buttons.forEach((b) => (b.disabled = true));
    form.setAttribute('aria-busy', 'true');
    try {
      const r = await this.session.api.request('PATCH', this.path, {
        query: { attributes: this.attributes },
        body: { schemas: [PATCH_OP], Operations: operations },
        ifMatch: this.etag,
      });
      if (!this.ctx.live()) return;
      this.user = r.body;
      this.etag = r.etag ?? this.etag;
      this.editing = undefined;
      this.render();
      this.renderSection(info, 'edit');
      announce(`Saved ${label}.`);
    } catch (e) {
      if (!this.ctx.live()) return;
      buttons.forEach((b) => (b.disabled = false));
      form.removeAttribute('aria-busy');
      if (e instanceof ApiError && e.status === 412) return this.conflict(info, fields, alert);
      showError(e, fields, operations.map((o) => o.path), alert);
    }
  }

  /** A save refused with 412: fetch the current version and show it beside what was on screen and what was typed. */
  private async conflict(info: SectionInfo, fields: Field[], alert: HTMLElement): Promise<void> {
    const shown = this.user;
    const shownEtag = this.etag;
    const mine = new Map(fields.map((f) => [f.key, f.value()] as const));
    try {
      await this.load();
    } catch (e) {
      showError(e, [], [], alert);
      return;
    }
    if (!this.ctx.live()) return;
    const conflict: Conflict = { shown, shownEtag, mine };
    // Who made the change, when the caller may read the audit trail.
    if (this.session.administrator) {
      try {
        const { body } = await this.session.api.get<{ Resources?: JsonObject[] }>('/AuditEvents', { resourceId: String(this.user.id), sortOrder: 'descending', count: 1 });
        const last = body.Resources?.[0];
        if (last && isObject(last.actor)) conflict.by = actorName(last.actor);
      } catch {
        // the conflict is shown without it
      }
    }
    this.conflicts.set(info.name, conflict);
    this.editing = undefined;
    this.render();
    this.renderSection(info, 'conflict');
    announce(`Not saved: ${sectionName(info.name)} was changed by someone else.`);
  }

  private conflictPanel(info: SectionInfo, c: Conflict): HTMLElement {
    const rows = info.attributes.flatMap((key) => {
      const def = this.session.schemas.attribute(key);
      if (!def || def.mutability === 'writeOnly') return [];
      const shown = editablePart(def, valueOf(c.shown, key));
      const now = editablePart(def, valueOf(this.user, key));
      const mine = c.mine.get(key);
      if (sameJson(shown, now) && sameJson(mine, shown)) return [];
      const theirs = !sameJson(shown, now);
      return [
        h(
          'tr',
          { class: theirs ? 'changed' : undefined },
          h('th', { scope: 'row' }, labelOfKey(key)),
          h('td', null, compact(shown)),
          h('td', null, compact(mine)),
          h('td', null, compact(now), theirs ? h('span', { class: 'tag' }, ' changed') : null),
        ),
      ];
    });
    const label = sectionName(info.name);
    return h(
      'div',
      { class: 'conflict alert warning' },
      h('h3', { tabindex: -1 }, `Not saved: this user was changed while you were editing ${label.toLowerCase()}`),
      h(
        'p',
        null,
        `You were editing version ${versionOf(c.shownEtag) ?? '?'}; the directory now holds version ${versionOf(this.etag) ?? '?'}`,
        c.by ? `, changed by ${c.by}` : '',
        '. Nothing you typed was saved. The current values are shown below.',
      ),
      rows.length > 0
        ? h(
            'table',
            { class: 'compare' },
            h('caption', null, `${label}: the values you started from, yours, and the current ones`),
            h('thead', null, h('tr', null, ['Field', 'When you started', 'Yours (not saved)', 'Now in the directory'].map((t) => h('th', { scope: 'col' }, t)))),
            h('tbody', null, rows),
          )
        : null,
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'button', onclick: () => this.edit(info, c.mine) }, 'Edit again, keeping my values'),
        h(
          'button',
          {
            type: 'button',
            class: 'secondary',
            onclick: () => {
              this.conflicts.delete(info.name);
              this.renderSection(info, 'edit');
            },
          },
          'Discard my changes',
        ),
      ),
    );
  }

  /** An administrator's release of a source's ownership: asked twice, as it hands the section to other writers. */
  private releaseControl(info: SectionInfo, owner: Owner): HTMLElement {
    const box = h('div', { class: 'release' });
    const label = sectionName(info.name);
    const ask = () => {
      const confirm = h(
        'button',
        {
          type: 'button',
          onclick: async () => {
            confirm.disabled = true;
            try {
              const r = await this.session.api.request('DELETE', `${this.path}/sources/${encodeURIComponent(info.name)}`, {
                query: { attributes: this.attributes },
                ifMatch: this.etag,
              });
              if (!this.ctx.live()) return;
              this.user = r.body;
              this.etag = r.etag ?? this.etag;
              this.render();
              this.containers.get(info.name)?.querySelector<HTMLElement>('.section-head button')?.focus();
              announce(`${label} released from ${owner.source}.`);
            } catch (e) {
              if (e instanceof ApiError && e.status === 412) {
                await this.load().catch(() => undefined);
                this.render();
              }
              box.replaceChildren(errorBox(e));
            }
          },
        },
        `Release from ${owner.source}`,
      );
      box.replaceChildren(
        h('p', null, `Release ${label.toLowerCase()} from ${owner.source}? Anyone allowed to change ${label.toLowerCase()} may then edit it, until ${owner.source} writes it again.`),
        h('div', { class: 'actions' }, confirm, h('button', { type: 'button', class: 'secondary', onclick: () => (box.replaceChildren(start), start.focus()) }, 'Keep')),
      );
      confirm.focus();
    };
    const start = h('button', { type: 'button', class: 'secondary', onclick: ask }, `Release from ${owner.source}…`);
    box.append(start);
    return box;
  }
}
