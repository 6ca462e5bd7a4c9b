/**
 * Bearer JWT authentication (RFC 7644 §2 leaves the scheme to the provider; we use RFC 6750 bearer tokens).
 *
 * HS256 with SCIM_JWT_SECRET and/or RS256/ES256 with SCIM_JWT_PUBLIC_KEY. The key is chosen by the token's
 * `alg`, and only those algorithms are accepted, so `alg: none` and algorithm-confusion tokens (an RS256 public
 * key used as an HS256 secret) fail. Scopes come from the `scope` claim (space-separated, RFC 8693 §4.2) or `scp`.
 */
import fp from 'fastify-plugin';
import fastifyJwt from '@fastify/jwt';
import type { FastifyInstance, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { errors } from '../scim/errors';
import type { JwtConfig } from '../config';
import type { Caller } from '../service/resources';
import { isAdmin, rolesOf } from '../service/access';

export type Scope = 'scim:read' | 'scim:write';

export interface AuthOptions {
  jwt: JwtConfig;
}

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * An onRequest hook that requires a valid bearer token carrying `scope`. It runs before the body is read, so
     * an anonymous request gets 401 rather than a parse error, and its body is never parsed.
     */
    requireScope(scope: Scope, alternative?: (scopes: ReadonlySet<string>) => boolean): onRequestAsyncHookHandler;
    /** Whether an Authorization header carries a token that verified before and has not expired (rate-limit.ts). */
    knownToken(authorization: string | undefined): boolean;
  }
}

const HMAC = ['HS256'] as const;
/** Verified tokens kept (see requireScope). */
const VERIFIED_TOKENS = 1000;
const ASYMMETRIC = ['RS256', 'ES256'] as const;

function scopesOf(payload: unknown): Set<string> {
  const p = (payload ?? {}) as Record<string, unknown>;
  const out = new Set<string>();
  for (const claim of [p.scope, p.scp]) {
    if (typeof claim === 'string') claim.split(/\s+/).forEach((s) => s && out.add(s));
    else if (Array.isArray(claim)) claim.forEach((s) => typeof s === 'string' && out.add(s));
  }
  return out;
}

/**
 * The caller a verified token names (requireScope ran first and left its payload in `request.user`): its subject,
 * its client (`client_id` per RFC 9068, `azp` per OpenID Connect, `appid` in Entra ID v1 tokens), its scopes and
 * every claim, for the service's rules and policies.
 */
export function callerOf(request: FastifyRequest): Caller {
  const claims = (request.user ?? {}) as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  return {
    subject: text(claims.sub),
    clientId: text(claims.client_id) ?? text(claims.azp) ?? text(claims.appid),
    scopes: [...scopesOf(claims)],
    roles: rolesOf(claims),
    claims,
  };
}

function challenge(error: string, description: string): string {
  return `Bearer realm="scim", error="${error}", error_description="${description.replace(/"/g, "'")}"`;
}

