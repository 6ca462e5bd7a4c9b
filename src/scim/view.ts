/**
 * A resource's view: its default representation (what a GET without `attributes` or `excludedAttributes` returns,
 * RFC 7644 §3.9) serialised as JSON text once, when the resource is written, and stored with it, so that the most
 * frequent read of a provisioning client sends stored text instead of decoding, rendering, projecting and
 * serialising the resource.
 *
 * A view is rendered against a placeholder base URL, because `meta.location` and `$ref` depend on the URL the
 * client used (render.ts); `body()` puts the real one in. The placeholder is a NUL character, which JSON text holds
 * only as the escape `\u0000`; a resource whose own values hold that escape followed by the marker's name gets no
 * view (it is rendered on every read).
 *
 * A view is only valid for the schemas it was made with: each carries a fingerprint of the schema definitions and
 * resource types, and a view with another fingerprint is ignored (the next write replaces it).
 */
import { createHash } from 'node:crypto';
import { project } from './projection';
import { Endpoints, render } from './render';
import type { ScimResource } from './resource';
import type { ResourceSchema, SchemaRegistry } from './schema';

/** Changes when the way views are made changes, so that older views are ignored (stored views start with it). */
const FORMAT = 'representation v1';
const BASE = '\u0000scim-base-url';
/** How the placeholder reads inside JSON text. */
const BASE_IN_JSON = JSON.stringify(BASE).slice(1, -1);

export class Views {
  /** The fingerprint of the schemas (and this code's format) a view was made with: views start with it. */
  private readonly prefix: string;

  constructor(
    readonly schema: ResourceSchema,
    private readonly endpoints: Endpoints,
    registryFingerprint: string,
  ) {
    this.prefix = `${registryFingerprint}:${schema.type.id}\n`;
  }

  /**
   * The view to store with `resource`: the fingerprint, then the JSON of its default representation with the
   * placeholder base URL. Undefined when the resource's own values contain the placeholder.
   */
  make(resource: ScimResource): string | undefined {
    if (JSON.stringify(resource).includes(BASE_IN_JSON)) return undefined;
    return this.prefix + JSON.stringify(project(this.schema, render(this.schema, resource, BASE, this.endpoints)));
  }

  /** The JSON body a client gets from a view, for its base URL; undefined when the view is another format's. */
  body(view: string, baseUrl: string): string | undefined {
    if (!view.startsWith(this.prefix)) return undefined;
    return view.slice(this.prefix.length).replaceAll(BASE_IN_JSON, jsonEscaped(baseUrl));
  }
}

/** A fingerprint of every schema and resource type definition (anything a view depends on). */
export function registryFingerprint(registry: SchemaRegistry): string {
  const definitions = JSON.stringify([FORMAT, registry.common, registry.schemas(), registry.resourceTypes()]);
  return createHash('sha256').update(definitions).digest('base64url').slice(0, 12);
}

/** Base URLs come from the Host header: escaped for JSON once per distinct value (a server sees very few). */
const escaped = new Map<string, string>();
function jsonEscaped(s: string): string {
  let e = escaped.get(s);
  if (e === undefined) {
    e = JSON.stringify(s).slice(1, -1);
    if (escaped.size >= 64) escaped.clear();
    escaped.set(s, e);
  }
  return e;
}
