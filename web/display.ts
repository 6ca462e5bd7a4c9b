/** Attribute values as a person reads them: text, links, thumbnails; never the server's text as markup. */
import type { Json, JsonObject } from './api';
import { type Child, h, safeImageUrl, safeLinkUrl } from './dom';
import { type AttributeDef, isUserReference, labelOf } from './schema';

export function isObject(v: Json | undefined): v is JsonObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** The name a person is known by: displayName, then the formatted name, then userName. */
export function nameOf(user: JsonObject | undefined): string {
  if (!user) return '';
  const name = isObject(user.name) ? user.name : undefined;
  const given = [name?.givenName, name?.familyName].filter((x) => typeof x === 'string').join(' ');
  for (const candidate of [user.displayName, name?.formatted, given, user.userName, user.id]) {
    if (typeof candidate === 'string' && candidate.trim() !== '') return candidate;
  }
  return '(no name)';
}

export function when(iso: unknown): Child {
  if (typeof iso !== 'string') return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return h('time', { datetime: iso, title: iso }, d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }));
}

/** Active or blocked, in words (not only a colour). */
export function statusBadge(user: JsonObject): HTMLElement {
  const blocked = user.active === false;
  return h('span', { class: blocked ? 'badge blocked' : 'badge active' }, blocked ? 'Blocked' : 'Active');
}

/** The photo to show small: a thumbnail, the primary photo, or the first; undefined when none is usable. */
export function thumbnailOf(user: JsonObject): string | undefined {
  const photos = (Array.isArray(user.photos) ? user.photos : []).filter(isObject);
  const pick =
    photos.find((p) => p.type === 'thumbnail' && p.primary === true) ??
    photos.find((p) => p.type === 'thumbnail') ??
    photos.find((p) => p.primary === true) ??
    photos[0];
  return safeImageUrl(pick?.value);
}

/** A photo, or the person's initials when there is none (or it does not load). */
export function avatar(user: JsonObject, size: 'small' | 'large'): HTMLElement {
  const name = nameOf(user);
  const initials = h(
    'span',
    { class: `avatar ${size} initials`, role: 'img', 'aria-label': `No photo of ${name}` },
    name
      .split(/\s+/)
      .slice(0, 2)
      .map((w) => w.charAt(0).toUpperCase())
      .join(''),
  );
  const src = thumbnailOf(user);
  if (!src) return initials;
  const img = h('img', { class: `avatar ${size}`, src, alt: `Photo of ${name}`, referrerpolicy: 'no-referrer', decoding: 'async' });
  img.addEventListener('error', () => img.replaceWith(initials), { once: true });
  return img;
}

/** Links inside the page (hash routes): a user's profile, org chart, a group. */
export function userLink(id: string, text: string, view = ''): HTMLAnchorElement {
  return h('a', { href: `#/users/${encodeURIComponent(id)}${view}` }, text);
}

export function groupLink(id: string, text: string): HTMLAnchorElement {
  return h('a', { href: `#/groups/${encodeURIComponent(id)}` }, text);
}

function scalar(def: AttributeDef | undefined, v: Json, key: string): Child {
  if (typeof v === 'boolean') {
    if (key === 'active') return v ? 'Active' : 'Blocked';
    return v ? 'Yes' : 'No';
  }
  if (def?.type === 'dateTime') return when(v);
  if (def?.type === 'reference' && typeof v === 'string') {
    const href = safeLinkUrl(v);
    return href ? h('a', { href, rel: 'noopener noreferrer', target: '_blank' }, v) : v;
  }
  return typeof v === 'string' ? v : JSON.stringify(v);
}

const notSet = () => h('span', { class: 'muted' }, 'Not set');

