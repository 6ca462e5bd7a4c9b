/**
 * Form fields for a User's attributes, built from their schema definitions, and the PATCH operations (RFC 7644
 * §3.5.2) that turn the value shown into the value typed. Only what changed is sent, and in the narrowest path
 * that says it: `name.givenName` rather than all of `name`, so a save never rewrites what the person did not touch.
 * A multi-valued attribute (emails) has no narrower path that survives reordering, so it is replaced whole.
 */
import type { Api, Json, JsonObject } from './api';
import { literal } from './api';
import { displayValue } from './display';
import { type Child, h, uid } from './dom';
import { type AttributeDef, editableSubs, hintOf, isUserReference, labelOf, labelOfKey } from './schema';

export interface PatchOperation {
  op: 'replace' | 'remove';
  path: string;
  value?: Json;
}

/** Where in an attribute an error points: `emails[0].type` is {key: 'emails', index: 0, sub: 'type'}. */
export interface FieldPath {
  key: string;
  index?: number;
  sub?: string;
}

export interface Field {
  key: string;
  element: HTMLElement;
  /** The operations that make the server's value what the form now says; none when nothing changed. */
  operations(): PatchOperation[];
  /** The value as the form now holds it (undefined: none), to compare with the server's in a conflict. */
  value(): Json | undefined;
  /** The control an error about `path` belongs to (the field's first control when none is closer). */
  control(path: FieldPath): HTMLElement | undefined;
  /** What the form holds that no value of the attribute's type could be (`abc` for an integer), at its control. */
  problem(): Problem | undefined;
}

export interface Problem {
  control: HTMLElement;
  message: string;
}

export interface FieldContext {
  api: Api;
  /** The form makes a new resource (POST): there is no current value to keep, so a password field says so. */
  creating?: boolean;
}

/** Values compared as JSON, object keys in any order. */
export function sameJson(a: Json | undefined, b: Json | undefined): boolean {
  return canonical(a) === canonical(b);
}

