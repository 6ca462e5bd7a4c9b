/**
 * The export file (issue 30): JSON lines, one record per line, so that an export streams and an import reads it back
 * a line at a time, whatever the directory's size.
 *
 *   {"type":"header", "format":"scim-server-export", "formatVersion":1, "id", "server", "store", "consistency",
 *    "at", "counts":{"User":n,…}, "audit":bool}
 *   {"type":"resource", "resourceType", "id", "version", "resource", "secrets"?}   every resource, type by type
 *   {"type":"members", "group", "members":[{value, display?, type}, …]}           a group's pairs, MEMBERS_PER_LINE
 *   {"type":"audit", "entry"}                                                      with --audit, in (at, id) order
 *   {"type":"trailer", "counts":{kind: n}, "checksums":{kind: hex}, "lines"}
 *
 * A kind is a resource type's id, `members` (one item per pair) or `audit`. Its checksum is the sum, modulo 2^128,
 * of the first 16 bytes of the SHA-256 of each item's canonical JSON (keys sorted): the same whichever order the
 * items are read in, so an importer can check what it wrote by reading the target back in the target's own order,
 * and take out the items it skipped. Pure: no database, no HTTP.
 */
import { createHash } from 'node:crypto';
import type { AuditEntry } from '../scim/audit';
import type { Member } from '../scim/members';
import type { StoredRecord } from '../scim/resource';
import { isObject, type Json, type JsonObject } from '../scim/values';

export const FORMAT = 'scim-server-export';
export const FORMAT_VERSION = 1;
/** Member pairs per `members` line: a group of 100,000 members is 100 lines of bounded size. */
export const MEMBERS_PER_LINE = 1000;
export const MEMBERS_KIND = 'members';
export const AUDIT_KIND = 'audit';

export interface HeaderLine {
  type: 'header';
  format: typeof FORMAT;
  formatVersion: number;
  /** Names this export: an import interrupted and run again knows its own file by it. */
  id: string;
  server: string;
  store: 'lmdb' | 'mongodb';
  consistency: 'snapshot' | 'live';
  at: string;
  /** Resources per type when the export began. */
  counts: Record<string, number>;
  audit: boolean;
}

export interface ResourceLine {
  type: 'resource';
  resourceType: string;
  id: string;
  version: number;
  resource: JsonObject;
  secrets?: { password?: string };
}

export interface MembersLine {
  type: 'members';
  group: string;
  members: Member[];
}

export interface AuditLine {
  type: 'audit';
  entry: AuditEntry;
}

export interface TrailerLine {
  type: 'trailer';
  counts: Record<string, number>;
  checksums: Record<string, string>;
  /** Lines of the file, header and trailer included. */
  lines: number;
}

export type ExportLine = HeaderLine | ResourceLine | MembersLine | AuditLine | TrailerLine;

/** JSON with every object's keys in code-point order: the same text for the same value, whichever store read it. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).filter((k) => (value as Record<string, unknown>)[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

const MOD = 1n << 128n;

/** The order-free checksum of a kind's items (see the file comment), with their count. */
export class Checksum {
  private sum = 0n;
  count = 0;

  static digest(item: unknown): bigint {
    return BigInt(`0x${createHash('sha256').update(canonicalJson(item)).digest('hex').slice(0, 32)}`);
  }

  add(item: unknown): void {
    this.sum = (this.sum + Checksum.digest(item)) % MOD;
    this.count++;
  }

  /** Takes out an item added before (an import that skipped it). */
  remove(item: unknown): void {
    this.sum = (this.sum - Checksum.digest(item) + MOD) % MOD;
    this.count--;
  }

  hex(): string {
    return this.sum.toString(16).padStart(32, '0');
  }
}

/** Checksums per kind. */
export class Checksums {
  readonly kinds = new Map<string, Checksum>();