async function auth(app: FastifyInstance, opts: AuthOptions): Promise<void> {
  const { secret, publicKey, issuer, audience, requireExp } = opts.jwt;
  if (!secret && !publicKey) throw new Error('auth: a JWT secret or public key is required');
  const algorithms = [...(secret ? HMAC : []), ...(publicKey ? ASYMMETRIC : [])];
  // The verifier checks iss and aud against the allowed values only when the token carries them; a token without
  // the claim would pass. Configuring an issuer or audience means requiring it (RFC 7519 §4.1.1, §4.1.3: the
  // claims are optional in JWT, so the deployment has to say they are not). Likewise `exp` when required.
  const requiredClaims = [...(issuer ? ['iss'] : []), ...(audience ? ['aud'] : []), ...(requireExp ? ['exp'] : [])];

  await app.register(fastifyJwt, {
    // With both keys configured the token's header picks one; each key only ever verifies its own algorithms.
    secret: secret && publicKey
      ? (_request: FastifyRequest, token: { header?: { alg?: string } }) =>
          Promise.resolve(token.header?.alg?.startsWith('HS') ? secret : publicKey)
      : secret
        ? secret
        : // Verification only: this server never signs with the public key.
          { public: publicKey! },
    decode: { complete: true },
    verify: {
      algorithms: [...algorithms],
      // A client sends the same token for its whole lifetime (Entra ID: an hour of requests): verified tokens are
      // kept (fast-jwt's LRU of 1,000, keyed by a hash of the token) and their expiry is still checked on every use.
      cache: true,
      ...(issuer ? { allowedIss: issuer } : {}),
      ...(audience ? { allowedAud: audience } : {}),
      ...(requiredClaims.length > 0 ? { requiredClaims } : {}),
    },
  } as Parameters<typeof fastifyJwt>[1]);

  // A client sends the same token for its whole lifetime (Entra ID: an hour of requests). A token that verified once
  // is kept here by its exact text (so the same signature, claims and all), with its expiry; a later request with
  // it skips decoding and verification, but not the expiry, which is checked on every use; past it, or once
  // dropped, the token goes through the full verification again. Bounded: the oldest entries go first.
  const verified = new Map<string, { payload: Record<string, unknown>; exp?: number }>();
  const remember = (token: string, payload: unknown) => {
    if (!payload || typeof payload !== 'object') return;
    const exp = (payload as { exp?: unknown }).exp;
    verified.set(token, { payload: payload as Record<string, unknown>, exp: typeof exp === 'number' ? exp : undefined });
    if (verified.size > VERIFIED_TOKENS) verified.delete(verified.keys().next().value!);
  };

  app.decorate('knownToken', (authorization: string | undefined): boolean => {
    if (!authorization || !/^Bearer\s+\S+$/i.test(authorization)) return false;
    const known = verified.get(authorization.replace(/^Bearer\s+/i, ''));
    return known !== undefined && (known.exp === undefined || Date.now() / 1000 < known.exp);
  });

  // `alternative`: other scopes that also let a request through (a write limited to sections, sections-rule.ts).
  app.decorate('requireScope', function requireScope(scope: Scope, alternative?: (scopes: ReadonlySet<string>) => boolean): onRequestAsyncHookHandler {
    return async function checkScope(request) {
      const header = request.headers.authorization;
      if (!header) throw errors.unauthorized('a bearer token is required', 'Bearer realm="scim"');
      if (!/^Bearer\s+\S+$/i.test(header)) {
        throw errors.unauthorized('the Authorization header must be "Bearer <token>"', challenge('invalid_request', 'malformed Authorization header'));
      }
      const token = header.replace(/^Bearer\s+/i, '');
      const known = verified.get(token);
      let payload: unknown;
      if (known && (known.exp === undefined || Date.now() / 1000 < known.exp)) {
        payload = request.user = known.payload;
      } else {
        verified.delete(token);
        payload = await verify(request);
        remember(token, payload);
      }
      const scopes = scopesOf(payload);
      // An administrator's token (access.ts) reads and writes whatever its scopes say; what it may change, the
      // service's rules decide.
      const admin = isAdmin({ roles: rolesOf((payload ?? {}) as Record<string, unknown>) });
      if (!scopes.has(scope) && !admin && !alternative?.(scopes)) {
        throw errors.forbidden(`the token lacks the scope '${scope}'`, challenge('insufficient_scope', `requires ${scope}`));
      }
    };
  });
}

/** The full verification of a bearer token (signature, algorithm, iss, aud, exp, nbf), failures as SCIM 401s. */
async function verify(request: FastifyRequest): Promise<unknown> {
  try {
    return await request.jwtVerify();
  } catch (e) {
    const code = (e as { code?: string }).code ?? '';
    const message = (e as { message?: string }).message ?? '';
    const missing = /The (\w+) claim is required/i.exec(message)?.[1];
    const why =
      code === 'FST_JWT_AUTHORIZATION_TOKEN_EXPIRED'
        ? 'the token has expired'
        : missing
          ? `the token has no '${missing}' claim, which this server requires`
          : 'the token is not valid';
    throw errors.unauthorized(`invalid bearer token: ${why}`, challenge('invalid_token', why));
  }
}

export default fp(auth, { name: 'scim-auth', fastify: '5.x' });
