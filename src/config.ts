/**
 * Environment -> typed, validated configuration. server.ts is the only reader of process.env; it hands the
 * environment here, so tests can build any configuration without touching the process.
 */
import Ajv from 'ajv';
import { isIP } from 'node:net';
import { DEFAULT_LIMITS, LIMIT_SETTINGS, Limits } from './scim/limits';
import { type BulkLimits, DEFAULT_BULK_LIMITS } from './scim/bulk';

export interface JwtConfig {
  /** HS256 shared secret. */
  secret?: string;
  /** RS256/ES256 public key (PEM). */
  publicKey?: string;
  issuer?: string;
  audience?: string;
  /** Tokens must carry `exp` (SCIM_JWT_REQUIRE_EXP; on by default in production). */
  requireExp?: boolean;
}

export interface Config {
  port: number;
  host: string;
  /** Public base of the SCIM API (…/scim/v2), used in meta.location; derived from each request when unset. */
  baseUrl?: string;
  /**
   * Which peers' X-Forwarded-For/-Proto/-Host headers are believed (SCIM_TRUST_PROXY): none (false), any (true), the
   * nearest N hops, or these addresses and CIDR ranges. Behind a TLS-terminating proxy they give meta.location its
   * public scheme and host, and the per-address rate limit the client's address rather than the proxy's.
   */
  trustProxy: boolean | number | string[];
  mongodbUri?: string;
  mongodbDb: string;
  /** The embedded store's data directory, used when no MongoDB URI is set (SCIM_DATA_DIR). */
  dataDir: string;
  jwt: JwtConfig;
  /**
   * The key cursors are signed with (SCIM_CURSOR_SECRET). Unset: derived from the HS256 secret; with only a public
   * key, server.ts supplies one (see there), since a key anyone can read lets anyone forge a cursor.
   */
  cursorSecret?: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  production: boolean;
  /** Discovery endpoints readable without a token (RFC 7644 §4 allows it; SCIM_DISCOVERY_PUBLIC=false turns it off). */
  discoveryPublic: boolean;
  /** Largest request body accepted, in bytes. */
  bodyLimit: number;
  /** Bounds on the work one request may ask for (scim/limits.ts). */
  limits: Limits;
  /** The longest one database call may take before the request gets 503 (SCIM_DB_TIMEOUT_MS). */
  dbTimeoutMs: number;
  /** The longest /readyz waits for the store before answering 503 (SCIM_READY_TIMEOUT_MS). */
  readyTimeoutMs: number;
  /**
   * Sources of authority (SCIM_AUTHORITIES, JSON): OAuth client id -> the profile sections it is authoritative for,
   * e.g. {"hr-feed": ["jobInfo"], "ad-connect": ["identity", "contact"]} (service/access.ts).
   */
  authorities: Record<string, string[]>;
  /** How long audit entries are kept, in days (SCIM_AUDIT_RETENTION_DAYS). */
  auditRetentionDays: number;
  /** RFC 7644 §3.7.4 (SCIM_BULK_MAX_OPERATIONS, SCIM_BULK_MAX_PAYLOAD_SIZE), advertised in ServiceProviderConfig. */
  bulk: BulkLimits;
  /**
   * RFC 7644 §3.11 /Me: the token claim (SCIM_ME_CLAIM, e.g. `sub`) whose value finds the caller's User by an
   * attribute (SCIM_ME_ATTRIBUTE, e.g. `userName` or `externalId`). Unset: /Me answers 501.
   */
  me?: { claim: string; attribute: string };
  /** The profile sections a person may change of themselves through /Me (SCIM_ME_SECTIONS). */
  meSections: string[];
  /** Operating it: metrics, rate limits, shutdown, pressure, CORS. */
  operations: OperationsConfig;
  /**
   * The operator's own extension schemas (SCIM_SCHEMA_DIR): RFC 7643 §7 files and extensions.json (scim/operator.ts).
   * Unset: only the built-in schemas. Read once at start; a change needs a restart.
   */
  schemaDir?: string;
  /**
   * What a write naming an attribute or schema URN the schemas lack gets (SCIM_UNKNOWN_ATTRIBUTES): `reject`, a 400
   * naming it (the default), or `ignore`, dropped (logged at debug, counted in /metrics).
   */
  unknownAttributes: 'reject' | 'ignore';
}

