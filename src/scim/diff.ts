/**
 * Which top-level attributes of a resource differ between two versions: what the sections rule checks a write
 * against (sections.ts) and what the audit trail records (audit.ts), walked the same way for both.
 */
import type { AttributeDefinition, ResourceSchema } from './schema';
import { jsonEqual } from './equal';
import { isObject, type Json, type JsonObject } from './values';

/** A top-level attribute as ResourceSchema.allAttributes gives it. */
export interface TopLevel {
  schema: string;
  extension: boolean;
  attribute: Pick<AttributeDefinition, 'name'>;
}

/** The key of a top-level attribute in entries and sections: extension attributes URN-qualified. */
export function attributeKey(r: TopLevel): string {
  return r.extension ? `${r.schema}:${r.attribute.name}` : r.attribute.name;
}

/** A top-level attribute with its definition, as ResourceSchema.allAttributes yields it. */
export interface SchemaAttribute extends TopLevel {
  attribute: AttributeDefinition;
}

export interface Difference {
  attribute: SchemaAttribute;
  key: string;
  /** The value before; undefined when there was none. */
  was?: Json;
  /** The value after; undefined when there is none. */
  now?: Json;
}

/**
 * The top-level attributes (that `include` keeps) whose values differ between `before` (undefined: created) and
 * `after` (undefined: deleted), in the schema's order.
 */
export function* differences(
  schema: ResourceSchema,
  before: JsonObject | undefined,
  after: JsonObject | undefined,
  include: (key: string) => boolean = () => true,
): Generator<Difference> {
  for (const r of schema.allAttributes()) {
    const key = attributeKey(r);
    if (!include(key)) continue;
    const read = (resource: JsonObject | undefined): Json | undefined => {
      const holder = r.extension ? resource?.[r.schema] : resource;
      return isObject(holder) ? holder[r.attribute.name] : undefined;
    };
    const was = read(before);
    const now = read(after);
    if (was === undefined && now === undefined) continue;
    if (was !== undefined && now !== undefined && jsonEqual(was, now)) continue;
    yield { attribute: r, key, was, now };
  }
}
