/**
 * Stored data against the schema it is served with (scim/schema-state.ts): what start-up checks, what
 * `npm run schema -- check` lists and what `npm run schema -- apply` converts.
 *
 * At start, a change that stored data may contradict (type, multiValued, caseExact, required, unique) costs one walk
 * of that resource type; the server refuses to start while resources break it, naming the attribute and how many,
 * before any index that data might contradict (a unique one) is made. Additions, and removals (values kept, never
 * returned), ask nothing of stored data: a directory of a million users gets a new extension with no step at all.
 */
import type { StoredRecord } from '../scim/resource';
import type { ResourceSchema } from '../scim/schema';
import { breaks, changesSince, convert, sameState, stateOf, uniqueValues, type SchemaChange, type SchemaState } from '../scim/schema-state';
import type { JsonObject } from '../scim/values';
import type { Store } from '../store/store';

/** Ids a finding names (the command lists them; start-up names a few). */
const SAMPLE = 20;

export interface Finding {
  type: string;
  change: SchemaChange;
  /** Resources that break the change (for `removed`: that hold retired values). */
  count: number;
  sample: string[];
  /** True when the server may not start while `count` > 0. */
  blocking: boolean;
  /** What to do about it. */
  remedy: string;
}

export interface MigrationReport {
  findings: Finding[];
  /** Per resource type, what apply did. */
  applied: { type: string; converted: number; cleared: number; purged: number; rewritten: number }[];
}

export interface MigrationOptions {
  /** Walk even when no change asks for it (the check command lists retired values too). */
  walkAlways?: boolean;
  /** Convert or clear what can be converted, re-normalise what caseExact changed. */
  apply?: {
    /** Remove values stored under names the schemas no longer define. */
    purge: boolean;
    /** Writes the converted resource (through the service: audited, versioned). */
    rewrite(schema: ResourceSchema, record: StoredRecord, next: JsonObject): Promise<void>;
  };
  /** Told of progress: records walked of a type. */
  onProgress?: (type: string, walked: number) => void;
}

const REMEDY: Record<SchemaChange['kind'], string> = {
  type: '`npm run schema -- apply` converts the values that can be read as the new type and clears the rest',
  multiValued: '`npm run schema -- apply` puts single values in lists, or takes the one (or primary) value out of a list, and clears the rest',
  caseExact: '`npm run schema -- apply` stores them again under the new comparison',
  required: 'give these resources a value (or make the attribute optional again); no command can invent one',
  uniqueness: 'change the values these resources share (or make the attribute not unique again); no command can choose which one keeps it',
  removed: 'kept and never returned; `npm run schema -- apply --purge` removes them',
};

/** Whether a change of this kind stops the start while some resources break it. */
function blocks(kind: SchemaChange['kind']): boolean {
  return kind !== 'removed';
}

/**
 * Checks each type's stored data against its schema, and with `apply` converts it; records the schema as the
 * data's state when nothing blocking remains. Returns the findings (blocking ones stop the start: see describe()).
 */
export async function migrateStoredData(store: Store, schemas: readonly ResourceSchema[], options: MigrationOptions = {}): Promise<MigrationReport> {
  const report: MigrationReport = { findings: [], applied: [] };
  for (const schema of schemas) {
    const type = schema.type.id;
    const before = await store.schemaState.read(type);
    if (!before) {
      // The first start with a state: nothing to compare with (the built-ins are as they were; an operator's
      // attributes were refused until now, so no resource holds one).
      await store.schemaState.write(type, stateOf(schema));
      continue;
    }
    let changes = changesSince(before, schema);
    const walkNeeded = changes.some((c) => blocks(c.kind)) || (options.walkAlways && changes.length > 0) || (options.apply?.purge && changes.length > 0);
    let findings = walkNeeded ? await findingsOf(store, schema, changes, options) : changes.map((change) => finding(type, change, 0, []));
    if (options.apply && findings.some((f) => f.count > 0) && !findings.some((f) => f.change.kind === 'uniqueness' && f.count > 0)) {
      // Writes create the type's indexes on MongoDB, a new unique one included: with values still shared, nothing
      // is written until those are resolved.
      report.applied.push(await applyChanges(store, schema, changes, options.apply));
      // What caseExact asked (storing again) is done; the walk cannot tell a value stored again from one that is not.
      findings = (await findingsOf(store, schema, changes, options)).map((f) => (f.change.kind === 'caseExact' ? finding(type, f.change, 0, []) : f));
    }
    report.findings.push(...findings.filter((f) => f.count > 0 || f.change.kind === 'removed'));
    if (!findings.some((f) => f.blocking)) {
      let state = stateOf(schema, before);
      if (options.apply?.purge) {
        // Purged: the retired shapes have no values left to check when an attribute comes back.
        state = stateOf(schema);
        changes = [];
      }
      if (!sameState(before, state)) await store.schemaState.write(type, state);
    }
  }
  return report;
}

