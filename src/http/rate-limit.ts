/**
 * Rate limits: a runaway client must not starve the others. Token buckets in memory, per instance:
 * - per caller: a verified token's client (`client_id`/`azp`/`appid`), else its subject, SCIM_RATE_LIMIT requests a
 *   minute, as a burst that refills evenly;
 * - per address, for requests without a valid token (anonymous discovery, bad or expired tokens):
 *   SCIM_RATE_LIMIT_ANONYMOUS a minute. Every answer 401 costs the address one request, and an address out of
 *   requests is refused before its token is even verified, unless that token verified before.
 * Over it: 429 with a SCIM error and Retry-After (RFC 6585 §4), which Entra ID and Okta back off by. Requests from
 * loopback addresses are not limited outside production (SCIM_RATE_LIMIT_LOOPBACK): a developer's curl, the tests
 * and the benchmarks come from there.
 */
import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { errors } from '../scim/errors';
import { callerOf } from './auth';
import type { Metrics } from './metrics';

/** Buckets kept at most; the least recently used go first (an attacker's many addresses cannot grow it). */
const MAX_KEYS = 100_000;

export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number = Date.now,
  ) {}

  private refill(key: string): { tokens: number; at: number } {
    const t = this.now();
    let b = this.buckets.get(key);
    if (b) {
      b.tokens = Math.min(this.perMinute, b.tokens + ((t - b.at) * this.perMinute) / 60_000);
      b.at = t;
      this.buckets.delete(key); // re-inserted: most recently used last
    } else {
      b = { tokens: this.perMinute, at: t };
      if (this.buckets.size >= MAX_KEYS) this.buckets.delete(this.buckets.keys().next().value!);
    }
    this.buckets.set(key, b);
    return b;
  }

  /** Seconds until a request is allowed (0: now), without spending one. */
  wait(key: string): number {
    const b = this.refill(key);
    return b.tokens >= 1 ? 0 : Math.max(1, Math.ceil(((1 - b.tokens) * 60) / this.perMinute));
  }

  /** Spends one request if there is one; returns the seconds to wait when there is not (0: spent). */
  take(key: string): number {
    const wait = this.wait(key);
    if (wait === 0) this.buckets.get(key)!.tokens -= 1;
    return wait;
  }
}

export interface RateLimitOptions {
  perCaller: number;
  perAddress: number;
  loopback: boolean;
  metrics?: Metrics;
  now?: () => number;
}

const LOOPBACK = /^(127\.|::1$|::ffff:127\.)/;

async function rateLimit(app: FastifyInstance, opts: RateLimitOptions): Promise<void> {
  const callers = opts.perCaller > 0 ? new TokenBuckets(opts.perCaller, opts.now) : undefined;
  const addresses = opts.perAddress > 0 ? new TokenBuckets(opts.perAddress, opts.now) : undefined;
  if (!callers && !addresses) return;
  const exempt = (request: FastifyRequest) => !opts.loopback && LOOPBACK.test(request.ip);
  const refuse = (kind: 'caller' | 'address', seconds: number, who: string) => {
    opts.metrics?.rateLimited.inc({ kind });
    return errors.tooManyRequests(`too many requests from ${who}; retry after ${seconds} s`, seconds);
  };
  const spent = new WeakSet<FastifyRequest>();

  // Before the token is verified: an address that ran out is refused unless its token verified before.
  app.addHook('onRequest', async (request) => {
    if (!addresses || exempt(request)) return;
    const authorization = request.headers.authorization;
    if (authorization === undefined) {
      const wait = addresses.take(request.ip);
      spent.add(request);
      if (wait > 0) throw refuse('address', wait, `address ${request.ip} without a token (SCIM_RATE_LIMIT_ANONYMOUS)`);
      return;
    }
    if (app.knownToken(authorization)) return;
    const wait = addresses.wait(request.ip);
    if (wait > 0) throw refuse('address', wait, `address ${request.ip}, whose recent tokens failed (SCIM_RATE_LIMIT_ANONYMOUS)`);
  });

  // After it: the caller's own budget; a request no token stands for (public discovery) spends the address's.
  app.addHook('preHandler', async (request) => {
    if (exempt(request)) return;
    if (request.user === undefined || request.user === null) {
      if (!addresses || spent.has(request)) return;
      const wait = addresses.take(request.ip);
      if (wait > 0) throw refuse('address', wait, `address ${request.ip} without a valid token (SCIM_RATE_LIMIT_ANONYMOUS)`);
      return;
    }
    if (!callers) return;
    const caller = callerOf(request);
    const key = caller.clientId !== undefined ? `client:${caller.clientId}` : `subject:${caller.subject ?? ''}`;
    const wait = callers.take(key);
    if (wait > 0) throw refuse('caller', wait, `${caller.clientId !== undefined ? `client '${caller.clientId}'` : `subject '${caller.subject ?? ''}'`} (SCIM_RATE_LIMIT: ${opts.perCaller} a minute)`);
  });

  // A failed authentication costs the address a request.
  app.addHook('onResponse', async (request, reply) => {
    if (addresses && reply.statusCode === 401 && !spent.has(request) && !exempt(request)) addresses.take(request.ip);
  });
}

export default fp(rateLimit, { name: 'scim-rate-limit', fastify: '5.x' });