export interface OperationsConfig {
  /** GET /metrics requires `Authorization: Bearer <this>` when set (SCIM_METRICS_TOKEN). */
  metricsToken?: string;
  /** Requests a minute one caller (token client or subject) may make; 0: no limit (SCIM_RATE_LIMIT). */
  rateLimit: number;
  /** Requests a minute one IP address may make without a valid token (SCIM_RATE_LIMIT_ANONYMOUS). */
  rateLimitAnonymous: number;
  /** Whether requests from loopback addresses are limited too (SCIM_RATE_LIMIT_LOOPBACK; off in development). */
  rateLimitLoopback: boolean;
  /** How long in-flight requests may take to finish after SIGTERM before the process exits anyway (SCIM_SHUTDOWN_GRACE_MS). */
  shutdownGraceMs: number;
  /** Event-loop delay past which requests are answered 503 with Retry-After (SCIM_MAX_EVENT_LOOP_DELAY_MS; 0: off). */
  maxEventLoopDelayMs: number;
  /** Heap in use past which requests are answered 503 with Retry-After (SCIM_MAX_HEAP_BYTES; 0: off). */
  maxHeapBytes: number;
  /** Origins a browser may call the API from (SCIM_CORS_ORIGINS, comma-separated); none: CORS closed. */
  corsOrigins: string[];
  /** Log lines as readable text rather than JSON (LOG_PRETTY; default: stdout is a terminal, outside production). */
  logPretty?: boolean;
}

/** What a person may change of their own profile through /Me unless SCIM_ME_SECTIONS says otherwise. */
export const DEFAULT_ME_SECTIONS = ['photo', 'preferences', 'contact'];

