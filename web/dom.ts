/**
 * Building the page from DOM nodes. Every value the server returns is untrusted text (a display name may hold
 * markup): it only ever becomes a text node or an attribute value, never HTML. There is no innerHTML anywhere in
 * the page, and the Content-Security-Policy forbids inline script besides.
 */

export type Child = Node | string | number | false | null | undefined | readonly Child[];

type Listener = (event: Event) => void;
export type Attrs = Record<string, string | number | boolean | Listener | null | undefined>;

/**
 * h('button', { type: 'button', onclick: f }, 'Save'): an element with attributes, listeners (`on…` keys) and
 * children. `false`, `null` and `undefined` attribute values and children are left out, so conditions read inline.
 */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === false || value === null || value === undefined) continue;
    if (typeof value === 'function') el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

export function append(parent: Node, children: readonly Child[]): void {
  for (const c of children) {
    if (c === false || c === null || c === undefined) continue;
    if (Array.isArray(c)) append(parent, c);
    else parent.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : (c as Node));
  }
}

/** Replaces an element's content. */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

let ids = 0;
/** A document-unique id for label/aria wiring. */
export function uid(prefix: string): string {
  return `${prefix}-${++ids}`;
}

/** A polite announcement for screen readers (the page's one live region), e.g. "Saved Job info". */
export function announce(text: string): void {
  const region = document.getElementById('announcer');
  if (!region) return;
  // Cleared first so that the same message twice is announced twice.
  region.textContent = '';
  window.setTimeout(() => (region.textContent = text), 30);
}

/** Moves focus to an element that is not focusable by itself (a heading after navigation), for keyboard users. */
export function focusHeading(el: HTMLElement | null | undefined): void {
  if (!el) return;
  if (!el.hasAttribute('tabindex')) el.setAttribute('tabindex', '-1');
  el.focus();
}

/** An `https:` or `data:image/` URL, or a same-origin one, for an <img>; anything else (javascript:) is refused. */
export function safeImageUrl(text: unknown): string | undefined {
  if (typeof text !== 'string') return undefined;
  try {
    const url = new URL(text, location.href);
    if (url.protocol === 'https:' || url.origin === location.origin) return url.href;
    if (url.protocol === 'data:' && /^data:image\/(png|jpeg|gif|webp|svg\+xml)[;,]/i.test(text)) return text;
  } catch {
    // not a URL
  }
  return undefined;
}

/** An http(s) URL for a link; anything else (javascript:, data:) is shown as text only. */
export function safeLinkUrl(text: unknown): string | undefined {
  if (typeof text !== 'string') return undefined;
  try {
    const url = new URL(text);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.href : undefined;
  } catch {
    return undefined;
  }
}
