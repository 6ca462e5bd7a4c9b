/**
 * A search-as-you-type picker of users or groups: an ARIA 1.2 combobox (https://www.w3.org/TR/wai-aria-1.2/#combobox).
 * The text field has role=combobox and controls a listbox of a few matches; focus stays in the field, and
 * aria-activedescendant names the option the arrow keys are on, so that typing and choosing are one place.
 *
 * - Keys: ArrowDown/ArrowUp move through the options (opening the list), Enter picks the highlighted one, Escape
 *   closes the list (and, pressed again, clears the text), Home/End stay the text field's own.
 * - Searching waits for a pause in typing (DEBOUNCE_MS) and asks for a handful of matches; an answer that arrives
 *   after a newer search was started is dropped, so what is listed always matches what is typed.
 * - Users are found by `userName sw "x" or displayName co "x"` (a user name is typed from its start; a display name
 *   may be searched by a family name), groups by `displayName co "x"`.
 * - A result that cannot be picked (already a member) is listed, marked and aria-disabled, rather than hidden: a
 *   person searching for it learns why it is not added.
 * Every value from the server becomes text only (h()).
 */
import type { Api, JsonObject, ListResponse } from './api';
import { literal } from './api';
import { h, uid } from './dom';
import { isObject, nameOf } from './display';
import { errorText } from './views/common';

const DEBOUNCE_MS = 250;
const RESULTS = 8;

export type PickerKind = 'users' | 'groups';

/** One result, as the picker shows it and hands it on. */
export interface Pick {
  id: string;
  /** The display name (a user's nameOf, a group's displayName). */
  name: string;
  /** A user's userName. */
  userName?: string;
  /** A user's primary email. */
  email?: string;
  /** The resource as read (the picker's attributes only). */
  resource: JsonObject;
}

export interface PickerOptions {
  api: Api;
  kind: PickerKind;
  /** The field's visible label. */
  label: string;
  /** A hint under the field (what is searched, what Enter does). */
  hint?: string;
  /** Why a result cannot be picked (e.g. "already a member"), or undefined when it can. */
  unavailable?(pick: Pick): string | undefined;
  /** Called with the chosen result; the field is then cleared and keeps the focus, for the next one. */
  onPick(pick: Pick): void;
}

export interface Picker {
  element: HTMLElement;
  input: HTMLInputElement;
  /** Closes the list and clears the field. */
  reset(): void;
  disable(disabled: boolean): void;
}

/** The SCIM filter a picker searches with; undefined for blank text. */
export function pickerFilter(kind: PickerKind, text: string): string | undefined {
  const q = text.trim();
  if (q === '') return undefined;
  const v = literal(q);
  return kind === 'users' ? `userName sw ${v} or displayName co ${v}` : `displayName co ${v}`;
}

function primaryEmail(u: JsonObject): string | undefined {
  const emails = (Array.isArray(u.emails) ? u.emails : []).filter(isObject);
  const e = emails.find((x) => x.primary === true) ?? emails[0];
  return typeof e?.value === 'string' ? e.value : undefined;
}

function pickOf(kind: PickerKind, r: JsonObject): Pick {
  const id = String(r.id);
  if (kind === 'groups') return { id, name: typeof r.displayName === 'string' && r.displayName !== '' ? r.displayName : id, resource: r };
  return { id, name: nameOf(r), userName: typeof r.userName === 'string' ? r.userName : undefined, email: primaryEmail(r), resource: r };
}