/** A database that has not answered in this long is treated as unavailable (503). */
const DEFAULT_DB_TIMEOUT_MS = 5000;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** Every setting, its environment variable and its rules; the README's configuration table mirrors this. */
const envSchema = {
  type: 'object',
  properties: {
    PORT: { type: 'string', pattern: '^[0-9]{1,5}$' },
    HOST: { type: 'string', minLength: 1 },
    SCIM_BASE_URL: { type: 'string', pattern: '^https?://[^\\s]+$' },
    MONGODB_URI: { type: 'string', pattern: '^mongodb(\\+srv)?://' },
    MONGODB_DB: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,63}$' },
    SCIM_JWT_SECRET: { type: 'string', minLength: 32 },
    SCIM_CURSOR_SECRET: { type: 'string', minLength: 32 },
    SCIM_JWT_PUBLIC_KEY: { type: 'string', pattern: '-----BEGIN (RSA )?PUBLIC KEY-----' },
    SCIM_JWT_ISSUER: { type: 'string', minLength: 1 },
    SCIM_JWT_AUDIENCE: { type: 'string', minLength: 1 },
    LOG_LEVEL: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
    NODE_ENV: { type: 'string' },
    SCIM_DISCOVERY_PUBLIC: { enum: ['true', 'false'] },
    SCIM_BODY_LIMIT: { type: 'string', pattern: '^[0-9]{1,10}$' },
    SCIM_JWT_REQUIRE_EXP: { enum: ['true', 'false'] },
    SCIM_DATA_DIR: { type: 'string', minLength: 1 },
    SCIM_MAX_PATCH_OPERATIONS: { type: 'string', pattern: '^[1-9][0-9]{0,6}$' },
    SCIM_MAX_VALUES: { type: 'string', pattern: '^[1-9][0-9]{0,6}$' },
    SCIM_MAX_FILTER_LENGTH: { type: 'string', pattern: '^[1-9][0-9]{0,6}$' },
    SCIM_MAX_FILTER_NODES: { type: 'string', pattern: '^[1-9][0-9]{0,4}$' },
    SCIM_DB_TIMEOUT_MS: { type: 'string', pattern: '^[1-9][0-9]{2,6}$' },
    SCIM_READY_TIMEOUT_MS: { type: 'string', pattern: '^[1-9][0-9]{1,6}$' },
    SCIM_AUTHORITIES: { type: 'string', minLength: 2 },
    SCIM_AUDIT_RETENTION_DAYS: { type: 'string', pattern: '^[1-9][0-9]{0,4}$' },
    SCIM_BULK_MAX_OPERATIONS: { type: 'string', pattern: '^[1-9][0-9]{0,5}$' },
    SCIM_BULK_MAX_PAYLOAD_SIZE: { type: 'string', pattern: '^[1-9][0-9]{2,9}$' },
    SCIM_ME_CLAIM: { type: 'string', pattern: '^[A-Za-z0-9_:./-]+$' },
    SCIM_ME_ATTRIBUTE: { type: 'string', pattern: '^[A-Za-z0-9_:.$-]+$' },
    SCIM_METRICS_TOKEN: { type: 'string', minLength: 16 },
    SCIM_RATE_LIMIT: { type: 'string', pattern: '^[0-9]{1,7}$' },
    SCIM_RATE_LIMIT_ANONYMOUS: { type: 'string', pattern: '^[0-9]{1,7}$' },
    SCIM_RATE_LIMIT_LOOPBACK: { enum: ['true', 'false'] },
    SCIM_SHUTDOWN_GRACE_MS: { type: 'string', pattern: '^[0-9]{1,7}$' },
    SCIM_MAX_EVENT_LOOP_DELAY_MS: { type: 'string', pattern: '^[0-9]{1,6}$' },
    SCIM_MAX_HEAP_BYTES: { type: 'string', pattern: '^[0-9]{1,13}$' },
    SCIM_CORS_ORIGINS: { type: 'string', pattern: '^https?://[^\\s,]+(\\s*,\\s*https?://[^\\s,]+)*$' },
    LOG_PRETTY: { enum: ['true', 'false'] },
    SCIM_ME_SECTIONS: { type: 'string', pattern: '^\\s*[A-Za-z]+(\\s*,\\s*[A-Za-z]+)*\\s*$' },
    SCIM_TRUST_PROXY: { type: 'string', minLength: 1 },
    SCIM_SCHEMA_DIR: { type: 'string', minLength: 1 },
    SCIM_UNKNOWN_ATTRIBUTES: { enum: ['reject', 'ignore'] },
  },
} as const;

