/**
 * Which attributes a response carries (RFC 7644 §3.9 and RFC 7643 §7 "returned").
 *
 * - returned "never" (password): never, whatever the request says.
 * - returned "always" (id): always, even when excluded.
 * - returned "request": when named in `attributes`, and in the answer to a POST, PUT or PATCH that wrote it (RFC 7643
 *   §2.4: "returned in response to any PUT, POST, or PATCH operations if the attribute was specified by the client
 *   (for example, the attribute was modified)").
 * - returned "default": unless `attributes` names others, or `excludedAttributes` names it.
 */
import { AttributeDefinition, ResourceSchema } from './schema';
import { isObject, Json, JsonObject } from './values';

/** A parsed `attributes`/`excludedAttributes` list: top-level keys (attribute name or extension URN) -> sub-selection. */
interface Selection {
  /** key = canonical top-level name (core) or `${urn}` (a whole extension) or `${urn}:${name}` */
  whole: Set<string>;
  /** key as above -> canonical sub-attribute names */
  subs: Map<string, Set<string>>;
}

export interface ProjectionRequest {
  attributes?: string[];
  excludedAttributes?: string[];
  /** Top-level attribute keys (attributeKey) of returned "request" attributes the write being answered specified. */
  written?: ReadonlySet<string>;
}

/**
 * The returned "request" attributes a POST or PUT body (`patch` false) or a PatchOp body (`patch` true) specifies:
 * what the answer to that write carries besides the default set. Unknown names are not this function's concern.
 */
export function writtenRequestAttributes(schema: ResourceSchema, body: unknown, patch: boolean): Set<string> {
  const out = new Set<string>();
  const note = (path: string) => {
    const r = schema.resolve(path.split('[')[0]!);
    if (r && r.attribute.returned === 'request') out.add(keyOf(r.schema, r.extension, r.attribute.name));
  };
  const noteObject = (value: unknown) => {
    if (!isObject(value as Json)) return;
    for (const [k, v] of Object.entries(value as JsonObject)) {
      const ext = schema.extensionUrn(k);
      if (ext && isObject(v)) for (const inner of Object.keys(v)) note(`${ext}:${inner}`);
      else if (!ext) note(k);
    }
  };
  if (!patch) noteObject(body);
  else {
    const ops = isObject(body as Json) ? (body as JsonObject).Operations : undefined;
    for (const op of Array.isArray(ops) ? ops : []) {
      if (!isObject(op)) continue;
      const ext = typeof op.path === 'string' ? schema.extensionUrn(op.path) : undefined;
      if (ext) noteObject({ [ext]: op.value });
      else if (typeof op.path === 'string') note(op.path);
      else noteObject(op.value);
    }
  }
  return out;
}

/** Splits a comma-separated query parameter value into attribute names. */
export function splitAttributeList(raw: unknown): string[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  const parts = (Array.isArray(raw) ? raw : [raw])
    .flatMap((x) => String(x).split(','))
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  return parts.length > 0 ? parts : undefined;
}

function keyOf(schema: string, extension: boolean, name: string): string {
  return extension ? `${schema}:${name}` : name;
}

/**
 * Names that no schema defines are ignored rather than rejected: RFC 7644 §3.9 gives no error for them, and
 * clients send one list (e.g. `excludedAttributes=members`) to several resource types.
 */
function parseSelection(schema: ResourceSchema, names: string[]): Selection {
  const sel: Selection = { whole: new Set(), subs: new Map() };
  for (const name of names) {
    const ext = schema.extensionUrn(name);
    if (ext) {
      sel.whole.add(ext);
      continue;
    }
    const r = schema.resolve(name);
    if (!r) continue;
    const key = keyOf(r.schema, r.extension, r.attribute.name);
    if (!r.sub) sel.whole.add(key);
    else {
      const set = sel.subs.get(key) ?? new Set<string>();
      set.add(r.sub.name);
      sel.subs.set(key, set);
    }
  }
  return sel;
}

type Mode = { kind: 'default' } | { kind: 'include'; sel: Selection } | { kind: 'exclude'; sel: Selection };

