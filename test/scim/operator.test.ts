/**
 * The operator's schema directory (SCIM_SCHEMA_DIR, src/scim/operator.ts): every broken directory stops the server
 * with the file, the JSON pointer and the rule; the examples load into the registry, the sections and the indexes.
 */
import t from 'tap';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { SchemaFileError } from '../../src/scim/schema-check';
import { SchemaRegistry, SCHEMA_URNS } from '../../src/scim/schema';
import { Sections } from '../../src/scim/sections';
import { makeStore } from '../helper';

const EXAMPLES = join(__dirname, '..', '..', 'examples', 'schema');
const HR = 'urn:example:params:scim:schemas:extension:hr:2.0:User';
const ENTRA = 'urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User';
const BUILT_IN_SECTIONS = 'photo, identity, jobInfo, settings, preferences, contact, authContact, account';

type Json = Record<string, unknown>;
/** File name -> parsed JSON (written with JSON.stringify) or a string (written as is). */
type Files = Record<string, unknown>;

/** A fresh copy of examples/schema, parsed. */
function examples(): Files {
  const files: Files = {};
  for (const name of readdirSync(EXAMPLES)) files[name] = JSON.parse(readFileSync(join(EXAMPLES, name), 'utf8')) as unknown;
  return files;
}

/** The examples with one change. */
function mutate(change: (f: Files) => void): Files {
  const files = examples();
  change(files);
  return files;
}

// Accessors into a copy, for mutations.
const ext = (f: Files) => f['extensions.json'] as Json;
const entry = (f: Files, i: number) => (ext(f).extensions as Json[])[i]!;
const sections = (f: Files, i: number) => entry(f, i).sections as Record<string, string[]>;
const defined = (f: Files) => ext(f).sections as Json[];
const hr = (f: Files) => f['hr.json'] as Json;
const hrAttribute = (f: Files, name: string) => (hr(f).attributes as Json[]).find((a) => a.name === name)!;

const dirs: string[] = [];
t.teardown(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Writes the files into a fresh temp directory. */
function write(files: Files): string {
  const dir = mkdtempSync(join(tmpdir(), 'scim-operator-'));
  dirs.push(dir);
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  }
  return dir;
}