const MESSAGES: Record<string, string> = {
  PORT: 'PORT must be a port number (1-65535)',
  SCIM_BASE_URL: 'SCIM_BASE_URL must be an absolute http(s) URL such as https://scim.example.com/scim/v2',
  MONGODB_URI: 'MONGODB_URI must be a MongoDB connection string (mongodb:// or mongodb+srv://)',
  MONGODB_DB: 'MONGODB_DB must be 1-63 letters, digits, _ or -',
  SCIM_JWT_SECRET: 'SCIM_JWT_SECRET must be at least 32 characters (it is an HS256 key)',
  SCIM_CURSOR_SECRET: 'SCIM_CURSOR_SECRET must be at least 32 characters (it signs paging cursors)',
  SCIM_JWT_PUBLIC_KEY: 'SCIM_JWT_PUBLIC_KEY must be a PEM public key (-----BEGIN PUBLIC KEY-----)',
  LOG_LEVEL: 'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
  SCIM_DISCOVERY_PUBLIC: 'SCIM_DISCOVERY_PUBLIC must be true or false',
  SCIM_BODY_LIMIT: 'SCIM_BODY_LIMIT must be a number of bytes',
  SCIM_JWT_REQUIRE_EXP: 'SCIM_JWT_REQUIRE_EXP must be true or false',
  SCIM_MAX_PATCH_OPERATIONS: 'SCIM_MAX_PATCH_OPERATIONS must be a whole number from 1 to 9999999',
  SCIM_MAX_VALUES: 'SCIM_MAX_VALUES must be a whole number from 1 to 9999999',
  SCIM_MAX_FILTER_LENGTH: 'SCIM_MAX_FILTER_LENGTH must be a whole number of characters from 1 to 9999999',
  SCIM_MAX_FILTER_NODES: 'SCIM_MAX_FILTER_NODES must be a whole number from 1 to 99999',
  SCIM_DB_TIMEOUT_MS: 'SCIM_DB_TIMEOUT_MS must be a number of milliseconds from 100 to 9999999',
  SCIM_READY_TIMEOUT_MS: 'SCIM_READY_TIMEOUT_MS must be a number of milliseconds from 10 to 9999999',
  SCIM_AUTHORITIES: 'SCIM_AUTHORITIES must be a JSON object of client ids to lists of section names, e.g. {"hr-feed":["jobInfo"]}',
  SCIM_AUDIT_RETENTION_DAYS: 'SCIM_AUDIT_RETENTION_DAYS must be a whole number of days from 1 to 99999',
  SCIM_BULK_MAX_OPERATIONS: 'SCIM_BULK_MAX_OPERATIONS must be a whole number from 1 to 999999',
  SCIM_BULK_MAX_PAYLOAD_SIZE: 'SCIM_BULK_MAX_PAYLOAD_SIZE must be a number of bytes from 100 to 9999999999',
  SCIM_METRICS_TOKEN: 'SCIM_METRICS_TOKEN must be at least 16 characters',
  SCIM_RATE_LIMIT: 'SCIM_RATE_LIMIT must be a number of requests a minute (0: no limit)',
  SCIM_RATE_LIMIT_ANONYMOUS: 'SCIM_RATE_LIMIT_ANONYMOUS must be a number of requests a minute (0: no limit)',
  SCIM_RATE_LIMIT_LOOPBACK: 'SCIM_RATE_LIMIT_LOOPBACK must be true or false',
  SCIM_SHUTDOWN_GRACE_MS: 'SCIM_SHUTDOWN_GRACE_MS must be a number of milliseconds',
  SCIM_MAX_EVENT_LOOP_DELAY_MS: 'SCIM_MAX_EVENT_LOOP_DELAY_MS must be a number of milliseconds (0: off)',
  SCIM_MAX_HEAP_BYTES: 'SCIM_MAX_HEAP_BYTES must be a number of bytes (0: off)',
  SCIM_CORS_ORIGINS: 'SCIM_CORS_ORIGINS must be a comma-separated list of origins such as https://admin.example.com',
  LOG_PRETTY: 'LOG_PRETTY must be true or false',
  SCIM_ME_CLAIM: 'SCIM_ME_CLAIM must be the name of a token claim, such as sub',
  SCIM_ME_ATTRIBUTE: 'SCIM_ME_ATTRIBUTE must be a User attribute path, such as userName or externalId',
  SCIM_ME_SECTIONS: 'SCIM_ME_SECTIONS must be a comma-separated list of section names, such as photo,preferences,contact',
  SCIM_UNKNOWN_ATTRIBUTES: 'SCIM_UNKNOWN_ATTRIBUTES must be reject or ignore',
  SCIM_TRUST_PROXY:
    'SCIM_TRUST_PROXY must be true, false, a number of proxy hops, or a comma-separated list of addresses and CIDR ranges such as 10.0.0.0/8,127.0.0.1',
};

