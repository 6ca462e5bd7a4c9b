/**
 * A file's row as SCIM: the values its mapped cells give (checked against the schema where that can be done here),
 * the new user a POST creates from them, and the PATCH operations that change an existing user to them (only what
 * differs). An empty cell changes nothing: HR exports leave out what they do not hold, and an import must not
 * erase what was entered in the directory.
 */
import { type Json, type JsonObject } from '../api';
import { isObject } from '../display';
import { type AttributeDef, USER_SCHEMA, valueOf } from '../schema';
import { EMPLOYEE_NUMBER, EXTERNAL_ID, MANAGER_TARGET, type Target, USER_NAME } from './targets';

export type MatchBy = 'userName' | 'externalId' | 'employeeNumber';
export type ManagerBy = 'employeeNumber' | 'userName';

export interface Mapping {
  header: string[];
  /** The column of the user name; -1: none. */
  userNameColumn: number;
  /** A target id per column; '' ignores the column. */
  columns: string[];
  matchBy: MatchBy;
  managerBy: ManagerBy;
}

/** The filter attribute of each way of naming a person. */
export const KEY_ATTRIBUTE: Record<MatchBy, string> = { userName: USER_NAME, externalId: EXTERNAL_ID, employeeNumber: EMPLOYEE_NUMBER };

export interface Prepared {
  /** The row's index among the data rows. */
  index: number;
  /** Target id -> value, for the non-empty mapped cells. A value that failed its check is kept as the text given. */
  values: Map<string, Json>;
  userName?: string;
  /** The value existing people are matched by, if the row has one. */
  matchKey?: string;
  /** The manager's employee number or user name, as the row gives it. */
  managerKey?: string;
  /** What other rows name this row by as their manager (its employee number or user name). */
  ownManagerKey?: string;
  /** What the schema says is wrong with the row, found here; the server checks every value again. */
  problems: string[];
}

const TRUE = new Set(['true', 'yes', 'y', '1', 'active', 'enabled', 'on']);
const FALSE = new Set(['false', 'no', 'n', '0', 'inactive', 'disabled', 'off', 'terminated', 'suspended', 'blocked', 'left']);

/** A cell as a value of the attribute's type; `problem` when it is not one (the text is then sent as given). */
export function convert(text: string, def: AttributeDef): { value: Json; problem?: string } {
  switch (def.type) {
    case 'boolean': {
      const t = text.toLowerCase();
      if (TRUE.has(t)) return { value: true };
      if (FALSE.has(t)) return { value: false };
      return { value: text, problem: `“${text}” is not yes or no (true/false, active/inactive)` };
    }
    case 'integer':
      return /^[+-]?\d+$/.test(text) && Number.isSafeInteger(Number(text)) ? { value: Number(text) } : { value: text, problem: `“${text}” is not a whole number` };
    case 'decimal': {
      const n = Number(text);
      return text !== '' && Number.isFinite(n) ? { value: n } : { value: text, problem: `“${text}” is not a number` };
    }
    case 'dateTime': {
      // HR exports write dates (2026-03-01); SCIM wants an xsd:dateTime.
      const iso = /^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text;
      const d = new Date(iso);
      return Number.isNaN(d.getTime()) ? { value: text, problem: `“${text}” is not a date` } : { value: d.toISOString().replace('.000Z', 'Z') };
    }
    default: {
      // A canonical value in its canonical spelling; another value is allowed (RFC 7643 §2.3.1 makes them a suggestion).
      const canonical = def.canonicalValues?.find((c) => c.toLowerCase() === text.toLowerCase());
      return { value: canonical ?? text };
    }
  }
}

