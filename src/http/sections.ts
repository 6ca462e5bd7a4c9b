/**
 * GET /scim/v2/Sections: what the calling token may write and read. The sections of a user profile
 * (schemas/sections.json), each with its attributes, the roles it is limited to, and whether this caller may change
 * and read it, so that a client (an HR feed, an identity provider) can learn before it writes which of its changes
 * would be refused. Ownership by a source of authority is per user: a user's `sources` (the project extension) say
 * which sections of that user are owned, and by whom. A read: it needs `scim:read`, and answers for the token that asks.
 */
import type { FastifyInstance } from 'fastify';
import type { AccessPolicy } from '../service/access';
import { isAdmin, ROLES } from '../service/access';
import { callerOf } from './auth';
import { methodNotAllowed } from './methods';

/** The message's schema: this project's own URN (not under urn:ietf:, which only the IETF assigns). */
export const SECTIONS_SCHEMA = 'urn:scim-server:api:messages:1.0:Sections';

export function sectionsRoute(app: FastifyInstance, policy: AccessPolicy): void {
  const { sections } = policy;
  app.get('/Sections', { onRequest: app.requireScope('scim:read') }, async (request) => {
    const caller = callerOf(request);
    const grant = policy.grantOf(caller);
    const authoritative = policy.authoritativeFor(caller);
    return {
      schemas: [SECTIONS_SCHEMA],
      resourceType: sections.schema.type.id,
      // `all`: every section; else the sections this token may write (possibly none).
      grants: grant.all ? 'all' : [...grant.sections],
      roles: caller.roles.filter((r) => (ROLES as readonly string[]).includes(r)),
      administrator: isAdmin(caller),
      // The sections this caller's client is the source of authority for: its writes claim them.
      authoritativeFor: [...authoritative],
      Resources: sections.definitions.map((s) => ({
        name: s.name,
        ...(s.description !== undefined ? { description: s.description } : {}),
        attributes: s.attributes,
        ...(s.writers ? { writers: s.writers } : {}),
        ...(s.readers ? { readers: s.readers } : {}),
        writable: grant.sections.has(s.name),
        readable: policy.mayRead(caller, s.name),
      })),
    };
  });
  methodNotAllowed(app, '/Sections', ['GET']);
}
