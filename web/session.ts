/**
 * Who is signed in and what they may do. The token is kept in sessionStorage only: it is gone when the tab closes,
 * is not shared with other tabs, and never appears in a URL (so not in history, logs or a Referer). What the token
 * may do comes from the server (GET /Sections), which decides every request anyway; the page only uses it to show
 * which sections are editable and why the others are not.
 */
import { Api, ApiError, type JsonObject, type ListResponse } from './api';
import { type Schemas, schemasFrom } from './schema';

const TOKEN_KEY = 'scim-admin-page.token';

export function storedToken(): string | undefined {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

export function storeToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function forgetToken(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** What the token says about its holder, read (not verified: the server does that) to show who is signed in. */
export interface Claims {
  subject?: string;
  /** The OAuth client, as the server reads it (client_id, azp, appid): a source of authority is named by it. */
  clientId?: string;
  /** Seconds since the epoch. */
  expires?: number;
}

export function claimsOf(token: string): Claims {
  try {
    const part = token.split('.')[1] ?? '';
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '='));
    const c = JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (ch) => ch.charCodeAt(0)))) as Record<string, unknown>;
    const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
    return {
      subject: text(c.sub),
      clientId: text(c.client_id) ?? text(c.azp) ?? text(c.appid),
      expires: typeof c.exp === 'number' ? c.exp : undefined,
    };
  } catch {
    return {};
  }
}

/** A section of the profile as GET /Sections describes it for this token. */
export interface SectionInfo {
  name: string;
  description?: string;
  /** Top-level attribute keys; extension ones URN-qualified. */
  attributes: string[];
  writers?: string[];
  readers?: string[];
  writable: boolean;
  readable: boolean;
}

interface SectionsBody {
  grants: 'all' | string[];
  roles: string[];
  administrator: boolean;
  authoritativeFor: string[];
  Resources: SectionInfo[];
}

export interface Session {
  api: Api;
  token: string;
  claims: Claims;
  roles: string[];
  administrator: boolean;
  grants: 'all' | string[];
  authoritativeFor: string[];
  sections: SectionInfo[];
  schemas: Schemas;
}

/**
 * Checks a token by asking the server what it may do, and reads the User schemas the forms are built from. Throws
 * the server's error (401 for a bad token, 403 for one without scim:read).
 */
export async function openSession(token: string, onUnauthorized: (e: ApiError) => void): Promise<Session> {
  const api = new Api(() => token, onUnauthorized);
  const [sections, schemas] = await Promise.all([api.get<SectionsBody>('/Sections'), api.get<ListResponse>('/Schemas')]);
  const s = sections.body;
  return {
    api,
    token,
    claims: claimsOf(token),
    roles: s.roles,
    administrator: s.administrator,
    grants: s.grants,
    authoritativeFor: s.authoritativeFor,
    sections: s.Resources,
    schemas: schemasFrom((schemas.body.Resources ?? []) as JsonObject[]),
  };
}

const ROLE_NAMES: Record<string, string> = { globalAdmin: 'Global administrator', userAdmin: 'User administrator' };

export function roleName(role: string): string {
  return ROLE_NAMES[role] ?? role;
}