/** What JSON.parse says of a text (the message is the engine's, so the expectation asks the same engine). */
function parseError(text: string): string {
  try {
    JSON.parse(text);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error(`${text} is JSON`);
}

/** The registry and sections a directory gives, as buildApp makes them. */
function load(dir: string): { registry: SchemaRegistry; sections: Sections } {
  const registry = SchemaRegistry.load({ operatorDir: dir });
  return { registry, sections: Sections.fromDirectory(registry) };
}

const NOT_JSON = '{"schemas": [';

const cases: { name: string; files: Files; file: string; pointer: string; rule: string | ((dir: string) => string) }[] = [
  // The directory and its files.
  {
    name: 'extensions.json missing',
    files: mutate((f) => delete f['extensions.json']),
    file: 'extensions.json',
    pointer: '',
    rule: 'is missing: it says which resource type each schema extends and which section holds each attribute',
  },
  { name: 'a schema file that is not JSON', files: mutate((f) => (f['hr.json'] = NOT_JSON)), file: 'hr.json', pointer: '', rule: `is not JSON: ${parseError(NOT_JSON)}` },
  {
    name: 'extensions.json not JSON',
    files: mutate((f) => (f['extensions.json'] = "{ extensions: [] }")),
    file: 'extensions.json',
    pointer: '',
    rule: `is not JSON: ${parseError('{ extensions: [] }')}`,
  },
  {
    name: 'a schema file that is not an object',
    files: mutate((f) => (f['hr.json'] = [hr(f)])),
    file: 'hr.json',
    pointer: '',
    rule: 'a schema file must be a JSON object, not an array',
  },
  {
    name: 'a schema file redefining a built-in URN (the enterprise extension)',
    files: mutate((f) => {
      (f['entra-custom.json'] as Json).id = SCHEMA_URNS.enterpriseUser;
      entry(f, 1).schema = SCHEMA_URNS.enterpriseUser;
    }),
    file: 'entra-custom.json',
    pointer: '/id',
    rule: `redefines the built-in schema '${SCHEMA_URNS.enterpriseUser}'`,
  },
  {
    name: 'a reference to a resource type this server does not have',
    files: mutate((f) => ((hr(f).attributes as Json[]).find((a) => a.name === 'costCenterOwner')!.referenceTypes = ['User', 'Device'])),
    file: 'hr.json',
    pointer: '/attributes/6/referenceTypes/1',
    rule: "'Device' is no resource type of this server (Group, User), nor 'external' or 'uri'",
  },
  {
    name: 'the same URN in two schema files',
    files: mutate((f) => (f['copy.json'] = hr(f))),
    file: 'hr.json',
    pointer: '/id',
    rule: (dir) => `schema '${HR}' is also defined by ${join(dir, 'copy.json')}`,
  },
  {
    name: 'a schema file not listed in extensions.json',
    files: mutate((f) => (f['other.json'] = { ...hr(f), id: 'urn:example:other:1.0:User' })),
    file: 'other.json',
    pointer: '/id',
    rule: "'urn:example:other:1.0:User' extends no resource type: list it in extensions.json",
  },

  // extensions.json: the document.
  { name: 'extensions.json not an object', files: mutate((f) => (f['extensions.json'] = [])), file: 'extensions.json', pointer: '', rule: 'must be an object with "extensions" (and optionally "sections")' },
  {
    name: 'unknown top-level member',
    files: mutate((f) => (ext(f).version = 2)),
    file: 'extensions.json',
    pointer: '/version',
    rule: "unknown member 'version' (expected description, extensions, sections)",
  },
  { name: 'description not a string', files: mutate((f) => (ext(f).description = ['x'])), file: 'extensions.json', pointer: '/description', rule: 'must be a string' },
  {
    name: 'extensions not a list',
    files: mutate((f) => (ext(f).extensions = { [HR]: entry(f, 0) })),
    file: 'extensions.json',
    pointer: '/extensions',
    rule: 'must be a list of {schema, resourceType, required, sections, indexed}',
  },

  // An extension.
  {
    name: 'an extension that is not an object',
    files: mutate((f) => ((ext(f).extensions as unknown[])[1] = ENTRA)),
    file: 'extensions.json',
    pointer: '/extensions/1',
    rule: 'must be an object {schema, resourceType, required, sections, indexed}',
  },
  {
    name: 'unknown member in an extension',
    files: mutate((f) => (entry(f, 0).indexes = ['hireDate'])),
    file: 'extensions.json',
    pointer: '/extensions/0/indexes',
    rule: "unknown member 'indexes' (expected schema, resourceType, required, sections, indexed)",
  },
  { name: 'schema missing', files: mutate((f) => delete entry(f, 0).schema), file: 'extensions.json', pointer: '/extensions/0/schema', rule: 'must be the URN of a schema in this directory' },
  {
    name: 'schema URN in no file',
    files: mutate((f) => (entry(f, 1).schema = 'urn:example:nowhere:1.0:User')),
    file: 'extensions.json',
    pointer: '/extensions/1/schema',
    rule: (dir) => `no schema file in ${dir} has the id 'urn:example:nowhere:1.0:User'`,
  },
  {
    name: 'a schema file extended twice (the URN in another case)',
    files: mutate((f) => (ext(f).extensions as Json[]).push({ schema: HR.toUpperCase(), resourceType: 'Group' })),
    file: 'extensions.json',
    pointer: '/extensions/2/schema',
    rule: `'${HR}' is already listed at /extensions/0; a schema extends one resource type`,
  },
  {
    name: 'resourceType unknown',
    files: mutate((f) => (entry(f, 0).resourceType = 'Device')),
    file: 'extensions.json',
    pointer: '/extensions/0/resourceType',
    rule: "must name a resource type: Group or User, not 'Device'",
  },
  { name: 'resourceType missing', files: mutate((f) => delete entry(f, 1).resourceType), file: 'extensions.json', pointer: '/extensions/1/resourceType', rule: 'must name a resource type: Group or User' },
  { name: 'required not boolean', files: mutate((f) => (entry(f, 0).required = 'no')), file: 'extensions.json', pointer: '/extensions/0/required', rule: 'must be true or false' },

  // An extension's sections.
  {
    name: 'sections not an object',
    files: mutate((f) => (entry(f, 1).sections = ['account'])),
    file: 'extensions.json',
    pointer: '/extensions/1/sections',
    rule: 'must map section names to lists of attribute names',
  },
  {
    name: 'sections on a Group extension',
    files: mutate((f) => (entry(f, 1).resourceType = 'Group')),
    file: 'extensions.json',
    pointer: '/extensions/1/sections',
    rule: 'Group has no profile sections; only User extensions list them',
  },
  {
    name: 'unknown section name',
    files: mutate((f) => (entry(f, 1).sections = { acount: ['CustomAttribute', 'licenseTier'] })),
    file: 'extensions.json',
    pointer: '/extensions/1/sections/acount',
    rule: `no section is named 'acount' (sections: ${BUILT_IN_SECTIONS}, employment); define it under "sections"`,
  },
  {
    name: 'a section that is not a list of names',
    files: mutate((f) => (sections(f, 1).account = 'CustomAttribute' as unknown as string[])),
    file: 'extensions.json',
    pointer: '/extensions/1/sections/account',
    rule: 'must be a list of attribute names',
  },
  {
    name: 'attribute listed that is not in the schema',
    files: mutate((f) => sections(f, 0).jobInfo!.push('salary')),
    file: 'extensions.json',
    pointer: '/extensions/0/sections/jobInfo/1',
    rule: `'salary' is not a top-level attribute of ${HR}`,
  },
  {
    name: 'sub-attribute listed in a section',
    files: mutate((f) => (sections(f, 0).employment![4] = 'workLocation.site')),
    file: 'extensions.json',
    pointer: '/extensions/0/sections/employment/4',
    rule: `'workLocation.site' is not a top-level attribute of ${HR}`,
  },
  {
    name: 'readOnly attribute listed in a section',
    files: mutate((f) => (hrAttribute(f, 'badgeNumber').mutability = 'readOnly')),
    file: 'extensions.json',
    pointer: '/extensions/0/sections/employment/3',
    rule: "'badgeNumber' is readOnly; only what a client can write belongs to a section",
  },
  {
    name: 'attribute in two sections (in another case)',
    files: mutate((f) => sections(f, 0).jobInfo!.push('HIREDATE')),
    file: 'extensions.json',
    pointer: '/extensions/0/sections/employment/0',
    rule: "'hireDate' is in both section jobInfo and section employment",
  },
  {
    name: 'attribute twice in one section',
    files: mutate((f) => sections(f, 1).account!.push('licenseTier')),
    file: 'extensions.json',
    pointer: '/extensions/1/sections/account/2',
    rule: "'licenseTier' is listed twice in section account",
  },
  {
    name: 'writable attribute in no section',
    files: mutate((f) => sections(f, 0).employment!.pop()),
    file: 'extensions.json',
    pointer: '/extensions/0/sections',
    rule: (dir) => `'costCenterOwner' (${join(dir, 'hr.json')} at /attributes/6) is writable but in no section; every writable attribute of User belongs to one`,
  },
  {
    name: 'a User extension without sections',
    files: mutate((f) => delete entry(f, 1).sections),
    file: 'extensions.json',
    pointer: '/extensions/1/sections',
    rule: (dir) => `'CustomAttribute' (${join(dir, 'entra-custom.json')} at /attributes/0) is writable but in no section; every writable attribute of User belongs to one`,
  },

  // Indexed paths.
  {
    name: 'indexed not a list',
    files: mutate((f) => (entry(f, 0).indexed = 'hireDate')),
    file: 'extensions.json',
    pointer: '/extensions/0/indexed',
    rule: 'must be a list of attribute paths, e.g. ["hireDate", "workLocation.site"]',
  },
  { name: 'indexed path not a string', files: mutate((f) => (entry(f, 0).indexed = [1])), file: 'extensions.json', pointer: '/extensions/0/indexed/0', rule: 'must be an attribute path' },
  {
    name: 'indexed path unknown',
    files: mutate((f) => (entry(f, 0).indexed as string[]).push('salary')),
    file: 'extensions.json',
    pointer: '/extensions/0/indexed/3',
    rule: `'salary' is not a top-level attribute of ${HR}`,
  },
  {
    name: 'indexed path with an unknown sub-attribute',
    files: mutate((f) => (entry(f, 0).indexed = ['workLocation.room'])),
    file: 'extensions.json',
    pointer: '/extensions/0/indexed/0',
    rule: "'workLocation' has no sub-attribute 'room'",
  },
  {
    name: 'indexed path with a sub-attribute of a simple attribute',
    files: mutate((f) => (entry(f, 0).indexed = ['hireDate.day'])),
    file: 'extensions.json',
    pointer: '/extensions/0/indexed/0',
    rule: "'hireDate' is dateTime, not complex: it has no sub-attribute 'day'",
  },
  {
    name: 'indexed complex attribute without a sub-attribute',
    files: mutate((f) => (entry(f, 0).indexed = ['hireDate', 'workLocation'])),
    file: 'extensions.json',
    pointer: '/extensions/0/indexed/1',
    rule: "'workLocation' is complex: index one of its sub-attributes, e.g. 'workLocation.site'",
  },
  {
    name: 'indexed attribute returned never',
    files: mutate((f) => (hrAttribute(f, 'jobCode').returned = 'never')),
    file: 'extensions.json',
    pointer: '/extensions/0/indexed/1',
    rule: "'jobCode' is never returned, so no filter or sort may name it; it cannot be indexed",
  },
  {
    name: 'indexed sub-attribute returned never',
    files: mutate((f) => {
      ((hrAttribute(f, 'workLocation').subAttributes as Json[])[0]!.returned = 'never');
    }),
    file: 'extensions.json',
    pointer: '/extensions/0/indexed/2',
    rule: "'workLocation.site' is never returned, so no filter or sort may name it; it cannot be indexed",
  },
  {
    name: 'indexed path listed twice (in another case)',
    files: mutate((f) => (entry(f, 0).indexed as string[]).push('worklocation.SITE')),
    file: 'extensions.json',
    pointer: '/extensions/0/indexed/3',
    rule: "'workLocation.site' is listed twice",
  },
  {
    name: 'indexed path with more than one dot',
    files: mutate((f) => (entry(f, 0).indexed = ['workLocation.site.name'])),
    file: 'extensions.json',
    pointer: '/extensions/0/indexed/0',
    rule: "'workLocation.site.name' has more than one dot: index an attribute ('hireDate') or a sub-attribute of a complex one ('workLocation.site')",
  },

  // The operator's sections.
  { name: 'sections not a list', files: mutate((f) => (ext(f).sections = { employment: {} })), file: 'extensions.json', pointer: '/sections', rule: 'must be a list of {name, description, writers, readers}' },
  { name: 'a section that is not an object', files: mutate((f) => (ext(f).sections = ['employment'])), file: 'extensions.json', pointer: '/sections/0', rule: 'must be an object {name, description, writers, readers}' },
  {
    name: 'unknown member in a section',
    files: mutate((f) => (defined(f)[0]!.attributes = ['hireDate'])),
    file: 'extensions.json',
    pointer: '/sections/0/attributes',
    rule: "unknown member 'attributes' (expected name, description, writers, readers)",
  },
  {
    name: 'a section redefining a built-in one',
    files: mutate((f) => defined(f).push({ name: 'jobInfo', writers: ['hr'] })),
    file: 'extensions.json',
    pointer: '/sections/1/name',
    rule: `section 'jobInfo' is built in; list attributes under it in an extension's "sections" instead of redefining it`,
  },
  {
    name: 'a section differing from a built-in one only in case',
    files: mutate((f) => defined(f).push({ name: 'JobInfo' })),
    file: 'extensions.json',
    pointer: '/sections/1/name',
    rule: "section 'JobInfo' differs from the built-in section 'jobInfo' only in case",
  },
  {
    name: 'a section with a bad name',
    files: mutate((f) => (defined(f)[0]!.name = 'employment-data')),
    file: 'extensions.json',
    pointer: '/sections/0/name',
    rule: 'must be a plain name (a letter, then letters and digits)',
  },
  {
    name: 'a section defined twice',
    files: mutate((f) => defined(f).push({ name: 'employment' })),
    file: 'extensions.json',
    pointer: '/sections/1/name',
    rule: "section 'employment' is defined twice (also at /sections/0)",
  },
  {
    name: 'two sections differing only in case',
    files: mutate((f) => defined(f).push({ name: 'Employment' })),
    file: 'extensions.json',
    pointer: '/sections/1/name',
    rule: "section 'Employment' differs from 'employment' (at /sections/0) only in case",
  },
  { name: 'section description not a string', files: mutate((f) => (defined(f)[0]!.description = 1)), file: 'extensions.json', pointer: '/sections/0/description', rule: 'must be a string' },
  { name: 'empty writers', files: mutate((f) => (defined(f)[0]!.writers = [])), file: 'extensions.json', pointer: '/sections/0/writers', rule: 'must be a non-empty list of role names' },
  { name: 'readers with a bad role name', files: mutate((f) => (defined(f)[0]!.readers = ['hr admin'])), file: 'extensions.json', pointer: '/sections/0/readers', rule: 'must be a non-empty list of role names' },
  {
    name: 'a section holding no attribute',
    files: mutate((f) => defined(f).push({ name: 'spare', writers: ['hr'] })),
    file: 'extensions.json',
    pointer: '/sections/1',
    rule: `section 'spare' holds no attribute; list attributes under it in an extension's "sections", or remove it`,
  },
];

t.test('broken directories stop the server, naming the file, the pointer and the rule', async (t) => {
  t.ok(cases.length >= 25);
  for (const c of cases) {
    const dir = write(c.files);
    const file = join(dir, c.file);
    const rule = typeof c.rule === 'string' ? c.rule : c.rule(dir);
    let err: unknown;
    try {
      load(dir);
    } catch (e) {
      err = e;
    }
    if (!(err instanceof SchemaFileError)) {
      t.fail(`${c.name}: expected a SchemaFileError, got ${err instanceof Error ? err.message : String(err)}`);
      continue;
    }
    t.equal(err.message, `${file} at ${c.pointer || '/'}: ${rule}`, c.name);
    t.same({ file: err.file, pointer: err.pointer, rule: err.rule }, { file, pointer: c.pointer, rule }, `${c.name}: the error's parts`);
  }
});

t.test('SCIM_SCHEMA_DIR that is not a directory', async (t) => {
  const file = join(write({}), 'x.json');
  writeFileSync(file, '{}');
  t.throws(() => load(file), new SchemaFileError(file, '', 'SCIM_SCHEMA_DIR must be a directory of schema files: not a directory'));
  const missing = join(write({}), 'nowhere');
  t.throws(() => load(missing), { name: 'SchemaFileError', file: missing, pointer: '', message: new RegExp(`^${missing} at /: SCIM_SCHEMA_DIR must be a directory of schema files: ENOENT`) });
});

t.test('the examples load: schemas, resource types, indexes and sections', async (t) => {
  const dir = write(examples());
  const { registry, sections } = load(dir);
  t.equal(registry.operator?.dir, dir);
  t.same(
    registry.resourceType('User')!.schemaExtensions,
    [
      { schema: SCHEMA_URNS.enterpriseUser, required: false },
      { schema: 'urn:scim-server:schemas:extension:profile:1.0:User', required: false },
      { schema: HR, required: false },
      { schema: ENTRA, required: false },
    ],
  );
  t.same(registry.resourceType('Group')!.schemaExtensions ?? [], [], 'Group untouched');
  t.ok(registry.schema(HR) && registry.schema(ENTRA.toLowerCase()), 'both schemas in the registry');
  t.same(registry.resourceSchema('User').indexed, [`${HR}:hireDate`, `${HR}:jobCode`, `${HR}:workLocation.site`, `${ENTRA}:CustomAttribute`]);
  t.same(registry.resourceSchema('Group').indexed, []);
  t.same(sections.names, [...BUILT_IN_SECTIONS.split(', '), 'employment']);
  const users = registry.resourceSchema('User');
  const table: [string, string | undefined][] = [
    [`${HR}:jobCode`, 'jobInfo'],
    [`${HR}:hireDate`, 'employment'],
    [`${HR}:workLocation.floor`, 'employment'],
    [`${ENTRA}:licenseTier`, 'account'],
    ['CustomAttribute', 'account'],
  ];
  for (const [path, expected] of table) t.equal(sections.sectionOf(users.resolve(path)!), expected, path);
  t.equal(sections.section('employment')!.description, (defined(examples())[0]!.description as string), 'the description is kept');
});

t.test('a Group extension (no sections) joins Group', async (t) => {
  const files = mutate((f) => {
    entry(f, 1).resourceType = 'group';
    entry(f, 1).required = true;
    delete entry(f, 1).sections;
  });
  const { registry, sections } = load(write(files));
  t.same(registry.resourceType('Group')!.schemaExtensions, [{ schema: ENTRA, required: true }]);
  t.notOk(registry.resourceType('User')!.schemaExtensions!.some((e) => e.schema === ENTRA), 'not on User');
  t.same(registry.resourceSchema('Group').indexed, [`${ENTRA}:CustomAttribute`]);
  t.same(registry.resourceSchema('User').indexed, [`${HR}:hireDate`, `${HR}:jobCode`, `${HR}:workLocation.site`]);
  t.ok(registry.resourceSchema('Group').resolve(`${ENTRA}:licenseTier`), 'its attributes resolve on Group');
  t.same(sections.names, [...BUILT_IN_SECTIONS.split(', '), 'employment']);
});

t.test('a section of the operator with writers and readers is honoured', async (t) => {
  const files = mutate((f) => {
    defined(f).push({ name: 'x', description: 'Licensing.', writers: ['licensing'], readers: ['licensing', 'helpdesk'] });
    sections(f, 1).x = ['licenseTier'];
    sections(f, 1).account = ['CustomAttribute'];
  });
  const { registry, sections: all } = load(write(files));
  t.same(all.section('x'), { name: 'x', description: 'Licensing.', writers: ['licensing'], readers: ['licensing', 'helpdesk'], attributes: [`${ENTRA}:licenseTier`] });
  t.same(all.section('x')!.writers, ['licensing']);
  t.equal(all.sectionOf(registry.resourceSchema('User').resolve(`${ENTRA}:licenseTier`)!), 'x');
  t.ok(all.restrictedAttributes.includes(`${ENTRA}:licenseTier`), 'readers make it restricted');
  t.same(all.names.slice(-2), ['employment', 'x']);
});

t.test('buildApp stops with the same message', async (t) => {
  const c = cases.find((x) => x.name === 'attribute in two sections (in another case)')!;
  const dir = write(c.files);
  const expected = `${join(dir, c.file)} at ${c.pointer}: ${c.rule as string}`;
  const { store, cleanup } = await makeStore('lmdb');
  t.teardown(cleanup);
  const config = loadConfig({ SCIM_JWT_SECRET: 'x'.repeat(40), SCIM_SCHEMA_DIR: dir });
  await t.rejects(buildApp({ config, store }), { name: 'SchemaFileError', message: expected });
});