/** One multi-valued item: its value, then its type and whether it is the primary one. */
function item(def: AttributeDef, v: Json, key: string): Child {
  if (!isObject(v)) return scalar(def, v, key);
  const subs = new Map((def.subAttributes ?? []).map((s) => [s.name, s]));
  const tags = [typeof v.type === 'string' ? v.type : undefined, v.primary === true ? 'primary' : undefined].filter(Boolean).join(', ');
  let main: Child;
  if (def.builtIn && def.name === 'photos') {
    const src = safeImageUrl(v.value);
    main = src
      ? h('img', { class: 'avatar large', src, alt: typeof v.display === 'string' ? v.display : `Photo${tags ? ` (${tags})` : ''}`, referrerpolicy: 'no-referrer' })
      : scalar(subs.get('value'), v.value ?? '', 'value');
  } else if (def.builtIn && def.name === 'addresses') {
    main =
      typeof v.formatted === 'string'
        ? v.formatted
        : [v.streetAddress, v.locality, v.region, v.postalCode, v.country].filter((x) => typeof x === 'string' && x !== '').join(', ');
  } else if (v.value !== undefined) {
    main = scalar(subs.get('value'), v.value, 'value');
  } else {
    main = Object.entries(v)
      .map(([k, x]) => `${labelOf(k, def.builtIn)}: ${typeof x === 'string' ? x : JSON.stringify(x)}`)
      .join('; ');
  }
  return [main, tags ? h('span', { class: 'muted' }, ` (${tags})`) : null];
}

/** A top-level attribute's value for reading. */
export function displayValue(key: string, def: AttributeDef | undefined, value: Json | undefined): Child {
  if (def?.mutability === 'writeOnly') return h('span', { class: 'muted' }, 'Never shown (write-only)');
  if (value === undefined || value === null || (Array.isArray(value) && value.length === 0)) return notSet();
  if (def && isUserReference(def) && isObject(value) && typeof value.value === 'string') {
    return userLink(value.value, typeof value.displayName === 'string' ? value.displayName : value.value);
  }
  if (Array.isArray(value)) {
    return h('ul', { class: def?.builtIn && def.name === 'photos' ? 'values photos' : 'values' }, value.map((v) => h('li', null, def ? item(def, v, key) : JSON.stringify(v))));
  }
  if (isObject(value)) {
    const subs = new Map((def?.subAttributes ?? []).map((s) => [s.name, s]));
    // In the schema's order of sub-attributes (a PATCH may have reordered the stored object), unknown ones last.
    const order = [...subs.keys()];
    const rank = (k: string) => (order.includes(k) ? order.indexOf(k) : order.length);
    return h(
      'dl',
      { class: 'sub' },
      Object.entries(value)
        .sort(([a], [b]) => rank(a) - rank(b))
        .flatMap(([k, v]) => [h('dt', null, labelOf(k, def?.builtIn ?? true)), h('dd', null, scalar(subs.get(k), v, k))]),
    );
  }
  return scalar(def, value, key);
}

/** Longer values are cut: a history or a comparison row is read at a glance, the profile shows them whole. */
const LONGEST = 120;

function shorten(text: string): string {
  if (text.startsWith('data:')) return `(an embedded ${/^data:image\//.test(text) ? 'image' : 'file'}, ${Math.round((text.length * 3) / 4 / 1024) || '<1'} KB)`;
  return text.length > LONGEST ? `${text.slice(0, LONGEST - 1)}…` : text;
}

/** An audit entry's value, in one line. */
export function compact(value: Json | undefined): string {
  if (value === undefined) return '—';
  if (value === null) return 'null';
  if (typeof value === 'string') return shorten(value);
  if (typeof value !== 'object') return String(value);
  if (Array.isArray(value)) return value.map(compact).join('; ') || '—';
  if (typeof value.value === 'string' && typeof value.displayName === 'string') return value.displayName;
  if (typeof value.value === 'string') return [shorten(value.value), value.type, value.primary === true ? 'primary' : undefined].filter((x) => typeof x === 'string').join(', ');
  return Object.entries(value)
    .map(([k, v]) => `${k}: ${compact(v)}`)
    .join(', ');
}