/** The columns' values of one row. */
export function prepare(row: readonly string[], index: number, mapping: Mapping, targets: ReadonlyMap<string, Target>): Prepared {
  const values = new Map<string, Json>();
  const problems: string[] = [];
  let managerKey: string | undefined;
  mapping.columns.forEach((id, c) => {
    const target = targets.get(id);
    const cell = (row[c] ?? '').trim();
    if (!target || cell === '') return;
    if (target.kind === 'manager') {
      managerKey = cell;
      return;
    }
    if (values.has(id)) problems.push(`${mapping.header[c]}: ${target.label} is also given by another column; the first is used`);
    const { value, problem } = convert(cell, target.def);
    if (problem) problems.push(`${target.label}: ${problem}`);
    if (!values.has(id)) values.set(id, value);
  });
  const userName = mapping.userNameColumn >= 0 ? (row[mapping.userNameColumn] ?? '').trim() || undefined : undefined;
  const keyOf = (by: MatchBy): string | undefined => {
    if (by === 'userName') return userName;
    const v = values.get(KEY_ATTRIBUTE[by]);
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  if (row.length < mapping.header.length) problems.push(`the row has ${row.length} cells; the header has ${mapping.header.length}`);
  return { index, values, userName, matchKey: keyOf(mapping.matchBy), managerKey, ownManagerKey: keyOf(mapping.managerBy), problems };
}

/** Keys compare without case: userName, externalId and employeeNumber are not caseExact (RFC 7643 §4.1, §4.3). */
export function keyOf(text: string): string {
  return text.toLowerCase();
}

function holderOf(resource: JsonObject, target: Target): JsonObject | undefined {
  const holder = target.urn ? resource[target.urn] : resource;
  return isObject(holder) ? holder : undefined;
}

function same(a: Json | undefined, b: Json, def: AttributeDef): boolean {
  if (def.type === 'dateTime' && typeof a === 'string' && typeof b === 'string') return new Date(a).getTime() === new Date(b).getTime();
  return a === b;
}

/** Where a target's value sits in a resource being built. */
function slot(body: JsonObject, target: Target): JsonObject {
  if (!target.urn) return body;
  if (!isObject(body[target.urn])) body[target.urn] = {};
  return body[target.urn] as JsonObject;
}

/** A new user from a row: POST /Users's body (the manager is added by the caller, who knows its id). */
export function createBody(p: Prepared, targets: ReadonlyMap<string, Target>): JsonObject {
  const body: JsonObject = { schemas: [USER_SCHEMA] };
  if (p.userName !== undefined) body.userName = p.userName;
  for (const [id, value] of p.values) {
    const t = targets.get(id)!;
    const at = slot(body, t);
    if (t.kind === 'simple') at[t.attr] = value;
    else if (t.kind === 'sub') {
      if (!isObject(at[t.attr])) at[t.attr] = {};
      (at[t.attr] as JsonObject)[t.sub!] = value;
    } else if (t.kind === 'typed') {
      const list = Array.isArray(at[t.attr]) ? (at[t.attr] as Json[]) : (at[t.attr] = []);
      // The first of a kind is the primary one (the work email of an HR file is the one to write to).
      list.push({ value, type: t.type!, ...(list.length === 0 ? { primary: true } : {}) });
    }
    if (t.urn && !(body.schemas as string[]).includes(t.urn)) (body.schemas as string[]).push(t.urn);
  }
  return body;
}

/** Sets the manager of a body being created. */
export function setManager(body: JsonObject, managerId: string, managerTarget: Target | undefined): void {
  if (!managerTarget?.urn) return;
  slot(body, managerTarget)[managerTarget.attr] = { value: managerId };
  if (!(body.schemas as string[]).includes(managerTarget.urn)) (body.schemas as string[]).push(managerTarget.urn);
}

export interface PatchOperation {
  op: 'replace' | 'add';
  path: string;
  value: Json;
}

/** The PATCH operations that bring an existing user to the row's values; none when every value is already there. */
export function changes(p: Prepared, current: JsonObject, targets: ReadonlyMap<string, Target>): PatchOperation[] {
  const ops: PatchOperation[] = [];
  if (p.userName !== undefined && current.userName !== p.userName) ops.push({ op: 'replace', path: USER_NAME, value: p.userName });
  /** Multi-valued attributes changed by type, written back whole (a path filter on a type the user lacks matches nothing). */
  const lists = new Map<string, { target: Target; list: JsonObject[] }>();
  for (const [id, value] of p.values) {
    const t = targets.get(id)!;
    const holder = holderOf(current, t);
    if (t.kind === 'simple') {
      if (!same(holder ? valueOf(holder, t.attr) : undefined, value, t.def)) ops.push({ op: 'replace', path: t.top, value });
    } else if (t.kind === 'sub') {
      const parent = holder ? valueOf(holder, t.attr) : undefined;
      const now = isObject(parent) ? valueOf(parent, t.sub!) : undefined;
      if (!same(now, value, t.def)) ops.push({ op: 'replace', path: `${t.top}.${t.sub}`, value });
    } else if (t.kind === 'typed') {
      let entry = lists.get(t.top);
      if (!entry) {
        const raw = holder ? valueOf(holder, t.attr) : undefined;
        entry = { target: t, list: (Array.isArray(raw) ? raw : []).filter(isObject).map((x) => ({ ...x })) };
        lists.set(t.top, entry);
      }
      const of = entry.list.find((x) => typeof x.type === 'string' && x.type.toLowerCase() === t.type!.toLowerCase());
      if (of && same(of.value, value, t.def)) continue;
      if (of) of.value = value;
      else entry.list.push({ value, type: t.type!, ...(entry.list.length === 0 ? { primary: true } : {}) });
      (entry as { changed?: boolean }).changed = true;
    }
  }
  for (const [top, entry] of lists) {
    // $ref is the server's to derive.
    if ((entry as { changed?: boolean }).changed) ops.push({ op: 'replace', path: top, value: entry.list.map(({ $ref: _r, ...rest }) => rest) });
  }
  return ops;
}

/** The id of the user's manager, if any. */
export function managerOf(current: JsonObject | undefined, managerTarget: Target | undefined): string | undefined {
  if (!current || !managerTarget?.urn) return undefined;
  const holder = current[managerTarget.urn];
  const m = isObject(holder) ? holder[managerTarget.attr] : undefined;
  return isObject(m) && typeof m.value === 'string' ? m.value : undefined;
}

export { MANAGER_TARGET };