export function picker(opts: PickerOptions): Picker {
  const inputId = uid('picker');
  const listId = uid('picker-list');
  const hintId = uid('picker-hint');
  const statusId = uid('picker-status');
  const input = h('input', {
    id: inputId,
    type: 'text',
    role: 'combobox',
    autocomplete: 'off',
    spellcheck: 'false',
    'aria-autocomplete': 'list',
    'aria-expanded': 'false',
    'aria-controls': listId,
    'aria-describedby': opts.hint ? `${hintId} ${statusId}` : statusId,
  });
  const list = h('ul', { id: listId, role: 'listbox', class: 'picker-list', 'aria-label': `${opts.label}: matches`, hidden: true });
  // What the search found, in words: visible, and polite to a screen reader (aria-live on a node that stays).
  const status = h('p', { id: statusId, class: 'picker-status muted', 'aria-live': 'polite' });
  const element = h(
    'div',
    { class: 'field picker-field' },
    h('label', { for: inputId }, opts.label),
    opts.hint ? h('small', { id: hintId, class: 'hint' }, opts.hint) : null,
    h('div', { class: 'picker-box' }, input, list),
    status,
  );

  let picks: Pick[] = [];
  let active = -1;
  let timer: number | undefined;
  /** Bumped by every search (and by reset): an answer for an older one is dropped. */
  let generation = 0;

  const options = () => [...list.querySelectorAll<HTMLElement>('[role="option"]')];

  const setActive = (i: number) => {
    const all = options();
    active = all.length === 0 ? -1 : (i + all.length) % all.length;
    all.forEach((o, n) => o.setAttribute('aria-selected', String(n === active)));
    const current = all[active];
    if (current) {
      input.setAttribute('aria-activedescendant', current.id);
      current.scrollIntoView({ block: 'nearest' });
    } else input.removeAttribute('aria-activedescendant');
  };

  const close = () => {
    list.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
    active = -1;
  };

  const open = () => {
    if (options().length === 0) return;
    list.hidden = false;
    input.setAttribute('aria-expanded', 'true');
  };

  const choose = (i: number) => {
    const pick = picks[i];
    if (!pick) return;
    const why = opts.unavailable?.(pick);
    if (why) {
      status.textContent = `${pick.name} cannot be chosen: ${why}.`;
      return;
    }
    reset();
    opts.onPick(pick);
    input.focus();
  };

  const draw = () => {
    list.replaceChildren(
      ...picks.map((p, i) => {
        const why = opts.unavailable?.(p);
        const details = [p.userName && p.userName !== p.name ? p.userName : undefined, p.email].filter(Boolean).join(' · ');
        return h(
          'li',
          {
            id: `${listId}-${i}`,
            role: 'option',
            class: 'picker-option',
            'aria-selected': 'false',
            'aria-disabled': why ? 'true' : undefined,
            // mousedown would move focus out of the field (and blur would close the list) before the click.
            onmousedown: (e: Event) => e.preventDefault(),
            onclick: () => choose(i),
          },
          h('span', { class: 'picker-name' }, p.name),
          details ? h('span', { class: 'picker-details' }, details) : null,
          why ? h('span', { class: 'picker-why' }, why) : null,
        );
      }),
    );
    active = -1;
    input.removeAttribute('aria-activedescendant');
  };

  const search = async () => {
    const mine = ++generation;
    const filter = pickerFilter(opts.kind, input.value);
    if (!filter) {
      picks = [];
      draw();
      close();
      status.textContent = '';
      return;
    }
    status.textContent = 'Searching…';
    try {
      const query =
        opts.kind === 'users'
          ? // groups: to tell who is already in a group (a user's handful, not a group's members).
            { filter, count: RESULTS, sortBy: 'displayName', attributes: 'displayName,name,userName,emails,groups' }
          : { filter, count: RESULTS, sortBy: 'displayName', attributes: 'displayName' };
      const { body } = await opts.api.get<ListResponse>(opts.kind === 'users' ? '/Users' : '/Groups', query);
      if (mine !== generation) return;
      picks = (body.Resources ?? []).map((r) => pickOf(opts.kind, r));
      draw();
      const total = body.totalResults ?? picks.length;
      const noun = opts.kind === 'users' ? ['person', 'people'] : ['group', 'groups'];
      status.textContent =
        picks.length === 0
          ? `No ${noun[1]} match “${input.value.trim()}”.`
          : `${total === 1 ? `1 ${noun[0]} matches` : `${total.toLocaleString()} ${noun[1]} match`}${total > picks.length ? `; the first ${picks.length} are listed, type more to narrow` : ''}. Use the arrow keys and Enter to choose.`;
      if (picks.length > 0 && document.activeElement === input) open();
      else close();
    } catch (e) {
      if (mine !== generation) return;
      picks = [];
      draw();
      close();
      status.textContent = `The search failed: ${errorText(e)}`;
    }
  };

  const reset = () => {
    generation++;
    window.clearTimeout(timer);
    input.value = '';
    picks = [];
    draw();
    close();
    status.textContent = '';
  };

  input.addEventListener('input', () => {
    window.clearTimeout(timer);
    // Whatever is listed no longer matches the text; the answer to the next search replaces it.
    generation++;
    timer = window.setTimeout(() => void search(), DEBOUNCE_MS);
  });
  input.addEventListener('keydown', (e) => {
    switch (e.key) {
      case 'ArrowDown':
      case 'ArrowUp': {
        e.preventDefault();
        if (picks.length === 0) return;
        const wasOpen = !list.hidden;
        open();
        if (e.key === 'ArrowDown') setActive(wasOpen ? active + 1 : 0);
        else setActive(wasOpen && active >= 0 ? active - 1 : picks.length - 1);
        return;
      }
      case 'Enter':
        // Enter picks only from an open list with an option highlighted; otherwise it does nothing (no form submit).
        e.preventDefault();
        if (!list.hidden && active >= 0) choose(active);
        return;
      case 'Escape':
        if (!list.hidden) {
          e.preventDefault();
          // Inside a form that closes on Escape, the first Escape is the list's.
          e.stopPropagation();
          close();
        } else if (input.value !== '') {
          e.preventDefault();
          e.stopPropagation();
          reset();
        }
        return;
      default:
    }
  });
  input.addEventListener('blur', () => close());
  input.addEventListener('focus', () => {
    if (picks.length > 0) open();
  });

  return {
    element,
    input,
    reset,
    disable(disabled: boolean) {
      input.disabled = disabled;
      if (disabled) close();
    },
  };
}
