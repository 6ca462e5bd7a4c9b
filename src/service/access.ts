/**
 * Who may do what to a user profile: which sections a caller may write and read, who may release a
 * section a source of authority owns, who may read the audit trail. Decided from the verified token alone, plus
 * the operator's list of authoritative clients; the sections themselves are data (schemas/sections.json).
 *
 * - Roles come from the token's `roles` claim (RFC 9068 §2.2.3.1: "roles", as SCIM's User.roles, in an access
 *   token; Entra ID puts an application's app roles there): `globalAdmin` may do everything, `userAdmin` everything
 *   but change the sections whose `writers` leave it out (authentication contact info). Both may read every
 *   section, release a source's ownership and read the audit trail. A role, unlike a scope, names a person's or a
 *   service's standing in the directory, which is what the directory model grants these rights to.
 * - Sections a client may write come from its scopes: `scim:write` every section anyone may write, a
 *   `scim:write:<section>` scope that section (an HR feed: `scim:write:jobInfo`). Scopes are what an OAuth client
 *   asks its authorization server for (RFC 6749 §3.3), so a client's reach is set where its credentials are.
 * - Sources of authority are the operator's configuration (SCIM_AUTHORITIES: client id -> sections), not a token's
 *   claim: which system is the source of record for job info is a decision about the directory, made once, and an
 *   ownership recorded on a user must name the same client on every later token.
 */
import type { Sections } from '../scim/sections';
import type { Caller } from './resources';

export const ROLES = ['globalAdmin', 'userAdmin'] as const;
export type Role = (typeof ROLES)[number];

const SECTION_SCOPE = 'scim:write:';

/** The sections a caller may write: `all` when it may write every one. */
export interface Grant {
  all: boolean;
  sections: ReadonlySet<string>;
}

/** The roles a token's claims give: the `roles` claim, a list or a space-separated string. */
export function rolesOf(claims: Readonly<Record<string, unknown>>): string[] {
  const claim = claims.roles;
  if (typeof claim === 'string') return claim.split(/\s+/).filter((r) => r !== '');
  if (Array.isArray(claim)) return claim.filter((r): r is string => typeof r === 'string');
  return [];
}

export function isAdmin(caller: Pick<Caller, 'roles' | 'system'>): boolean {
  return caller.system === true || caller.roles.some((r) => (ROLES as readonly string[]).includes(r));
}

/** Whether a token may write at all through a route whose resource type has sections. */
export function writesSomeSection(scopes: ReadonlySet<string>): boolean {
  for (const s of scopes) if (s.startsWith(SECTION_SCOPE) && s.length > SECTION_SCOPE.length) return true;
  return false;
}

export class AccessPolicy {
  private readonly authorities: ReadonlyMap<string, ReadonlySet<string>>;
  /** The sections a person may change of themselves (/Me). */
  readonly selfService: ReadonlySet<string>;

  /**
   * `authorities`: client id -> the sections it is the source of authority for; `selfService`: the sections of
   * /Me. Both checked against the sections: an unknown name stops the server at boot.
   */
  constructor(
    readonly sections: Sections,
    authorities: Readonly<Record<string, readonly string[]>> = {},
    selfService: readonly string[] = [],
  ) {
    const problems: string[] = [];
    const map = new Map<string, ReadonlySet<string>>();
    for (const [client, names] of Object.entries(authorities)) {
      for (const name of names) if (!sections.names.includes(name)) problems.push(`client ${client}: no section is named ${JSON.stringify(name)}`);
      map.set(client, new Set(names));
    }
    if (problems.length > 0) throw new Error(`SCIM_AUTHORITIES: ${problems.join('; ')} (sections: ${sections.names.join(', ')})`);
    const unknown = selfService.filter((name) => !sections.names.includes(name));
    if (unknown.length > 0) throw new Error(`SCIM_ME_SECTIONS: no section is named ${unknown.map((n) => JSON.stringify(n)).join(', ')} (sections: ${sections.names.join(', ')})`);
    this.authorities = map;
    this.selfService = new Set(selfService);
  }

  grantOf(caller: Caller): Grant {
    if (caller.system) return { all: true, sections: new Set(this.sections.names) };
    const everything = isAdmin(caller) || caller.scopes.includes('scim:write');
    const writable = new Set<string>();
    for (const section of this.sections.definitions) {
      if (!everything && !caller.scopes.includes(SECTION_SCOPE + section.name)) continue;
      if (section.writers && !section.writers.some((r) => caller.roles.includes(r))) continue;
      writable.add(section.name);
    }
    if (caller.self) for (const name of this.selfService) writable.add(name);
    return { all: writable.size === this.sections.names.length, sections: writable };
  }

  mayRead(caller: Caller, section: string): boolean {
    const readers = this.sections.section(section)?.readers;
    return caller.system === true || readers === undefined || readers.some((r) => caller.roles.includes(r));
  }

  /** The top-level attribute keys whose values this caller may not read (nor filter or sort by). */
  unreadable(caller: Caller): ReadonlySet<string> {
    return new Set(this.sections.restrictedAttributes.filter((key) => !this.mayRead(caller, this.sections.sectionOfKey(key)!)));
  }

  /** Only an administrator releases a source's ownership, and of a section with `writers`, only one of those. */
  mayRelease(caller: Caller, section: string): boolean {
    if (!isAdmin(caller)) return false;
    const writers = this.sections.section(section)?.writers;
    return caller.system === true || writers === undefined || writers.some((r) => caller.roles.includes(r));
  }

  /** The sections this caller's client is the source of authority for. */
  authoritativeFor(caller: Caller): ReadonlySet<string> {
    return (caller.clientId !== undefined && this.authorities.get(caller.clientId)) || new Set();
  }
}
