/**
 * A form's errors where they belong: the server's words at the field they name (errors.ts), else above the form,
 * focused so that a keyboard or screen-reader user lands on them. Shared by the profile's sections and the
 * new-user form.
 */
import { ApiError } from './api';
import { h, uid } from './dom';
import { fieldOfError } from './errors';
import type { Field } from './fields';
import { labelOfKey } from './schema';
import { errorText } from './views/common';

export function clearErrors(form: HTMLFormElement, alert: HTMLElement): void {
  alert.hidden = true;
  alert.replaceChildren();
  for (const p of form.querySelectorAll('.field-error')) p.remove();
  for (const el of form.querySelectorAll('[aria-invalid]')) {
    el.removeAttribute('aria-invalid');
    const rest = (el.getAttribute('aria-describedby') ?? '').split(' ').filter((x) => x !== '' && !x.startsWith('err-'));
    if (rest.length > 0) el.setAttribute('aria-describedby', rest.join(' '));
    else el.removeAttribute('aria-describedby');
  }
}

/** A refused save: the message at the field it names, else above the form. */
export function showError(e: unknown, fields: Field[], operationPaths: string[], alert: HTMLElement, prefix = 'Not saved'): void {
  if (e instanceof ApiError && e.status !== 0) {
    const path = fieldOfError(e.detail, fields.map((f) => f.key), operationPaths);
    const field = path && fields.find((f) => f.key.toLowerCase() === path.key.toLowerCase());
    const control = field && path ? field.control(path) : undefined;
    if (control) return markField(control, e.detail, labelOfKey(field!.key), path?.sub, alert, prefix);
  }
  alert.replaceChildren(h('p', null, `${prefix}: ${errorText(e)}`));
  alert.hidden = false;
  alert.focus();
}

/** A message at the control it is about: the control marked invalid, described by it, and focused. */
export function markField(control: HTMLElement, text: string, label: string, sub: string | undefined, alert: HTMLElement, prefix = 'Not saved'): void {
  const id = uid('err');
  const message = h('p', { id, class: 'field-error' }, text);
  control.setAttribute('aria-invalid', 'true');
  control.setAttribute('aria-describedby', [control.getAttribute('aria-describedby'), id].filter(Boolean).join(' '));
  (control.closest('.field') ?? control.parentElement ?? control).append(message);
  alert.replaceChildren(h('p', null, `${prefix}: see the message at ${label}${sub ? ` (${sub})` : ''}.`));
  alert.hidden = false;
  control.focus();
}