function projectValue(def: AttributeDefinition, value: Json, key: string, mode: Mode, forced: boolean): Json | undefined {
  if (def.type !== 'complex') return value;
  const items = Array.isArray(value) ? value : [value];
  const out = items
    .map((item) => {
      if (!isObject(item)) return item;
      const o: JsonObject = {};
      for (const sub of def.subAttributes ?? []) {
        const v = item[sub.name];
        if (v === undefined || sub.returned === 'never') continue;
        if (includeSub(sub, key, mode, forced)) o[sub.name] = v;
      }
      return Object.keys(o).length > 0 ? o : undefined;
    })
    .filter((x): x is Json => x !== undefined);
  if (out.length === 0) return undefined;
  return Array.isArray(value) ? out : out[0];
}

function includeSub(sub: AttributeDefinition, parentKey: string, mode: Mode, parentWhole: boolean): boolean {
  if (sub.returned === 'always') return true;
  switch (mode.kind) {
    case 'default':
      return sub.returned === 'default';
    case 'include': {
      const named = mode.sel.subs.get(parentKey)?.has(sub.name) ?? false;
      if (named) return true;
      return parentWhole && sub.returned === 'default';
    }
    case 'exclude':
      return sub.returned === 'default' && !(mode.sel.subs.get(parentKey)?.has(sub.name) ?? false);
  }
}

function includeAttribute(
  def: AttributeDefinition,
  key: string,
  extUrn: string | undefined,
  mode: Mode,
  written?: ReadonlySet<string>,
): { yes: boolean; whole: boolean } {
  if (def.returned === 'never') return { yes: false, whole: false };
  if (def.returned === 'always') return { yes: true, whole: true };
  if (def.returned === 'request' && written?.has(key) && mode.kind === 'default') return { yes: true, whole: true };
  switch (mode.kind) {
    case 'default':
      return { yes: def.returned === 'default', whole: true };
    case 'include': {
      const whole = mode.sel.whole.has(key) || (extUrn !== undefined && mode.sel.whole.has(extUrn));
      return { yes: whole || mode.sel.subs.has(key), whole };
    }
    case 'exclude': {
      const excluded = mode.sel.whole.has(key) || (extUrn !== undefined && mode.sel.whole.has(extUrn));
      return { yes: def.returned === 'default' && !excluded, whole: true };
    }
  }
}

function modeOf(schema: ResourceSchema, request: ProjectionRequest): Mode {
  // RFC 7644 §3.9: `attributes` overrides the default set; when both are given, `attributes` wins.
  if (request.attributes && request.attributes.length > 0) return { kind: 'include', sel: parseSelection(schema, request.attributes) };
  if (request.excludedAttributes && request.excludedAttributes.length > 0) return { kind: 'exclude', sel: parseSelection(schema, request.excludedAttributes) };
  return { kind: 'default' };
}

/**
 * Whether a response to this request carries the core attribute `name`: attributes computed from other records
 * (a Group's members, a User's groups) are only computed when it does (`excludedAttributes=members` loads none).
 */
export function returnsAttribute(schema: ResourceSchema, request: ProjectionRequest, name: string): boolean {
  const def = schema.attribute(schema.core.id, name);
  return def !== undefined && includeAttribute(def, def.name, undefined, modeOf(schema, request)).yes;
}

/** Applies `returned` and the request's attribute lists to a rendered resource. */
export function project(schema: ResourceSchema, resource: JsonObject, request: ProjectionRequest = {}): JsonObject {
  const mode = modeOf(schema, request);
  const out: JsonObject = {};
  if (resource.schemas !== undefined) out.schemas = resource.schemas;
  for (const [name, value] of Object.entries(resource)) {
    if (name === 'schemas' || value === undefined) continue;
    const extUrn = schema.extensionUrn(name);
    if (extUrn) {
      if (!isObject(value)) continue;
      const inner: JsonObject = {};
      for (const [k, v] of Object.entries(value)) {
        const def = schema.attribute(extUrn, k);
        if (!def) continue;
        const key = keyOf(extUrn, true, def.name);
        const inc = includeAttribute(def, key, extUrn, mode, request.written);
        if (!inc.yes) continue;
        const pv = projectValue(def, v, key, mode, inc.whole);
        if (pv !== undefined) inner[def.name] = pv;
      }
      if (Object.keys(inner).length > 0) out[extUrn] = inner;
      continue;
    }
    const def = schema.attribute(schema.core.id, name);
    if (!def) continue;
    const inc = includeAttribute(def, def.name, undefined, mode, request.written);
    if (!inc.yes) continue;
    const pv = projectValue(def, value, def.name, mode, inc.whole);
    if (pv !== undefined) out[def.name] = pv;
  }
  return out;
}