function canonical(v: Json | undefined): string {
  if (v === undefined) return 'undefined';
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  return `{${Object.keys(v)
    .filter((k) => v[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`)
    .join(',')}}`;
}

const ROW_NAMES: Record<string, string> = {
  emails: 'Email',
  phoneNumbers: 'Phone number',
  ims: 'Messaging account',
  photos: 'Photo',
  addresses: 'Address',
  entitlements: 'Entitlement',
  roles: 'Role',
  x509Certificates: 'Certificate',
};

const VALUE_LABELS: Record<string, string> = {
  emails: 'Email address',
  phoneNumbers: 'Number',
  ims: 'Handle',
  photos: 'Image URL',
  x509Certificates: 'Certificate (base64 DER)',
};

function inputType(def: AttributeDef, attribute: string): string {
  if (def.type === 'reference') return 'url';
  if (def.type === 'integer' || def.type === 'decimal') return 'number';
  if (def.type === 'dateTime') return 'datetime-local';
  if (def.builtIn && attribute === 'emails' && def.name === 'value') return 'email';
  if (def.builtIn && attribute === 'phoneNumbers' && def.name === 'value') return 'tel';
  return 'text';
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/**
 * A dateTime for a `datetime-local` control, which holds a wall-clock time without a zone: the instant in the
 * browser's time zone (the one the profile shows dates in). Seconds only when there are some. '' when unreadable.
 */
export function localDateTime(value: Json | undefined): string {
  if (typeof value !== 'string') return '';
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return '';
  const seconds = d.getSeconds() !== 0 || d.getMilliseconds() !== 0 ? `:${pad(d.getSeconds())}` : '';
  return `${pad(d.getFullYear(), 4)}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}${seconds}`;
}

/** A `datetime-local` value (browser's time zone) as the xsd:dateTime the server takes: UTC, `2026-01-31T12:00:00Z`. */
export function utcDateTime(local: string): string | undefined {
  // ECMAScript reads a date-time without an offset as local time.
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString().replace(/\.000Z$/, 'Z');
}

function timeZoneName(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'local time';
  } catch {
    return 'local time';
  }
}

/** A plain control for a simple (non-complex) value, with its label and a hint (an operator's attribute: its description). */
function simpleControl(def: AttributeDef, label: string, value: Json | undefined, attribute: string) {
  const id = uid('f');
  const zone = def.type === 'dateTime' ? `In your time zone (${timeZoneName()}).` : undefined;
  const hintText =
    def.mutability === 'writeOnly' ? 'Write-only: never shown. Leave empty to keep the current password.' : [hintOf(def), zone].filter(Boolean).join(' ') || undefined;
  const hint = hintText ? h('small', { id: `${id}-hint`, class: 'hint' }, hintText) : undefined;
  const described = hint ? `${id}-hint` : undefined;
  if (def.type === 'boolean') {
    const input = h('input', { id, type: 'checkbox', name: def.name, 'aria-describedby': described });
    input.checked = value === true;
    return {
      element: h('div', { class: 'field checkbox' }, input, h('label', { for: id }, label), hint),
      input,
      read: (): Json | undefined => (input.checked ? true : value === undefined ? undefined : false),
      problem: (): string | undefined => undefined,
    };
  }
  if (def.canonicalValues?.length) {
    const options = [...def.canonicalValues];
    if (typeof value === 'string' && value !== '' && !options.includes(value)) options.push(value);
    const select = h(
      'select',
      { id, name: def.name, 'aria-describedby': described },
      h('option', { value: '' }, '(none)'),
      options.map((o) => h('option', { value: o, selected: o === value }, o)),
    );
    return {
      element: h('div', { class: 'field' }, h('label', { for: id }, label), select, hint),
      input: select,
      read: (): Json | undefined => select.value || undefined,
      problem: (): string | undefined => undefined,
    };
  }
  const long = def.type === 'binary' || (def.builtIn && attribute === 'addresses' && def.name === 'formatted');
  const numeric = def.type === 'integer' || def.type === 'decimal';
  const text =
    value === undefined || value === null ? '' : def.type === 'dateTime' ? localDateTime(value) : typeof value === 'string' ? value : String(value);
  const input = long
    ? h('textarea', { id, name: def.name, rows: 3, spellcheck: 'false', 'aria-describedby': described })
    : h('input', {
        id,
        name: def.name,
        type: def.mutability === 'writeOnly' ? 'password' : inputType(def, attribute),
        autocomplete: def.mutability === 'writeOnly' ? 'new-password' : 'off',
        step: def.type === 'integer' ? 1 : def.type === 'decimal' ? 'any' : def.type === 'dateTime' && /:\d\d:\d\d$/.test(text) ? 1 : undefined,
        inputmode: def.type === 'integer' ? 'numeric' : def.type === 'decimal' ? 'decimal' : undefined,
        'aria-describedby': described,
      });
  input.value = def.mutability === 'writeOnly' ? '' : text;
  // What the control held at first: left as it was, it reads back as the value it was given (a dateTime keeps its
  // own spelling and precision, so an untouched field is never sent as a change).
  const shown = input.value;
  const read = (): Json | undefined => {
    const t = input.value.trim();
    if (t === '') return undefined;
    if (def.type === 'dateTime') return input.value === shown && typeof value === 'string' ? value : (utcDateTime(t) ?? t);
    if (numeric) return Number(t);
    return t;
  };
  const problem = (): string | undefined => {
    // A number or date half typed: the control's value is '' (as if cleared), which must not be sent as a removal.
    if (input.validity.badInput) return def.type === 'dateTime' ? 'Enter a complete date and time, or clear the field.' : 'Enter a number.';
    const now = read();
    if (numeric && now !== undefined && (typeof now !== 'number' || !Number.isFinite(now))) return 'Enter a number.';
    if (def.type === 'integer' && typeof now === 'number' && !Number.isInteger(now)) return 'Enter a whole number.';
    return undefined;
  };
  return { element: h('div', { class: 'field' }, h('label', { for: id }, label), input, hint), input, read, problem };
}

function withoutEmpty(o: JsonObject): JsonObject | undefined {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined && v !== '') out[k] = v;
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The editable part of a server value (no readOnly sub-attributes, no $ref), to compare with a form's. */
export function editablePart(def: AttributeDef, value: Json | undefined): Json | undefined {
  if (value === undefined || value === null) return undefined;
  if (def.type !== 'complex') return value;
  const subs = editableSubs(def).map((s) => s.name);
  const one = (item: Json): Json | undefined => {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) return item;
    const o: JsonObject = {};
    for (const s of subs) if (item[s] !== undefined) o[s] = item[s]!;
    return withoutEmpty(o);
  };
  if (!def.multiValued) return one(value);
  const items = (Array.isArray(value) ? value : [value]).map(one).filter((x): x is Json => x !== undefined);
  return items.length > 0 ? items : undefined;
}

/**
 * The field of a top-level attribute whose server value is `value`. `initial`, when given, is what the controls
 * start with instead (a person's own values, kept after a conflict); operations are always against `value`.
 */
export function fieldFor(key: string, def: AttributeDef, value: Json | undefined, ctx: FieldContext, initial: Json | undefined = value): Field {
  if (def.mutability === 'writeOnly') return passwordField(key, def, ctx.creating === true);
  // readOnly: the server's to set; immutable: set once, and then no longer changed.
  if (def.mutability === 'readOnly' || (def.mutability === 'immutable' && editablePart(def, value) !== undefined)) return fixedField(key, def, value);
  if (isUserReference(def)) return userReferenceField(key, def, value, ctx, initial);
  if (def.type === 'complex' && def.multiValued) return multiValuedField(key, def, value, initial);
  if (def.type === 'complex') return complexField(key, def, value, initial);
  if (def.multiValued) return listField(key, def, value, initial);
  const c = simpleControl(def, labelOfKey(key), initial, key);
  const before = editablePart(def, value);
  return {
    key,
    element: c.element,
    value: c.read,
    operations: () => {
      const now = c.read();
      if (sameJson(now, before)) return [];
      return now === undefined ? [{ op: 'remove', path: key }] : [{ op: 'replace', path: key, value: now }];
    },
    control: () => c.input,
    problem: () => problemOf([c]),
  };
}

/** The first control of `controls` holding what its type cannot take. */
function problemOf(controls: readonly { input: HTMLElement; problem(): string | undefined }[]): Problem | undefined {
  for (const c of controls) {
    const message = c.problem();
    if (message) return { control: c.input, message };
  }
  return undefined;
}

/** An attribute the person may not change (readOnly, or immutable and already set): its value, shown, never sent. */
function fixedField(key: string, def: AttributeDef, value: Json | undefined): Field {
  const id = uid('f');
  return {
    key,
    element: h(
      'div',
      { class: 'field fixed', role: 'group', 'aria-labelledby': `${id}-label`, 'aria-describedby': `${id}-hint` },
      h('span', { id: `${id}-label`, class: 'label' }, labelOfKey(key)),
      h('div', null, displayValue(key, def, value)),
      h('small', { id: `${id}-hint`, class: 'hint' }, def.mutability === 'readOnly' ? 'Read-only: set by the server.' : 'Set once: it cannot be changed.'),
    ),
    value: () => editablePart(def, value),
    operations: () => [],
    control: () => undefined,
    problem: () => undefined,
  };
}

/**
 * A password is never shown; a value typed is a new one, an empty field keeps the current one. For a new user it
 * is the optional initial password: never shown again, not even to the administrator who set it (writeOnly,
 * RFC 7643 §2.2: "The attribute MAY be updated at any time. Attribute values SHALL NOT be returned").
 */
function passwordField(key: string, def: AttributeDef, creating = false): Field {
  const c = simpleControl(def, creating ? 'Initial password (optional)' : 'New password', undefined, key);
  if (creating) {
    const hint = c.element.querySelector('.hint');
    if (hint) hint.textContent = 'Write-only: never shown again, not even to you. Leave empty to set none.';
  }
  return {
    key,
    element: c.element,
    value: () => undefined,
    operations: () => {
      const now = c.read();
      return now === undefined ? [] : [{ op: 'replace', path: key, value: now }];
    },
    control: () => c.input,
    problem: () => undefined,
  };
}

/** name, authentication: one control per sub-attribute, each changed one patched by its own path. */
function complexField(key: string, def: AttributeDef, value: Json | undefined, initial: Json | undefined): Field {
  const asObject = (v: Json | undefined): JsonObject => (v !== null && v !== undefined && typeof v === 'object' && !Array.isArray(v) ? v : {});
  const current = asObject(value);
  const start = asObject(initial);
  const controls = editableSubs(def).map((sub) => ({ sub, c: simpleControl(sub, labelOf(sub.name, sub.builtIn), start[sub.name], key) }));
  const read = (): JsonObject | undefined => withoutEmpty(Object.fromEntries(controls.map(({ sub, c }) => [sub.name, c.read() as Json])));
  return {
    key,
    element: h('fieldset', { class: 'group' }, h('legend', null, labelOfKey(key)), controls.map(({ c }) => c.element)),
    value: read,
    operations: () =>
      controls.flatMap(({ sub, c }): PatchOperation[] => {
        const now = c.read();
        const was = current[sub.name];
        if (sameJson(now, was === null ? undefined : was)) return [];
        const path = `${key}.${sub.name}`;
        return now === undefined ? [{ op: 'remove', path }] : [{ op: 'replace', path, value: now }];
      }),
    control: (path) => (controls.find(({ sub }) => sub.name.toLowerCase() === path.sub?.toLowerCase()) ?? controls[0])?.c.input,
    problem: () => problemOf(controls.map(({ c }) => c)),
  };
}

/**
 * A multi-valued simple attribute (none in the core User, but an operator's schema may have one): one value per
 * line, each read as the attribute's type (numbers as numbers, booleans as booleans; dateTimes as written, in UTC).
 */
function listField(key: string, def: AttributeDef, value: Json | undefined, initial: Json | undefined): Field {
  const id = uid('f');
  const area = h('textarea', { id, rows: 3, 'aria-describedby': `${id}-hint` });
  area.value = (Array.isArray(initial) ? initial : []).map(String).join('\n');
  const numeric = def.type === 'integer' || def.type === 'decimal';
  const lines = () => area.value.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const typed = (line: string): Json => {
    if (numeric && line !== '' && Number.isFinite(Number(line))) return Number(line);
    if (def.type === 'boolean' && /^(true|false)$/i.test(line)) return line.toLowerCase() === 'true';
    return line;
  };
  const read = (): Json[] | undefined => {
    const values = lines().map(typed);
    return values.length > 0 ? values : undefined;
  };
  const before = Array.isArray(value) && value.length > 0 ? value : undefined;
  const hints: Record<string, string> = {
    integer: ' Whole numbers.',
    decimal: ' Numbers.',
    boolean: ' true or false.',
    dateTime: ' Dates and times in UTC, e.g. 2026-01-31T12:00:00Z.',
  };
  const hint = [hintOf(def), `One value per line.${Object.hasOwn(hints, def.type) ? hints[def.type] : ''}`, def.canonicalValues?.length ? `One of: ${def.canonicalValues.join(', ')}.` : '']
    .filter(Boolean)
    .join(' ');
  return {
    key,
    element: h('div', { class: 'field' }, h('label', { for: id }, labelOfKey(key)), area, h('small', { id: `${id}-hint`, class: 'hint' }, hint)),
    value: read,
    operations: () => {
      const now = read();
      if (sameJson(now, before)) return [];
      return now === undefined ? [{ op: 'remove', path: key }] : [{ op: 'replace', path: key, value: now }];
    },
    control: () => area,
    problem: () => {
      const wrong = (read() ?? []).find((v) =>
        numeric ? typeof v !== 'number' || (def.type === 'integer' && !Number.isInteger(v)) : def.type === 'boolean' ? typeof v !== 'boolean' : false,
      );
      if (wrong === undefined) return undefined;
      return { control: area, message: `“${String(wrong)}” is not ${def.type === 'integer' ? 'a whole number' : def.type === 'boolean' ? 'true or false' : 'a number'}.` };
    },
  };
}

/** emails, phoneNumbers, photos, addresses…: a list of rows, added and removed, replaced whole when changed. */
function multiValuedField(key: string, def: AttributeDef, value: Json | undefined, initial: Json | undefined): Field {
  const attribute = labelOfKey(key);
  const rowName = (def.builtIn && Object.hasOwn(ROW_NAMES, def.name) ? ROW_NAMES[def.name] : undefined) ?? 'Value';
  const valueLabel = def.builtIn && Object.hasOwn(VALUE_LABELS, def.name) ? VALUE_LABELS[def.name] : undefined;
  const subs = editableSubs(def);
  const list = h('div', { class: 'rows' });
  interface Row {
    element: HTMLElement;
    controls: { sub: AttributeDef; c: ReturnType<typeof simpleControl> }[];
  }
  const rows: Row[] = [];
  const legendOf = (i: number) => `${rowName} ${i + 1}`;
  const renumber = () => rows.forEach((r, i) => (r.element.querySelector('legend')!.textContent = legendOf(i)));
  const addRow = (item: JsonObject, focus: boolean) => {
    const controls = subs.map((sub) => ({
      sub,
      c: simpleControl(sub, (sub.name === 'value' ? valueLabel : undefined) ?? labelOf(sub.name, sub.builtIn), item[sub.name], def.name),
    }));
    const row: Row = { element: h('fieldset', { class: 'row' }), controls };
    const remove = h(
      'button',
      {
        type: 'button',
        class: 'link-button',
        onclick: () => {
          const i = rows.indexOf(row);
          rows.splice(i, 1);
          row.element.remove();
          renumber();
          (rows[Math.min(i, rows.length - 1)]?.controls[0]?.c.input ?? add).focus();
        },
      },
      'Remove',
    );
    row.element.append(h('legend', null, legendOf(rows.length)), ...controls.map(({ c }) => c.element), remove);
    // The remove button says which row it removes, for a screen reader reading it out of context.
    remove.setAttribute('aria-label', `Remove ${legendOf(rows.length).toLowerCase()}`);
    rows.push(row);
    list.append(row.element);
    if (focus) controls[0]?.c.input.focus();
  };
  const add = h('button', { type: 'button', class: 'secondary', onclick: () => addRow({}, true) }, `Add ${rowName.toLowerCase()}`);
  for (const item of Array.isArray(initial) ? initial : []) if (item !== null && typeof item === 'object' && !Array.isArray(item)) addRow(item, false);
  const before = editablePart(def, value);
  const read = (): Json[] | undefined => {
    const items = rows.map((r) => withoutEmpty(Object.fromEntries(r.controls.map(({ sub, c }) => [sub.name, c.read() as Json])))).filter((x): x is JsonObject => x !== undefined);
    return items.length > 0 ? items : undefined;
  };
  return {
    key,
    element: h('fieldset', { class: 'group' }, h('legend', null, attribute), list, add),
    value: read,
    operations: () => {
      const now = read();
      if (sameJson(now, before)) return [];
      return now === undefined ? [{ op: 'remove', path: key }] : [{ op: 'replace', path: key, value: now }];
    },
    control: (path) => {
      // The server's index is into the list it was sent: the non-empty rows, in order.
      const sent = rows.filter((r) => r.controls.some(({ c }) => c.read() !== undefined));
      const row = path.index !== undefined ? sent[path.index] : undefined;
      const c = row?.controls.find(({ sub }) => sub.name.toLowerCase() === path.sub?.toLowerCase()) ?? row?.controls[0];
      return c?.c.input ?? rows[0]?.controls[0]?.c.input ?? add;
    },
    problem: () => problemOf(rows.flatMap((r) => r.controls.map(({ c }) => c))),
  };
}

/**
 * The enterprise manager: the id of another User. Typing a name and choosing from the matches fills the id, so an
 * administrator never needs to know ids; the server checks the id exists and makes no cycle.
 */
function userReferenceField(key: string, def: AttributeDef, value: Json | undefined, ctx: FieldContext, initial: Json | undefined): Field {
  const current = value !== null && value !== undefined && typeof value === 'object' && !Array.isArray(value) ? value : {};
  const start = initial !== null && initial !== undefined && typeof initial === 'object' && !Array.isArray(initial) ? initial : {};
  const id = uid('f');
  const input = h('input', { id, type: 'text', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': `${id}-now` });
  input.value = typeof start.value === 'string' ? start.value : '';
  const chosen = h('small', { id: `${id}-now`, class: 'hint', 'aria-live': 'polite' }, describeCurrent(current));
  const searchId = uid('f');
  const search = h('input', { id: searchId, type: 'search', autocomplete: 'off' });
  const results = h('ul', { class: 'picker', 'aria-label': `Matches for ${labelOfKey(key).toLowerCase()}` });
  const find = async () => {
    const q = search.value.trim();
    if (q === '') return;
    results.replaceChildren(h('li', { class: 'muted' }, 'Searching…'));
    try {
      const filter = `displayName co ${literal(q)} or userName co ${literal(q)} or name.formatted co ${literal(q)}`;
      const { body } = await ctx.api.get<{ Resources?: JsonObject[] }>('/Users', { filter, count: 10, attributes: 'displayName,userName,title' });
      const found = body.Resources ?? [];
      results.replaceChildren(
        ...(found.length === 0
          ? [h('li', { class: 'muted' }, `No one matches “${q}”.`)]
          : found.map((u) =>
              h(
                'li',
                null,
                h(
                  'button',
                  {
                    type: 'button',
                    class: 'link-button',
                    onclick: () => {
                      input.value = String(u.id);
                      chosen.textContent = `Chosen: ${String(u.displayName ?? u.userName)} (${String(u.userName)})`;
                      results.replaceChildren();
                      input.focus();
                    },
                  },
                  `${String(u.displayName ?? u.userName)} (${String(u.userName)})${typeof u.title === 'string' ? ` · ${u.title}` : ''}`,
                ),
              ),
            )),
      );
    } catch (e) {
      results.replaceChildren(h('li', { class: 'error' }, e instanceof Error ? e.message : String(e)));
    }
  };
  search.addEventListener('keydown', (e) => {
    // Enter searches here rather than submitting the section's form.
    if (e.key === 'Enter') {
      e.preventDefault();
      void find();
    }
  });
  const read = (): Json | undefined => (input.value.trim() === '' ? undefined : { value: input.value.trim() });
  const before = editablePart(def, value);
  return {
    key,
    element: h(
      'fieldset',
      { class: 'group' },
      h('legend', null, labelOfKey(key)),
      h('div', { class: 'field' }, h('label', { for: id }, `${labelOfKey(key)}: user id`), input, chosen),
      h(
        'div',
        { class: 'field search-field' },
        h('label', { for: searchId }, `Find a ${labelOfKey(key).toLowerCase()} by name`),
        h('div', { class: 'inline' }, search, h('button', { type: 'button', class: 'secondary', onclick: () => void find() }, 'Find')),
      ),
      results,
    ),
    value: read,
    operations: () => {
      const now = read();
      if (sameJson(now, before)) return [];
      return now === undefined ? [{ op: 'remove', path: key }] : [{ op: 'replace', path: key, value: now }];
    },
    control: () => input,
    problem: () => undefined,
  };
}

function describeCurrent(current: JsonObject): Child {
  if (typeof current.value !== 'string') return 'None set.';
  return `Now: ${typeof current.displayName === 'string' ? current.displayName : current.value}`;
}