  of(kind: string): Checksum {
    let c = this.kinds.get(kind);
    if (!c) this.kinds.set(kind, (c = new Checksum()));
    return c;
  }

  counts(): Record<string, number> {
    return Object.fromEntries([...this.kinds].map(([k, c]) => [k, c.count]));
  }

  hexes(): Record<string, string> {
    return Object.fromEntries([...this.kinds].map(([k, c]) => [k, c.hex()]));
  }
}

/** What a resource line's checksum covers: the record as stored, without what stores derive from it. */
export function resourceItem(record: StoredRecord | ResourceLine): JsonObject {
  const item: JsonObject = { resourceType: record.resourceType, id: record.id, version: record.version, resource: record.resource };
  if (record.secrets) item.secrets = record.secrets as JsonObject;
  return item;
}

/** What a member pair's checksum covers. */
export function memberItem(group: string, member: Member): JsonObject {
  const item: JsonObject = { group, value: member.value, type: member.type };
  if (member.display !== undefined) item.display = member.display;
  return item;
}

export function resourceLine(record: StoredRecord): ResourceLine {
  const line: ResourceLine = { type: 'resource', resourceType: record.resourceType, id: record.id, version: record.version, resource: record.resource };
  if (record.secrets) line.secrets = record.secrets;
  return line;
}

/** A line of the file that is not what the format says: where, and why. */
export class LineError extends Error {
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(`line ${line}: ${reason}`);
  }
}

function need(ok: boolean, line: number, reason: string): void {
  if (!ok) throw new LineError(line, reason);
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Parses line `n` (1-based) of a file; throws LineError naming what is wrong with its shape. */
export function parseLine(text: string, n: number): ExportLine {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new LineError(n, `not JSON (${e instanceof Error ? e.message : String(e)})${text.length === 0 ? ': an empty line' : ''}`);
  }
  need(isObject(value), n, 'not a JSON object');
  const v = value as JsonObject;
  switch (v.type) {
    case 'header':
      need(v.format === FORMAT, n, `not a ${FORMAT} file (format ${JSON.stringify(v.format)})`);
      need(v.formatVersion === FORMAT_VERSION, n, `format version ${JSON.stringify(v.formatVersion)}, this server reads ${FORMAT_VERSION}`);
      need(typeof v.id === 'string' && typeof v.at === 'string' && isObject(v.counts), n, 'a header needs id, at and counts');
      return v as unknown as HeaderLine;
    case 'resource':
      need(typeof v.resourceType === 'string' && typeof v.id === 'string' && v.id.length > 0, n, 'a resource needs resourceType and id');
      need(typeof v.version === 'number' && Number.isSafeInteger(v.version) && v.version >= 1, n, `version ${JSON.stringify(v.version)} is not a positive integer`);
      need(isObject(v.resource), n, 'resource is not an object');
      need(v.secrets === undefined || isObject(v.secrets), n, 'secrets is not an object');
      return v as unknown as ResourceLine;
    case 'members':
      need(typeof v.group === 'string' && Array.isArray(v.members), n, 'a members line needs group and members');
      for (const m of v.members as Json[]) {
        need(isObject(m) && typeof m.value === 'string' && typeof m.type === 'string' && (m.display === undefined || typeof m.display === 'string'), n, 'a member needs value and type');
      }
      return v as unknown as MembersLine;
    case 'audit': {
      const e = v.entry;
      need(isObject(e) && typeof e.id === 'string' && typeof e.at === 'string' && typeof e.resourceId === 'string' && Array.isArray(e.changes), n, 'an audit line needs an entry with id, at, resourceId and changes');
      return v as unknown as AuditLine;
    }
    case 'trailer':
      need(isObject(v.counts) && isObject(v.checksums) && isCount(v.lines), n, 'a trailer needs counts, checksums and lines');
      return v as unknown as TrailerLine;
    default:
      throw new LineError(n, `unknown line type ${JSON.stringify(v.type)}`);
  }
}
