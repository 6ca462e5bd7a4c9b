/**
 * Sign-in: the person pastes a bearer token, which the page checks by asking the server what it may do
 * (GET /Sections). The token goes to session storage only (session.ts), never into the address.
 */
import { ApiError } from '../api';
import { fill, focusHeading, h } from '../dom';
import { openSession, type Session } from '../session';
import { title } from './common';

export const MINT_COMMAND = 'npm run token -- --scope "scim:read scim:write" --roles globalAdmin --subject you@example.com --ttl 8h';

export function signInView(main: HTMLElement, signedIn: (session: Session) => void, onUnauthorized: (e: ApiError) => void, notice?: string): void {
  title('Sign in');
  const area = h('textarea', {
    id: 'token',
    name: 'token',
    rows: 4,
    required: true,
    autocomplete: 'off',
    spellcheck: 'false',
    'aria-describedby': 'token-hint',
  });
  const error = h('p', { id: 'token-error', class: 'field-error', hidden: true });
  const submit = h('button', { type: 'submit' }, 'Sign in');
  const form = h(
    'form',
    {
      class: 'signin',
      novalidate: true,
      onsubmit: async (e: Event) => {
        e.preventDefault();
        // Pasted from an Authorization header or a terminal: the scheme and whitespace are not part of the token.
        const token = area.value.trim().replace(/^Bearer\s+/i, '').replace(/\s+/g, '');
        if (token === '') return fail('Paste a bearer token first.');
        submit.disabled = true;
        submit.textContent = 'Checking…';
        try {
          signedIn(await openSession(token, onUnauthorized));
        } catch (err) {
          submit.disabled = false;
          submit.textContent = 'Sign in';
          if (err instanceof ApiError && err.status === 401) fail(`The server refused this token: ${err.detail}`);
          else if (err instanceof ApiError && err.status === 403) fail(`This token may not read the directory (it needs the scim:read scope): ${err.detail}`);
          else fail(err instanceof Error ? err.message : String(err));
        }
      },
    },
    h('div', { class: 'field' }, h('label', { for: 'token' }, 'Bearer token'), area, error),
    h(
      'p',
      { id: 'token-hint', class: 'hint' },
      'An operator mints an administrator token on the server with ',
      h('code', null, MINT_COMMAND),
      '. The page keeps it in this browser tab only (session storage: it is gone when the tab closes), sends it only to this server, and never puts it in the address.',
    ),
    h('div', { class: 'actions' }, submit),
  );
  const fail = (message: string) => {
    error.textContent = message;
    error.hidden = false;
    area.setAttribute('aria-invalid', 'true');
    area.setAttribute('aria-describedby', 'token-error token-hint');
    area.focus();
  };
  fill(
    main,
    h('h1', { id: 'page-title', tabindex: -1 }, 'Sign in'),
    notice ? h('p', { class: 'alert warning', role: 'alert' }, notice) : null,
    h('p', null, 'This page shows and changes the directory through its SCIM API, with exactly the rights of the token you sign in with.'),
    form,
  );
  if (notice) focusHeading(document.getElementById('page-title'));
  else area.focus();
}
