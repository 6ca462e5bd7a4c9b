/**
 * RFC 7644 §3.11 /Me: "a URI alias for the User or other resource associated with the currently authenticated
 * subject". Which User that is, the operator says: a claim of the token (SCIM_ME_CLAIM, e.g. `sub`) whose value is
 * an attribute of exactly one User (SCIM_ME_ATTRIBUTE, e.g. `userName` or `externalId`), found with the same filter
 * a client would send (`userName eq "…"`), so the attribute's caseExact rule and index apply.
 */
import { errors } from '../scim/errors';
import type { ResourceService, Caller } from './resources';

export interface MeMapping {
  claim: string;
  attribute: string;
}

export class SelfService {
  constructor(
    private readonly users: ResourceService,
    readonly mapping: MeMapping,
  ) {
    const resolved = users.schema.resolve(mapping.attribute);
    // Checked at boot: a mapping that can never find anyone is a configuration error, not a run of 404s.
    const definition = resolved?.sub ?? resolved?.attribute;
    if (!resolved || !definition || definition.type !== 'string' || (resolved.attribute.multiValued && resolved.sub === undefined && resolved.attribute.type === 'complex')) {
      throw new Error(`SCIM_ME_ATTRIBUTE: '${mapping.attribute}' is not a string attribute of ${users.schema.type.name} (e.g. userName, externalId, emails.value)`);
    }
    if (definition.returned === 'never') throw new Error(`SCIM_ME_ATTRIBUTE: '${mapping.attribute}' is never returned, so it cannot name a user`);
  }

  /** The id of the caller's own User: 404 when the token or the directory has none, 409 when several match. */
  async idOf(caller: Caller): Promise<string> {
    const { claim, attribute } = this.mapping;
    const value = caller.claims[claim];
    if (typeof value !== 'string' || value === '') {
      throw errors.notFound(`/Me: the token has no '${claim}' claim to find its user by (SCIM_ME_CLAIM)`);
    }
    const result = await this.users.list({ filter: `${attribute} eq ${JSON.stringify(value)}`, startIndex: 1, count: 2 });
    if (result.totalResults === 0 || result.records.length === 0) {
      throw errors.notFound(`/Me: no ${this.users.schema.type.name} has ${attribute} ${JSON.stringify(value)} (the token's '${claim}')`);
    }
    if (result.totalResults > 1) {
      throw errors.conflict(`/Me: ${result.totalResults} ${this.users.schema.type.name}s have ${attribute} ${JSON.stringify(value)} (the token's '${claim}'); /Me needs exactly one`);
    }
    return result.records[0]!.id;
  }
}
