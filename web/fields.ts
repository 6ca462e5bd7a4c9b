/**
 * Form fields for a User's attributes, built from their schema definitions, and the PATCH operations (RFC 7644
 * §3.5.2) that turn the value shown into the value typed. Only what changed is sent, and in the narrowest path
 * that says it: `name.givenName` rather than all of `name`, so a save never rewrites what the person did not touch.
 * A multi-valued attribute (emails) has no narrower path that survives reordering, so it is replaced whole.
 */
import type { Api, Json, JsonObject } from './api';
import { literal } from './api';
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
}

export interface FieldContext {
  api: Api;
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
  if (attribute === 'emails' && def.name === 'value') return 'email';
  if (attribute === 'phoneNumbers' && def.name === 'value') return 'tel';
  return 'text';
}

/** A plain control for a simple (non-complex) value, with its label and the schema's description as a hint. */
function simpleControl(def: AttributeDef, label: string, value: Json | undefined, attribute: string) {
  const id = uid('f');
  const hintText = def.mutability === 'writeOnly' ? 'Write-only: never shown. Leave empty to keep the current password.' : hintOf(def.name);
  const hint = hintText ? h('small', { id: `${id}-hint`, class: 'hint' }, hintText) : undefined;
  const described = hint ? `${id}-hint` : undefined;
  if (def.type === 'boolean') {
    const input = h('input', { id, type: 'checkbox', name: def.name, 'aria-describedby': described });
    input.checked = value === true;
    return {
      element: h('div', { class: 'field checkbox' }, input, h('label', { for: id }, label), hint),
      input,
      read: (): Json | undefined => (input.checked ? true : value === undefined ? undefined : false),
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
    return { element: h('div', { class: 'field' }, h('label', { for: id }, label), select, hint), input: select, read: () => select.value || undefined };
  }
  const long = def.type === 'binary' || (attribute === 'addresses' && def.name === 'formatted');
  const text = value === undefined || value === null ? '' : typeof value === 'string' ? value : String(value);
  const input = long
    ? h('textarea', { id, name: def.name, rows: 3, spellcheck: 'false', 'aria-describedby': described })
    : h('input', {
        id,
        name: def.name,
        type: def.mutability === 'writeOnly' ? 'password' : inputType(def, attribute),
        autocomplete: def.mutability === 'writeOnly' ? 'new-password' : 'off',
        'aria-describedby': described,
      });
  input.value = def.mutability === 'writeOnly' ? '' : text;
  const read = (): Json | undefined => {
    const t = input.value.trim();
    if (t === '') return undefined;
    if (def.type === 'integer' || def.type === 'decimal') return Number(t);
    return t;
  };
  return { element: h('div', { class: 'field' }, h('label', { for: id }, label), input, hint), input, read };
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
  if (def.mutability === 'writeOnly') return passwordField(key, def);
  if (isUserReference(def)) return userReferenceField(key, def, value, ctx, initial);
  if (def.type === 'complex' && def.multiValued) return multiValuedField(key, def, value, initial);
  if (def.type === 'complex') return complexField(key, def, value, initial);
  if (def.multiValued) return listField(key, value, initial);
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
  };
}

/** A password is never shown; a value typed is a new one, an empty field keeps the current one. */
function passwordField(key: string, def: AttributeDef): Field {
  const c = simpleControl(def, 'New password', undefined, key);
  return {
    key,
    element: c.element,
    value: () => undefined,
    operations: () => {
      const now = c.read();
      return now === undefined ? [] : [{ op: 'replace', path: key, value: now }];
    },
    control: () => c.input,
  };
}

/** name, authentication: one control per sub-attribute, each changed one patched by its own path. */
function complexField(key: string, def: AttributeDef, value: Json | undefined, initial: Json | undefined): Field {
  const asObject = (v: Json | undefined): JsonObject => (v !== null && v !== undefined && typeof v === 'object' && !Array.isArray(v) ? v : {});
  const current = asObject(value);
  const start = asObject(initial);
  const controls = editableSubs(def).map((sub) => ({ sub, c: simpleControl(sub, labelOf(sub.name), start[sub.name], key) }));
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
  };
}

/** A multi-valued simple attribute (none in the core User, but a schema may grow one): one value per line. */
function listField(key: string, value: Json | undefined, initial: Json | undefined): Field {
  const id = uid('f');
  const area = h('textarea', { id, rows: 3, 'aria-describedby': `${id}-hint` });
  area.value = (Array.isArray(initial) ? initial : []).map(String).join('\n');
  const read = (): Json[] | undefined => {
    const lines = area.value.split('\n').map((l) => l.trim()).filter((l) => l !== '');
    return lines.length > 0 ? lines : undefined;
  };
  const before = Array.isArray(value) && value.length > 0 ? value : undefined;
  return {
    key,
    element: h('div', { class: 'field' }, h('label', { for: id }, labelOfKey(key)), area, h('small', { id: `${id}-hint`, class: 'hint' }, 'One value per line.')),
    value: read,
    operations: () => {
      const now = read();
      if (sameJson(now, before)) return [];
      return now === undefined ? [{ op: 'remove', path: key }] : [{ op: 'replace', path: key, value: now }];
    },
    control: () => area,
  };
}

/** emails, phoneNumbers, photos, addresses…: a list of rows, added and removed, replaced whole when changed. */
function multiValuedField(key: string, def: AttributeDef, value: Json | undefined, initial: Json | undefined): Field {
  const attribute = labelOfKey(key);
  const rowName = ROW_NAMES[def.name] ?? 'Value';
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
      c: simpleControl(sub, sub.name === 'value' ? (VALUE_LABELS[def.name] ?? labelOf(sub.name)) : labelOf(sub.name), item[sub.name], def.name),
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
  };
}

function describeCurrent(current: JsonObject): Child {
  if (typeof current.value !== 'string') return 'None set.';
  return `Now: ${typeof current.displayName === 'string' ? current.displayName : current.value}`;
}
