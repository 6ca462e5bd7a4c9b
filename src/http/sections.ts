/**
 * GET /scim/v2/Sections: what the calling token may write (issue 14). The sections of a user profile
 * (schemas/sections.json), each with its attributes and whether this caller may change them, so that a client
 * (an HR feed, an identity provider) can learn before it writes which of its changes would be refused. A read: it
 * needs `scim:read`, and answers for the token that asks.
 */
import type { FastifyInstance } from 'fastify';
import type { Sections } from '../scim/sections';
import { grantOf } from '../service/sections-rule';
import { callerOf } from './auth';
import { methodNotAllowed } from './methods';

/** The message's schema: this project's own URN (not under urn:ietf:, which only the IETF assigns). */
export const SECTIONS_SCHEMA = 'urn:scim-server:api:messages:1.0:Sections';

export function sectionsRoute(app: FastifyInstance, sections: Sections): void {
  app.get('/Sections', { onRequest: app.requireScope('scim:read') }, async (request) => {
    const grant = grantOf(callerOf(request));
    return {
      schemas: [SECTIONS_SCHEMA],
      resourceType: sections.schema.type.id,
      // `all`: scim:write; else the sections the token's scim:write:<section> scopes name (possibly none).
      grants: grant.all ? 'all' : [...grant.sections].filter((s) => sections.names.includes(s)),
      Resources: sections.definitions.map((s) => ({
        name: s.name,
        ...(s.description !== undefined ? { description: s.description } : {}),
        attributes: s.attributes,
        writable: grant.all || grant.sections.has(s.name),
      })),
    };
  });
  methodNotAllowed(app, '/Sections', ['GET']);
}
