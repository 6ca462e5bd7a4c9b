/**
 * ServiceProviderConfig (RFC 7643 §5), built from what the running server actually supports, so discovery never
 * claims a feature that is not there.
 */
import { SCHEMA_URNS } from './schema';
import type { JsonObject } from './values';

export interface Features {
  patch: boolean;
  bulk: { supported: boolean; maxOperations: number; maxPayloadSize: number };
  filter: { supported: boolean; maxResults: number };
  sort: boolean;
  /** Default and maximum page size. */
  paging: { defaultCount: number; maxCount: number };
  /** Cursor lifetime in seconds (RFC 9865), or 0 when cursor paging is off. */
  cursorTimeout: number;
}

export function serviceProviderConfig(features: Features, baseUrl: string): JsonObject {
  return {
    schemas: [SCHEMA_URNS.serviceProviderConfig],
    documentationUri: 'https://www.rfc-editor.org/rfc/rfc7644',
    patch: { supported: features.patch },
    bulk: { ...features.bulk },
    filter: { ...features.filter },
    // Passwords can be set by POST, PUT and PATCH (stored hashed, never returned).
    changePassword: { supported: true },
    sort: { supported: features.sort },
    etag: { supported: true },
    // RFC 9865 §4: which paging methods the server offers and their limits.
    pagination: {
      cursor: features.cursorTimeout > 0,
      index: true,
      defaultPaginationMethod: 'index',
      defaultPageSize: features.paging.defaultCount,
      maxPageSize: features.paging.maxCount,
      ...(features.cursorTimeout > 0 ? { cursorTimeout: features.cursorTimeout } : {}),
    },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'OAuth Bearer Token',
        description: 'A bearer JWT (RFC 6750) carrying the scopes scim:read and/or scim:write.',
        specUri: 'https://www.rfc-editor.org/info/rfc6750',
        primary: true,
      },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${baseUrl}/ServiceProviderConfig` },
  };
}
