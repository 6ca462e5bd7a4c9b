/**
 * The audit trail: one entry per accepted write, saying who, when, which resource, the version before
 * and after, and which attributes changed, from what to what. Auditors and HR systems ask "who changed this
 * manager, and when". Values that must not be read back are masked: writeOnly attributes (the password) and
 * attributes only some callers may read (authentication contact info), for which the entry says only that they
 * changed. Pure: the entries' shape and how a change is described; the stores keep them with the writes.
 */
import type { ResourceSchema } from './schema';
import { differences } from './diff';
import { cloneJson, type Json, type JsonObject } from './values';

/** The schema of an entry as the API returns it: the project's own URN (not under urn:ietf:). */
export const AUDIT_EVENT_SCHEMA = 'urn:scim-server:api:messages:1.0:AuditEvent';
export const AUDIT_LIST_SCHEMA = 'urn:scim-server:api:messages:1.0:AuditLog';

export type AuditOperation = 'create' | 'replace' | 'patch' | 'delete' | 'release' | 'repair';

/** Who wrote: what the verified token said, or the server itself. */
export interface AuditActor {
  subject?: string;
  clientId?: string;
  roles?: string[];
  /** The server's own repair (a manager removed because the manager was deleted). */
  system?: true;
}

/** One attribute a write changed. Values are the top-level attribute's whole value, absent when it had none. */
export interface AuditChange {
  /** Top-level attribute name; an extension's URN-qualified (`urn:…:enterprise:2.0:User:manager`). */
  attribute: string;
  before?: Json;
  after?: Json;
  /** The values are not recorded (writeOnly, or readable only by some callers); only that it changed. */
  masked?: true;
  /**
   * A group's members: how many were added and removed, or that all were replaced by how many (a group of 100,000
   * is not copied into the log).
   */
  added?: number;
  removed?: number;
  replaced?: number;
}

export interface AuditEntry {
  /** Unique; with `at`, the entry's position in the log. */
  id: string;
  /** When the write was made (the resource's meta.lastModified for a create or change), ISO 8601 in UTC. */
  at: string;
  actor: AuditActor;
  operation: AuditOperation;
  resourceType: string;
  resourceId: string;
  /** Absent for a create. */
  versionBefore?: number;
  /** Absent for a delete. */
  versionAfter?: number;
  changes: AuditChange[];
}

/** A page of the log: entries in `order` of (at, id), after (or before, descending) a position. */
export interface AuditQuery {
  resourceId?: string;
  /** Inclusive lower bound on `at` (ISO 8601, UTC). */
  since?: string;
  /** Exclusive upper bound on `at`. */
  until?: string;
  /** The position the page follows: the (at, id) of the previous page's last entry. */
  after?: AuditPosition;
  order: 'ascending' | 'descending';
  count: number;
}

export interface AuditPosition {
  at: string;
  id: string;
}

export interface AuditPage {
  entries: AuditEntry[];
  /** More entries follow the page. */
  more: boolean;
}

/**
 * Which top-level attributes differ between `before` (undefined: created) and `after` (undefined: deleted), with
 * their values, or masked where `masked(key)` says so (and for writeOnly or never-returned attributes, always). `id`
 * and `meta` are the server's bookkeeping, recorded as the entry's own fields instead.
 */
export function attributeChanges(
  schema: ResourceSchema,
  before: JsonObject | undefined,
  after: JsonObject | undefined,
  masked: (key: string) => boolean = () => false,
): AuditChange[] {
  const out: AuditChange[] = [];
  for (const { attribute: r, key, was, now } of differences(schema, before, after, (k) => k !== 'id' && k !== 'meta')) {
    if (masked(key) || r.attribute.mutability === 'writeOnly' || r.attribute.returned === 'never') {
      out.push({ attribute: key, masked: true });
      continue;
    }
    const change: AuditChange = { attribute: key };
    if (was !== undefined) change.before = cloneJson(was);
    if (now !== undefined) change.after = cloneJson(now);
    out.push(change);
  }
  return out;
}

/** The entry as the API shows it (GET /AuditEvents). */
export function renderAuditEntry(entry: AuditEntry): JsonObject {
  return { schemas: [AUDIT_EVENT_SCHEMA], ...(cloneJson(entry as unknown as JsonObject)) };
}

/** Opaque cursor for the next page: the position of a page's last entry. */
export function encodeAuditCursor(position: AuditPosition): string {
  return Buffer.from(JSON.stringify([position.at, position.id])).toString('base64url');
}

export function decodeAuditCursor(text: string): AuditPosition | undefined {
  try {
    const value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown;
    const short = (v: unknown): v is string => typeof v === 'string' && v.length <= 64;
    if (Array.isArray(value) && value.length === 2 && short(value[0]) && short(value[1])) {
      return { at: value[0], id: value[1] };
    }
  } catch {
    // not a cursor of ours
  }
  return undefined;
}
