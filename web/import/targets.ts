/**
 * What a column of an HR file can be imported into: the User attributes this sign-in may write, core, enterprise
 * and the operator's extensions alike, read from the server's own schemas (GET /ResourceTypes/User and /Schemas),
 * so that an attribute an operator adds is offered without a change here. And the mapping suggested from a
 * column's name ("First Name" is name.givenName).
 */
import { type Api, ENTERPRISE, type JsonObject, type ListResponse, PROFILE } from '../api';
import { type AttributeDef, labelOf, schemasFrom, USER_SCHEMA } from '../schema';
import type { SectionInfo } from '../session';
import { MANAGER_TARGET } from './suggest';

/**
 * One place a cell's value goes.
 *  - simple: a single-valued top-level attribute (`title`, `urn:…:enterprise:2.0:User:department`);
 *  - sub: a sub-attribute of a single-valued complex one (`name.givenName`);
 *  - typed: the `value` of the entry of one `type` of a multi-valued one (the work email, the mobile phone);
 *  - manager: the enterprise manager, given by the manager's employee number or user name in the file.
 */
export interface Target {
  /** The <option> value, and the key of the row's values. */
  id: string;
  label: string;
  /** The <optgroup>: Core, Enterprise, or an operator's schema by its name. */
  group: string;
  kind: 'simple' | 'sub' | 'typed' | 'manager';
  /** The extension's URN; undefined for core attributes. */
  urn?: string;
  /** The top-level attribute's name. */
  attr: string;
  sub?: string;
  /** typed: the entry's `type`. */
  type?: string;
  /** The definition of what the cell becomes (the sub-attribute's, or `value`'s for typed), for checking it. */
  def: AttributeDef;
  /** The top-level key as GET /Sections names it (`name`, `urn:…:User:department`). */
  top: string;
}

export const USER_NAME = 'userName';
export const EXTERNAL_ID = 'externalId';
export { EMPLOYEE_NUMBER, MANAGER_TARGET, normalize, suggestManagerBy, suggestTarget, suggestUserNameColumn } from './suggest';

/** Writable by a client at all: what an import can set (readOnly is the server's; writeOnly cannot be compared). */
function settable(def: AttributeDef): boolean {
  return def.mutability === 'readWrite' || def.mutability === 'immutable';
}

/**
 * The targets this token may write, in the schemas' order. `sections` (GET /Sections) says which top-level
 * attributes the token may change; the server checks every write again, so a target left out here could not
 * have been imported anyway. userName is not among them: it is chosen on its own (a user must have one, and it
 * is also what people are matched by).
 */
export function targetsFrom(schemas: JsonObject[], extensions: string[], sections: SectionInfo[]): Target[] {
  const writable = new Set(sections.filter((s) => s.writable).flatMap((s) => s.attributes.map((a) => a.toLowerCase())));
  const out: Target[] = [];
  const byId = new Map(schemas.map((s) => [String(s.id ?? ''), s]));
  for (const urn of [USER_SCHEMA, ...extensions]) {
    const schema = byId.get(urn);
    if (!schema) continue;
    const core = urn === USER_SCHEMA;
    const group = core ? 'Core' : urn === ENTERPRISE ? 'Enterprise' : urn === PROFILE ? 'Profile' : String(schema.name ?? urn);
    const defs = schemasFrom([schema]);
    for (const raw of (Array.isArray(schema.attributes) ? schema.attributes : []) as JsonObject[]) {
      const name = String(raw.name ?? '');
      const top = core ? name : `${urn}:${name}`;
      const def = defs.attribute(top);
      if (!def || !settable(def) || name === USER_NAME || !writable.has(top.toLowerCase())) continue;
      const base = { group, urn: core ? undefined : urn, attr: def.name, top };
      const label = labelOf(def.name, def.builtIn);
      const subs = (def.subAttributes ?? []).filter((s) => settable(s) && s.name !== '$ref' && s.type !== 'complex' && !s.multiValued);
      if (top === MANAGER_TARGET) {
        out.push({ ...base, id: MANAGER_TARGET, label: 'Manager', kind: 'manager', def });
      } else if (def.type !== 'complex' && !def.multiValued) {
        out.push({ ...base, id: top, label, kind: 'simple', def });
      } else if (def.type === 'complex' && !def.multiValued) {
        for (const s of subs) out.push({ ...base, id: `${top}.${s.name}`, label: `${label}: ${labelOf(s.name, def.builtIn).toLowerCase()}`, kind: 'sub', sub: s.name, def: s });
      } else if (def.type === 'complex' && def.multiValued && name !== 'x509Certificates') {
        // Multi-valued with a `value` and canonical types: one target per type (the work email, the mobile phone).
        const value = subs.find((s) => s.name === 'value');
        const types = def.subAttributes?.find((s) => s.name === 'type')?.canonicalValues ?? [];
        if (!value) continue;
        const one = labelOf(def.name, def.builtIn).replace(/s$/, '');
        for (const type of types) out.push({ ...base, id: `${top}[${type}]`, label: `${one} (${type})`, kind: 'typed', type, def: value });
      }
    }
  }
  // externalId is a common attribute (RFC 7643 §3.1), not the User schema's: the sections name it all the same.
  if (writable.has(EXTERNAL_ID.toLowerCase())) {
    const def: AttributeDef = { name: EXTERNAL_ID, type: 'string', multiValued: false, mutability: 'readWrite', returned: 'default', required: false, builtIn: true };
    const at = out.findIndex((t) => t.group !== 'Core');
    out.splice(at === -1 ? out.length : at, 0, { id: EXTERNAL_ID, label: labelOf(EXTERNAL_ID), group: 'Core', kind: 'simple', attr: EXTERNAL_ID, top: EXTERNAL_ID, def });
  }
  return out;
}

/** The targets, from the server's own word on the User resource type and its schemas. */
export async function loadTargets(api: Api, sections: SectionInfo[]): Promise<Target[]> {
  const [types, schemas] = await Promise.all([api.get('/ResourceTypes/User'), api.get<ListResponse>('/Schemas')]);
  const extensions = (Array.isArray(types.body.schemaExtensions) ? types.body.schemaExtensions : [])
    .map((e) => (e !== null && typeof e === 'object' && !Array.isArray(e) ? String(e.schema ?? '') : ''))
    .filter(Boolean);
  return targetsFrom(schemas.body.Resources ?? [], extensions, sections);
}
