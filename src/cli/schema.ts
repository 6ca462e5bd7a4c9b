/**
 * `npm run schema -- check` lists what stored data says against the schema (SCIM_SCHEMA_DIR and the built-ins) the
 * server would start with: values of another type or shape, resources lacking a value now required, values shared
 * by resources of an attribute now unique, values of removed attributes.
 * `npm run schema -- apply [--purge]` converts or clears what can be converted, stores again what caseExact changed,
 * with --purge removes the values of removed attributes, and records the schema as the data's own; then builds the
 * indexes. What no command can decide (a value for a required attribute, which of two resources keeps a unique one)
 * stays listed, and the exit code is 1 until it is resolved.
 *
 * Both read the same settings as the server (MONGODB_URI or SCIM_DATA_DIR, SCIM_SCHEMA_DIR). Stop the server before
 * `apply`; `check` may run beside it.
 */
import { loadConfig } from '../config';
import { SchemaRegistry } from '../scim/schema';
import { jsonEqual } from '../scim/equal';
import { createStore } from '../store';
import { ResourceService, SYSTEM_CALLER } from '../service/resources';
import { describe, migrateStoredData } from '../service/schema-migration';

export const USAGE = 'usage: npm run schema -- check | apply [--purge]';

/** Runs the command; returns the exit code. `write` receives the report, line by line. */
export async function runSchemaCommand(args: readonly string[], env: Record<string, string | undefined>, write: (line: string) => void): Promise<number> {
  const [command, ...flags] = args;
  const purge = flags.includes('--purge');
  if ((command !== 'check' && command !== 'apply') || flags.some((f) => f !== '--purge') || (purge && command !== 'apply')) throw new Error(USAGE);
  const config = loadConfig(env);
  const registry = SchemaRegistry.load({ operatorDir: config.schemaDir, unknownAttributes: config.unknownAttributes });
  const schemas = registry.resourceTypes().map((t) => registry.resourceSchema(t.id));
  const store = await createStore({ mongodbUri: config.mongodbUri, mongodbDb: config.mongodbDb, dbTimeoutMs: Math.max(config.dbTimeoutMs, 60_000), dataDir: config.dataDir });
  try {
    const services = new Map(schemas.map((s) => [s, new ResourceService(s, { resources: store.resources })]));
    let progress = 0;
    const report = await migrateStoredData(store, schemas, {
      walkAlways: true,
      onProgress: (type, walked) => {
        if (walked - progress >= 100_000) write(`  ${type}: ${(progress = walked)} resources read`);
      },
      apply:
        command === 'apply'
          ? {
              purge,
              rewrite: async (schema, record, next) => {
                if (!jsonEqual(next, record.resource)) {
                  // Through the service: a new version, an audit entry by the server itself.
                  await services.get(schema)!.write({ operation: 'repair', id: record.id, edit: () => next }, { caller: SYSTEM_CALLER });
                  return;
                }
                // Unchanged but compared differently now (caseExact): stored again, so its normalised copy, unique
                // keys and index entries follow the new comparison. A new version, so caches see a change.
                const version = record.version + 1;
                const resource = { ...record.resource, meta: { ...record.resource.meta, version: `W/"${version}"` } };
                await store.resources.replace(schema, { record: { ...record, version, resource, view: undefined }, expectedVersion: record.version, current: record });
              },
            }
          : undefined,
    });
    for (const a of report.applied) {
      write(`${a.type}: ${a.converted} value(s) converted, ${a.cleared} cleared, ${a.purged} purged, ${a.rewritten} resource(s) stored again`);
    }
    const blocking = report.findings.filter((f) => f.blocking);
    if (report.findings.length === 0) write('stored data agrees with the schema');
    else write(describe(report.findings));
    if (blocking.length > 0) {
      write(`${blocking.length} change(s) still stop the server from starting`);
      return 1;
    }
    if (command === 'apply') {
      // The indexes the new schema asks for, built now rather than at the next start.
      await store.init(schemas);
      await store.indexed();
      write('schema recorded; indexes built');
    } else write('the server will start with this schema');
    return 0;
  } finally {
    await store.close();
  }
}

if (require.main === module) {
  runSchemaCommand(process.argv.slice(2), process.env, (line) => process.stdout.write(`${line}\n`)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`schema: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(2);
    },
  );
}
