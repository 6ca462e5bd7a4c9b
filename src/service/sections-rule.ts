/**
 * Who may change which section of a user profile (issue 14; sections in schemas/sections.json, ../scim/sections.ts).
 *
 * A caller's grant comes from its token's scopes:
 * - `scim:write`: every section (an administrator's or a full provisioning client's token, as every token was before
 *   sections existed, so existing clients keep working);
 * - `scim:write:<section>` (`scim:write:jobInfo` for an HR feed; `scim:write:identity scim:write:contact
 *   scim:write:settings scim:write:account` for an identity provider): those sections only.
 * Scopes rather than a role claim, because every OAuth server issues scopes and clients already ask for SCIM scopes
 * by name (RFC 6749 §3.3); roles (global and user administrators, authentication contact info) come with the
 * sections that need them.
 *
 * Enforced in every write through the rules of the single write path (ResourceService.write), before anything is
 * stored:
 * - POST and PATCH: an attribute whose value the write changes, in a section the caller may not write, is refused
 *   with 403 naming the attribute and the section; the whole request changes nothing.
 * - PUT: the sections the caller may not write are left as they are (a full replace from an identity provider must
 *   not wipe the job info an HR feed set); a password in the body of a caller without `account` is refused, since a
 *   password is always asserted, never wiped by omission.
 * The server's own repairs (SYSTEM_CALLER) are not limited.
 */
import { errors } from '../scim/errors';
import type { Sections } from '../scim/sections';
import type { Caller, ResourceRule } from './resources';

/** The sections a caller may write: all of them, or those its token names. */
export interface Grant {
  all: boolean;
  sections: ReadonlySet<string>;
}

const SECTION_SCOPE = 'scim:write:';

export function grantOf(caller: Caller): Grant {
  if (caller.system || caller.scopes.includes('scim:write')) return { all: true, sections: new Set() };
  return { all: false, sections: new Set(caller.scopes.filter((s) => s.startsWith(SECTION_SCOPE)).map((s) => s.slice(SECTION_SCOPE.length))) };
}

/** Whether a token may write at all through a route whose resource type has sections. */
export function writesSomeSection(scopes: ReadonlySet<string>): boolean {
  for (const s of scopes) if (s.startsWith(SECTION_SCOPE) && s.length > SECTION_SCOPE.length) return true;
  return false;
}

export function sectionsRule(sections: Sections): ResourceRule {
  return {
    name: 'sections',
    async beforeWrite(next, current, context) {
      const grant = grantOf(context.caller);
      if (grant.all) return;
      const may = (section: string) => grant.sections.has(section);
      const granted = [...grant.sections].join(', ') || 'none';
      if (context.operation === 'replace' && current) sections.restore(next, current.resource, may);
      if (context.password && !may('account')) {
        throw errors.forbidden(`'password' is in section account, which this client may not change (its token grants: ${granted})`);
      }
      for (const [section, attributes] of sections.changes(current?.resource, next)) {
        if (may(section)) continue;
        throw errors.forbidden(
          `'${attributes[0]}' is in section ${section}, which this client may not change (its token grants: ${granted}); nothing was changed`,
        );
      }
    },
  };
}
