/**
 * The profile's sections (schemas/sections.json, src/scim/sections.ts): checked against the schemas at boot, every
 * writable attribute in exactly one, and what a write changes grouped by section.
 */
import t from 'tap';
import { SchemaRegistry, SCHEMA_URNS } from '../../src/scim/schema';
import { Sections, type SectionDefinition } from '../../src/scim/sections';
import type { JsonObject } from '../../src/scim/values';

const registry = SchemaRegistry.fromDirectory();
const users = registry.resourceSchema('User');
const sections = Sections.fromDirectory(registry);
const EXT = SCHEMA_URNS.enterpriseUser;

const PROFILE = 'urn:scim-server:schemas:extension:profile:1.0:User';

t.test('the shipped file: seven sections, as the directory profile has them', async (t) => {
  t.same(sections.names, ['photo', 'identity', 'jobInfo', 'settings', 'preferences', 'contact', 'authContact', 'account']);
  t.same(sections.section('authContact'), { ...sections.section('authContact'), writers: ['globalAdmin'], readers: ['globalAdmin', 'userAdmin'] });
  t.same(sections.restrictedAttributes, [`${PROFILE}:authentication`]);
  const table: [string, string | undefined][] = [
    ['photos', 'photo'],
    ['userName', 'identity'],
    ['name.givenName', 'identity'],
    ['displayName', 'identity'],
    ['title', 'jobInfo'],
    [`${EXT}:department`, 'jobInfo'],
    [`${EXT}:manager.value`, 'jobInfo'],
    ['department', 'jobInfo'],
    ['active', 'settings'],
    [`${PROFILE}:usageLocation`, 'settings'],
    ['preferredLanguage', 'preferences'],
    ['timezone', 'preferences'],
    [`${PROFILE}:authentication.phoneNumber`, 'authContact'],
    [`${PROFILE}:sources`, undefined],
    ['emails', 'contact'],
    ['phoneNumbers', 'contact'],
    ['externalId', 'account'],
    ['password', 'account'],
    ['id', undefined],
    ['meta', undefined],
    ['groups', undefined],
  ];
  for (const [path, expected] of table) t.equal(sections.sectionOf(users.resolve(path)!), expected, path);
});

t.test('what a write changes, by section', async (t) => {
  const before: JsonObject = { userName: 'a', title: 'Engineer', emails: [{ value: 'a@x', type: 'work' }], [EXT]: { department: 'R&D' }, meta: { version: 'W/"1"' } };
  const cases: { name: string; after: JsonObject; expected: Record<string, string[]> }[] = [
    { name: 'nothing', after: { ...before, meta: { version: 'W/"2"' } }, expected: {} },
    { name: 'job info', after: { ...before, title: 'Lead', [EXT]: { department: 'Sales' } }, expected: { jobInfo: ['title', `${EXT}:department`] } },
    { name: 'an attribute removed', after: { userName: 'a', emails: before.emails, [EXT]: before[EXT] }, expected: { jobInfo: ['title'] } },
    { name: 'contact and identity', after: { ...before, userName: 'b', emails: [] }, expected: { identity: ['userName'], contact: ['emails'] } },
  ];
  for (const c of cases) t.same(Object.fromEntries(sections.changes(before, c.after)), c.expected, c.name);
  t.same(Object.fromEntries(sections.changes(undefined, { userName: 'n', active: true })), { identity: ['userName'], settings: ['active'] }, 'a create changes what it sets');
});

t.test('refused at boot: unknown, readOnly, twice, or a writable attribute left out', async (t) => {
  const all = (except: string[] = []): SectionDefinition[] => [
    {
      name: 'everything',
      attributes: [...users.allAttributes()]
        .filter((r) => r.attribute.mutability !== 'readOnly')
        .map((r) => (r.extension ? `${r.schema}:${r.attribute.name}` : r.attribute.name))
        .filter((a) => !except.includes(a)),
    },
  ];
  t.doesNotThrow(() => new Sections(users, all()));
  const refused: [string, SectionDefinition[], RegExp][] = [
    ['unknown attribute', [...all(), { name: 'x', attributes: ['shoeSize'] }], /section x: "shoeSize" is not a top-level attribute of User/],
    ['sub-attribute', [...all(['name']), { name: 'x', attributes: ['name.givenName'] }], /"name.givenName" is not a top-level attribute/],
    ['readOnly', [...all(), { name: 'x', attributes: ['groups'] }], /'groups' is readOnly/],
    ['twice', [...all(), { name: 'x', attributes: ['title'] }], /'title' is in both section everything and section x/],
    ['left out', all(['title']), /'title' of User is writable but in no section/],
    ['bad name', [...all(), { name: 'job info', attributes: [] }], /section name "job info" is not a plain name/],
  ];
  for (const [label, defs, message] of refused) t.throws(() => new Sections(users, defs), { message }, label);
});