function finding(type: string, change: SchemaChange, count: number, sample: string[]): Finding {
  return { type, change, count, sample, blocking: blocks(change.kind) && count > 0, remedy: REMEDY[change.kind] };
}

async function findingsOf(store: Store, schema: ResourceSchema, changes: readonly SchemaChange[], options: MigrationOptions): Promise<Finding[]> {
  const type = schema.type.id;
  const counts = changes.map(() => ({ count: 0, sample: [] as string[] }));
  // Uniqueness: the first holder of each value, and every later one that shares it.
  const seen = changes.map((c) => (c.kind === 'uniqueness' ? new Map<string, string>() : undefined));
  let walked = 0;
  await store.resources.walk(schema, (records) => {
    for (const r of records) {
      changes.forEach((change, i) => {
        const c = counts[i]!;
        const holders = seen[i];
        if (holders) {
          for (const v of new Set(uniqueValues(schema, change.label, r.resource))) {
            const first = holders.get(v);
            if (first === undefined) holders.set(v, r.id);
            else {
              c.count++;
              if (c.sample.length < SAMPLE) c.sample.push(`${r.id} (shares ${JSON.stringify(v)} with ${first})`);
            }
          }
          return;
        }
        if (breaks(schema, change, r.resource)) {
          c.count++;
          if (c.sample.length < SAMPLE) c.sample.push(r.id);
        }
      });
    }
    walked += records.length;
    options.onProgress?.(type, walked);
  });
  return changes.map((change, i) => finding(type, change, counts[i]!.count, counts[i]!.sample));
}

async function applyChanges(
  store: Store,
  schema: ResourceSchema,
  changes: readonly SchemaChange[],
  apply: NonNullable<MigrationOptions['apply']>,
): Promise<MigrationReport['applied'][number]> {
  const done = { type: schema.type.id, converted: 0, cleared: 0, purged: 0, rewritten: 0 };
  const todo: StoredRecord[] = [];
  await store.resources.walk(schema, (records) => {
    for (const r of records) if (changes.some((c) => (c.kind !== 'removed' || apply.purge) && breaks(schema, c, r.resource))) todo.push(r);
  });
  for (const record of todo) {
    const next = structuredClone(record.resource) as JsonObject;
    let renormalise = false;
    for (const change of changes) {
      if (change.kind === 'removed' && !apply.purge) continue;
      if (change.kind === 'caseExact' && breaks(schema, change, next)) renormalise = true;
      const did = convert(schema, change, next);
      if (did) done[did]++;
    }
    if (renormalise) done.rewritten++;
    await apply.rewrite(schema, record, next);
  }
  return done;
}

/** The findings as an operator reads them: one line per attribute, then the ids, then what to do. */
export function describe(findings: readonly Finding[], { ids = SAMPLE }: { ids?: number } = {}): string {
  return findings
    .map((f) => {
      const what = f.change.kind === 'removed' ? `${f.count} ${f.type} resource(s) hold values of it` : `${f.count} ${f.type} resource(s) break it`;
      const list = f.sample.slice(0, ids);
      const more = f.count > list.length ? `, and ${f.count - list.length} more` : '';
      return `- ${f.type} ${f.change.label}: ${f.change.what}; ${what}${list.length > 0 ? ` (${list.join(', ')}${more})` : ''}. ${f.remedy}.`;
    })
    .join('\n');
}

/** The states of a store, for tests and the command's report. */
export async function storedState(store: Store, type: string): Promise<SchemaState | undefined> {
  return store.schemaState.read(type);
}
