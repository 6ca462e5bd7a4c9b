/**
 * A new user: one form built from the schemas (GET /Schemas) and the sections this token may write (GET
 * /Sections), posting one POST /Users; then the new profile opens.
 *
 * - The fields are the profile's own (fields.ts), so a field is edited here as it is on a profile, and the
 *   server's errors land at the field they name with the same words (form-errors.ts).
 * - Only the sections the token may write are offered; a required attribute (RFC 7643 §2.2 `required`) outside
 *   them means this token cannot create users at all, and the page says so instead of offering a form the server
 *   would refuse.
 * - What the server checks (required values, uniqueness, canonical values) is left to it: one source of truth,
 *   its answer shown at the field.
 */
import { ApiError, type Json, type JsonObject } from '../api';
import { announce, focusHeading, h } from '../dom';
import { nameOf } from '../display';
import { clearErrors, markField, showError } from '../form-errors';
import { type Field, fieldFor } from '../fields';
import { labelOfKey, sectionName, USER_SCHEMA } from '../schema';
import { title, type ViewContext } from './common';

/**
 * What a new user starts with where the schemas say nothing. SCIM schemas have no default values; a person created
 * to sign in is active unless an administrator blocks them, as Entra ID and Okta create users.
 */
const STARTING_VALUES: Readonly<Record<string, Json>> = { active: true };

/** Puts a PATCH-style `replace` (path `key` or `key.sub`, extension keys URN-qualified) into a new resource. */
export function putValue(resource: JsonObject, path: string, value: Json): void {
  // An extension's URN holds dots itself (`…:enterprise:2.0:User`): the attribute starts after its last colon.
  const colon = path.startsWith('urn:') ? path.lastIndexOf(':') : -1;
  const urn = colon >= 0 ? path.slice(0, colon) : undefined;
  const [name = '', sub] = path.slice(colon + 1).split('.', 2);
  let holder = resource;
  if (urn) {
    const ext = resource[urn];
    holder = ext !== null && typeof ext === 'object' && !Array.isArray(ext) ? ext : (resource[urn] = {});
    const schemas = resource.schemas as string[];
    if (!schemas.includes(urn)) schemas.push(urn);
  }
  if (sub === undefined) {
    holder[name] = value;
    return;
  }
  const inner = holder[name];
  const obj = inner !== null && typeof inner === 'object' && !Array.isArray(inner) ? inner : (holder[name] = {});
  obj[sub] = value;
}

export async function newUserView(ctx: ViewContext): Promise<void> {
  title('New user');
  const { session } = ctx;
  const readable = session.sections.filter((s) => s.readable);
  const writable = readable.filter((s) => s.writable);
  const required = readable.flatMap((s) => s.attributes).filter((key) => session.schemas.attribute(key)?.required === true);
  const blocked = required.filter((key) => !writable.some((s) => s.attributes.includes(key)));
  const heading = h('h1', { id: 'page-title', tabindex: -1 }, 'New user');
  const crumbs = h('nav', { 'aria-label': 'Breadcrumb', class: 'crumbs' }, h('a', { href: '#/users' }, 'Directory'), ' › ', 'New user');
  if (writable.length === 0 || blocked.length > 0) {
    ctx.main.replaceChildren(
      crumbs,
      heading,
      h(
        'p',
        { class: 'alert warning' },
        writable.length === 0
          ? 'Your token may not change users, so it cannot create one.'
          : `Your token cannot create users: a new user needs ${blocked.map(labelOfKey).join(', ')}, which it may not set.`,
      ),
    );
    focusHeading(heading);
    return;
  }

  const fields: Field[] = [];
  const fieldsets = writable.map((info) => {
    const own = info.attributes.flatMap((key) => {
      const def = session.schemas.attribute(key);
      // The server's to set (id, meta, groups): nothing to type.
      if (!def || def.mutability === 'readOnly') return [];
      const start = Object.hasOwn(STARTING_VALUES, key) ? STARTING_VALUES[key] : undefined;
      const field = fieldFor(key, def, undefined, { api: session.api, creating: true }, start);
      if (def.required) markRequired(field);
      return [field];
    });
    fields.push(...own);
    return own.length === 0
      ? null
      : h('fieldset', { class: 'section new-user-section' }, h('legend', null, sectionName(info.name)), info.description ? h('p', { class: 'desc' }, info.description) : null, own.map((f) => f.element));
  });

  const alert = h('div', { class: 'alert error', role: 'alert', tabindex: -1, hidden: true });
  const create = h('button', { type: 'submit' }, 'Create user');
  const form: HTMLFormElement = h(
    'form',
    {
      class: 'edit new-user',
      novalidate: true,
      'aria-labelledby': 'page-title',
      onsubmit: (e: Event) => {
        e.preventDefault();
        void submit();
      },
    },
    alert,
    h('p', { class: 'muted' }, 'Fields marked “required” must be filled in. Everything else can be added later on the profile.'),
    fieldsets,
    h('div', { class: 'actions' }, create, h('a', { href: '#/users', class: 'button secondary' }, 'Cancel')),
  );

  const submit = async () => {
    clearErrors(form, alert);
    for (const f of fields) {
      const problem = f.problem();
      if (problem) return markField(problem.control, problem.message, labelOfKey(f.key), undefined, alert, 'Not created');
    }
    const resource: JsonObject = { schemas: [USER_SCHEMA] };
    const paths: string[] = [];
    for (const f of fields) {
      for (const op of f.operations()) {
        if (op.op !== 'replace' || op.value === undefined) continue;
        putValue(resource, op.path, op.value);
        paths.push(op.path);
      }
    }
    create.disabled = true;
    form.setAttribute('aria-busy', 'true');
    try {
      const r = await session.api.request('POST', '/Users', { body: resource, query: { attributes: 'id,displayName,userName,name' } });
      if (!ctx.live()) return;
      const id = String(r.body.id);
      announce(`Created ${nameOf(r.body)}.`);
      location.hash = `#/users/${encodeURIComponent(id)}`;
    } catch (e) {
      if (!ctx.live()) return;
      create.disabled = false;
      form.removeAttribute('aria-busy');
      // A uniqueness or required-value refusal names the attribute: shown at its field.
      showError(e, fields, paths, alert, e instanceof ApiError && e.status === 409 ? 'Not created (already taken)' : 'Not created');
    }
  };

  ctx.main.replaceChildren(crumbs, heading, form);
  focusHeading(heading);
}

/** A required field says so in words (not by colour or an asterisk alone), and to assistive technology. */
function markRequired(field: Field): void {
  const label = field.element.querySelector(':scope > label, :scope > legend, :scope > .label');
  label?.append(h('span', { class: 'required' }, ' (required)'));
  const control = field.control({ key: field.key });
  control?.setAttribute('aria-required', 'true');
}