/** SCIM_TRUST_PROXY: true/false, hops, or addresses and CIDR ranges; undefined when it is none of these. */
function parseTrustProxy(text: string | undefined): Config['trustProxy'] | undefined {
  if (text === undefined || text === 'false') return false;
  if (text === 'true') return true;
  if (/^[0-9]{1,2}$/.test(text)) return Number(text);
  const entries = text.split(',').map((e) => e.trim());
  const valid = entries.every((entry) => {
    const [address = '', prefix, ...rest] = entry.split('/');
    const family = isIP(address);
    if (family === 0 || rest.length > 0) return false;
    return prefix === undefined || (/^[0-9]{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
  });
  return valid ? entries : undefined;
}

/** SCIM_AUTHORITIES: {"client": ["section", ...], ...}; undefined when it is not that shape. */
function parseAuthorities(text: string): Record<string, string[]> | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    const out: Record<string, string[]> = {};
    for (const [client, sections] of Object.entries(value)) {
      if (client === '' || !Array.isArray(sections) || !sections.every((s) => typeof s === 'string')) return undefined;
      out[client] = sections as string[];
    }
    return out;
  } catch {
    return undefined;
  }
}

const validate = new Ajv({ allErrors: true }).compile(envSchema);

export function loadConfig(env: Record<string, string | undefined>): Config {
  // Empty variables count as unset, as in most twelve-factor tooling.
  const clean = Object.fromEntries(Object.entries(env).filter(([k, v]) => k in envSchema.properties && v !== undefined && v !== ''));
  const problems: string[] = [];
  if (!validate(clean)) {
    for (const e of validate.errors ?? []) {
      const name = e.instancePath.replace(/^\//, '');
      problems.push(MESSAGES[name] ?? `${name} ${e.message ?? 'is invalid'}`);
    }
  }
  const port = clean.PORT === undefined ? 8080 : Number(clean.PORT);
  if (port < 1 || port > 65535) problems.push(MESSAGES.PORT!);
  const production = clean.NODE_ENV === 'production';
  if (production) {
    if (!clean.SCIM_JWT_SECRET && !clean.SCIM_JWT_PUBLIC_KEY) {
      problems.push('NODE_ENV=production requires SCIM_JWT_SECRET or SCIM_JWT_PUBLIC_KEY');
    }
  }
  const authorities = clean.SCIM_AUTHORITIES === undefined ? {} : parseAuthorities(clean.SCIM_AUTHORITIES);
  if (!authorities) problems.push(MESSAGES.SCIM_AUTHORITIES!);
  const trustProxy = parseTrustProxy(clean.SCIM_TRUST_PROXY);
  if (trustProxy === undefined) problems.push(MESSAGES.SCIM_TRUST_PROXY!);
  if ((clean.SCIM_ME_CLAIM === undefined) !== (clean.SCIM_ME_ATTRIBUTE === undefined)) {
    problems.push('SCIM_ME_CLAIM and SCIM_ME_ATTRIBUTE go together: set both to offer /Me, or neither');
  }
  if (problems.length > 0) throw new ConfigError([...new Set(problems)]);
  const limit = (key: keyof Limits): number => {
    const v = clean[LIMIT_SETTINGS[key] as keyof typeof clean];
    return v === undefined ? DEFAULT_LIMITS[key] : Number(v);
  };
  return {
    port,
    host: clean.HOST ?? '0.0.0.0',
    baseUrl: clean.SCIM_BASE_URL?.replace(/\/+$/, ''),
    trustProxy: trustProxy!,
    mongodbUri: clean.MONGODB_URI,
    mongodbDb: clean.MONGODB_DB ?? 'scim',
    dataDir: clean.SCIM_DATA_DIR ?? 'data',
    jwt: {
      secret: clean.SCIM_JWT_SECRET,
      publicKey: clean.SCIM_JWT_PUBLIC_KEY,
      issuer: clean.SCIM_JWT_ISSUER,
      audience: clean.SCIM_JWT_AUDIENCE,
      requireExp: clean.SCIM_JWT_REQUIRE_EXP === undefined ? production : clean.SCIM_JWT_REQUIRE_EXP === 'true',
    },
    cursorSecret: clean.SCIM_CURSOR_SECRET,
    logLevel: (clean.LOG_LEVEL as Config['logLevel']) ?? 'info',
    production,
    discoveryPublic: clean.SCIM_DISCOVERY_PUBLIC !== 'false',
    bodyLimit: clean.SCIM_BODY_LIMIT ? Number(clean.SCIM_BODY_LIMIT) : 1024 * 1024,
    limits: {
      patchOperations: limit('patchOperations'),
      valuesPerAttribute: limit('valuesPerAttribute'),
      filterLength: limit('filterLength'),
      filterNodes: limit('filterNodes'),
    },
    dbTimeoutMs: clean.SCIM_DB_TIMEOUT_MS ? Number(clean.SCIM_DB_TIMEOUT_MS) : DEFAULT_DB_TIMEOUT_MS,
    readyTimeoutMs: clean.SCIM_READY_TIMEOUT_MS ? Number(clean.SCIM_READY_TIMEOUT_MS) : 2000,
    authorities: authorities!,
    auditRetentionDays: clean.SCIM_AUDIT_RETENTION_DAYS ? Number(clean.SCIM_AUDIT_RETENTION_DAYS) : 365,
    bulk: {
      maxOperations: clean.SCIM_BULK_MAX_OPERATIONS ? Number(clean.SCIM_BULK_MAX_OPERATIONS) : DEFAULT_BULK_LIMITS.maxOperations,
      maxPayloadSize: clean.SCIM_BULK_MAX_PAYLOAD_SIZE ? Number(clean.SCIM_BULK_MAX_PAYLOAD_SIZE) : DEFAULT_BULK_LIMITS.maxPayloadSize,
    },
    ...(clean.SCIM_ME_CLAIM !== undefined && clean.SCIM_ME_ATTRIBUTE !== undefined ? { me: { claim: clean.SCIM_ME_CLAIM, attribute: clean.SCIM_ME_ATTRIBUTE } } : {}),
    ...(clean.SCIM_SCHEMA_DIR !== undefined ? { schemaDir: clean.SCIM_SCHEMA_DIR } : {}),
    unknownAttributes: clean.SCIM_UNKNOWN_ATTRIBUTES === 'ignore' ? 'ignore' : 'reject',
    meSections: clean.SCIM_ME_SECTIONS ? clean.SCIM_ME_SECTIONS.split(',').map((s) => s.trim()) : [...DEFAULT_ME_SECTIONS],
    operations: {
      ...(clean.SCIM_METRICS_TOKEN ? { metricsToken: clean.SCIM_METRICS_TOKEN } : {}),
      rateLimit: clean.SCIM_RATE_LIMIT !== undefined ? Number(clean.SCIM_RATE_LIMIT) : 1200,
      rateLimitAnonymous: clean.SCIM_RATE_LIMIT_ANONYMOUS !== undefined ? Number(clean.SCIM_RATE_LIMIT_ANONYMOUS) : 120,
      // A developer's own requests (curl, the test suite, benchmarks on one machine) come from loopback.
      rateLimitLoopback: clean.SCIM_RATE_LIMIT_LOOPBACK === undefined ? production : clean.SCIM_RATE_LIMIT_LOOPBACK === 'true',
      shutdownGraceMs: clean.SCIM_SHUTDOWN_GRACE_MS !== undefined ? Number(clean.SCIM_SHUTDOWN_GRACE_MS) : 10_000,
      maxEventLoopDelayMs: clean.SCIM_MAX_EVENT_LOOP_DELAY_MS !== undefined ? Number(clean.SCIM_MAX_EVENT_LOOP_DELAY_MS) : 1000,
      maxHeapBytes: clean.SCIM_MAX_HEAP_BYTES !== undefined ? Number(clean.SCIM_MAX_HEAP_BYTES) : 0,
      corsOrigins: clean.SCIM_CORS_ORIGINS ? clean.SCIM_CORS_ORIGINS.split(',').map((o) => o.trim().replace(/\/+$/, '')) : [],
      ...(clean.LOG_PRETTY !== undefined ? { logPretty: clean.LOG_PRETTY === 'true' } : {}),
    },
  };
}
