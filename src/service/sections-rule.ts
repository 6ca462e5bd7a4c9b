/**
 * Who may change which section of a user profile, and who owns it (sections in schemas/sections.json,
 * ../scim/sections.ts; callers' rights in access.ts). Runs first among a User's rules, in the single write path
 * (ResourceService.write), before anything is stored, so every kind of write meets it: POST, PUT, PATCH, a release,
 * and later Bulk and /Me, which go through the same path.
 *
 * A section is writable by a caller when its grant includes it and no other source of authority owns it.
 * - POST and PATCH: an attribute whose value the write changes, in a section the caller may not write, is refused
 *   with 403 naming the attribute, the section and why (not granted, or owned by which source); the whole request
 *   changes nothing.
 * - PUT: the sections the caller may not write are left as they are. A full replace from an identity provider must
 *   not wipe the job info an HR feed owns; refusing it instead would make every IdP's routine PUT of a user with an
 *   HR-owned section fail, though it asserts nothing about job info it means to change. A password in a PUT body is
 *   different: it is always asserted, never wiped by omission, so a caller without `account` is refused.
 * - Ownership: a write by a client that is the source of authority for a section (access.ts), and may write it,
 *   claims that section if no one owns it, from the user's creation on. Owners are shown on the user in the project
 *   extension's readOnly `sources`. Only an administrator releases a section (DELETE /Users/{id}/sources/{section}),
 *   after which any granted caller may write it, and its source claims it again with its next write. Owned sections
 *   bind administrators too: in the directory model, what an authoritative source owns is changed there.
 * The server's own repairs (SYSTEM_CALLER) change what they must and keep owners as they are.
 */
import { errors } from '../scim/errors';
import { isObject, type JsonObject } from '../scim/values';
import type { AccessPolicy } from './access';
import type { Caller, ResourceRule } from './resources';

/** The project's extension of a User (schemas/ProfileUser.json). */
export const PROFILE_SCHEMA = 'urn:scim-server:schemas:extension:profile:1.0:User';

interface Ownership {
  source: string;
  since?: string;
}

/** Who owns which section of a user, as its `sources` say. */
export function ownersOf(resource: JsonObject | undefined): Map<string, Ownership> {
  const out = new Map<string, Ownership>();
  const ext = resource?.[PROFILE_SCHEMA];
  const sources = isObject(ext) ? ext.sources : undefined;
  if (!Array.isArray(sources)) return out;
  for (const s of sources) {
    if (isObject(s) && typeof s.section === 'string' && typeof s.source === 'string') {
      out.set(s.section, typeof s.since === 'string' ? { source: s.source, since: s.since } : { source: s.source });
    }
  }
  return out;
}

function setOwners(resource: JsonObject, owners: ReadonlyMap<string, Ownership>): void {
  const ext = isObject(resource[PROFILE_SCHEMA]) ? (resource[PROFILE_SCHEMA] as JsonObject) : {};
  if (owners.size === 0) delete ext.sources;
  else {
    ext.sources = [...owners]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([section, o]): JsonObject => (o.since !== undefined ? { section, source: o.source, since: o.since } : { section, source: o.source }));
  }
  if (Object.keys(ext).length > 0) resource[PROFILE_SCHEMA] = ext;
  else delete resource[PROFILE_SCHEMA];
}

function describe(caller: Caller): string {
  return caller.clientId !== undefined ? `client '${caller.clientId}'` : 'this client';
}

export function sectionsRule(policy: AccessPolicy): ResourceRule {
  const { sections } = policy;
  return {
    name: 'sections',
    async beforeWrite(next, current, context) {
      const { caller } = context;
      const owners = ownersOf(current?.resource);
      if (caller.system) {
        setOwners(next, owners);
        return;
      }
      if (context.release !== undefined) {
        const section = context.release;
        if (!sections.names.includes(section)) throw errors.notFound(`no section is named '${section}' (sections: ${sections.names.join(', ')})`);
        if (!policy.mayRelease(caller, section)) {
          throw errors.forbidden(`releasing section ${section} from its source of authority needs an administrator role (userAdmin or globalAdmin${sections.section(section)?.writers ? `; for ${section}: ${sections.section(section)!.writers!.join(' or ')}` : ''})`);
        }
        if (!owners.delete(section)) throw errors.notFound(`section ${section} of this user has no source of authority to release`);
        setOwners(next, owners);
        return;
      }
      const grant = policy.grantOf(caller);
      /** Why the caller may not write `section`, or undefined when it may. */
      const refusal = (section: string): string | undefined => {
        if (!grant.sections.has(section)) {
          const granted = [...grant.sections].join(', ') || 'none';
          const writers = sections.section(section)?.writers;
          return writers
            ? `which only a caller with the role ${writers.join(' or ')} may change`
            : `which ${describe(caller)} may not change (its token grants: ${granted})`;
        }
        const owner = owners.get(section);
        if (owner && owner.source !== caller.clientId) {
          return `which is owned by its source of authority '${owner.source}'${owner.since ? ` (since ${owner.since})` : ''}: only that source may change it until an administrator releases it`;
        }
        return undefined;
      };
      // Only the sections this caller may not write are compared: for a provisioning client, authentication contact
      // info and whatever sources own, not the whole profile.
      const refused = new Set(sections.names.filter((s) => refusal(s) !== undefined));
      if (refused.size > 0) {
        if (context.operation === 'replace' && current) sections.restore(next, current.resource, (s) => !refused.has(s));
        if (context.password && refused.has('account')) throw errors.forbidden(`'password' is in section account, ${refusal('account')}; nothing was changed`);
        for (const [section, attributes] of sections.changes(current?.resource, next, (s) => refused.has(s))) {
          throw errors.forbidden(`'${attributes[0]}' is in section ${section}, ${refusal(section)}; nothing was changed`);
        }
      }
      for (const section of policy.authoritativeFor(caller)) {
        if (!owners.has(section) && grant.sections.has(section)) owners.set(section, { source: caller.clientId!, since: context.at });
      }
      setOwners(next, owners);
    },
  };
}
