/** Signing bearer tokens for this server: used by `npm run token` and by the development start-up. */
import Fastify from 'fastify';
import fastifyJwt from '@fastify/jwt';
import type { JwtConfig } from '../config';

export interface MintOptions {
  scope: string;
  ttlSeconds: number;
  subject?: string;
  /** PEM private key for RS256/ES256; HS256 with the configured secret otherwise. */
  privateKey?: string;
  algorithm?: 'HS256' | 'RS256' | 'ES256';
  /** The `roles` claim (service/access.ts): globalAdmin, userAdmin. */
  roles?: string[];
  /** The `client_id` claim (RFC 9068 §2.2): the client a source of authority is configured by. */
  clientId?: string;
  /** Further claims (an identity provider's `oid`, `email`…), e.g. the one SCIM_ME_CLAIM names. */
  claims?: Record<string, unknown>;
}

export async function mintToken(jwt: JwtConfig, opts: MintOptions): Promise<string> {
  const key = opts.privateKey ?? jwt.secret;
  if (!key) throw new Error('no signing key: set SCIM_JWT_SECRET, or pass --private-key for RS256/ES256');
  const algorithm = opts.algorithm ?? (opts.privateKey ? 'RS256' : 'HS256');
  // @fastify/jwt's signer, so tokens are made by the same library that verifies them.
  const app = Fastify();
  await app.register(fastifyJwt, { secret: { private: key, public: jwt.publicKey ?? key }, sign: { algorithm } });
  await app.ready();
  const token = app.jwt.sign(
    {
      ...opts.claims,
      scope: opts.scope,
      ...(opts.roles && opts.roles.length > 0 ? { roles: opts.roles } : {}),
      ...(opts.clientId !== undefined ? { client_id: opts.clientId } : {}),
    },
    {
      // @fastify/jwt reads a numeric expiresIn as seconds.
      expiresIn: opts.ttlSeconds,
      sub: opts.subject ?? 'scim-client',
      ...(jwt.issuer ? { iss: jwt.issuer } : {}),
      ...(jwt.audience ? { aud: jwt.audience } : {}),
    },
  );
  await app.close();
  return token;
}

/** Parses durations such as 90d, 12h, 30m, 45s, or plain seconds. */
export function parseTtl(text: string): number {
  const m = /^(\d+)\s*([smhd]?)$/i.exec(text.trim());
  if (!m) throw new Error(`--ttl must look like 90d, 12h, 30m, 45s or a number of seconds, got ${JSON.stringify(text)}`);
  const n = Number(m[1]);
  const unit = (m[2] ?? '').toLowerCase();
  return n * (unit === 'd' ? 86400 : unit === 'h' ? 3600 : unit === 'm' ? 60 : 1);
}
