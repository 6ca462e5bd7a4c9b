/**
 * A view (src/scim/view.ts) must be, for any base URL, exactly what rendering and projecting the resource gives
 * (RFC 7644 §3.9 default attribute set): a view is a cache of that, never a second opinion.
 */
import t from 'tap';
import { project } from '../../src/scim/projection';
import { render } from '../../src/scim/render';
import { registryFingerprint, Views } from '../../src/scim/view';
import type { ScimResource } from '../../src/scim/resource';
import { SchemaRegistry, SCHEMA_URNS } from '../../src/scim/schema';

const registry = SchemaRegistry.fromDirectory();
const users = registry.resourceSchema('User');
const endpoints = (id: string) => registry.resourceType(id)?.endpoint;
const views = new Views(users, endpoints, registryFingerprint(registry));
const EXT = SCHEMA_URNS.enterpriseUser;
const meta = { resourceType: 'User', created: '2026-01-01T00:00:00.000Z', lastModified: '2026-01-02T00:00:00.000Z', version: 'W/"3"' };
const resource = (extra: Record<string, unknown>): ScimResource =>
  ({ schemas: [SCHEMA_URNS.user, EXT], id: 'u1', userName: 'ann', ...extra, meta }) as unknown as ScimResource;

const rows: { name: string; resource: ScimResource; baseUrl: string }[] = [
  { name: 'core attributes only', resource: resource({ displayName: 'Ann', emails: [{ value: 'ann@example.com', type: 'work', primary: true }] }), baseUrl: 'https://idp.example.com/scim/v2' },
  { name: 'manager: $ref rendered from value', resource: resource({ [EXT]: { department: 'Sales', manager: { value: 'm1', displayName: 'Max' } } }), baseUrl: 'http://localhost:80/scim/v2' },
  { name: 'a base URL that needs JSON escaping (from a Host header)', resource: resource({ [EXT]: { manager: { value: 'm1' } } }), baseUrl: 'http://a"b\\c\u2028/scim/v2' },
  { name: 'unicode values and a NUL that is not the placeholder', resource: resource({ displayName: 'Zoë \u0000 😀', title: '\\u0000' }), baseUrl: 'http://h/scim/v2' },
];

for (const row of rows) {
  t.test(`the view equals the rendered default representation: ${row.name}`, async (t) => {
    const stored = views.make(row.resource);
    t.type(stored, 'string');
    const sent = views.body(stored!, row.baseUrl);
    const expected = project(users, render(users, row.resource, row.baseUrl, endpoints), {});
    t.same(JSON.parse(sent!), expected);
    t.equal(sent, JSON.stringify(expected), 'byte for byte');
  });
}

t.test('a resource whose own values hold the placeholder gets no view', async (t) => {
  t.equal(views.make(resource({ displayName: '\u0000scim-base-url' })), undefined);
  t.equal(views.make(resource({ title: 'x\\\u0000scim-base-url' })), undefined);
});

t.test('a text made with other schemas is not used', async (t) => {
  const stored = views.make(resource({ displayName: 'Ann' }))!;
  const other = new Views(users, endpoints, 'another-fingerprint');
  t.equal(other.body(stored, 'http://h/scim/v2'), undefined);
  t.type(views.body(stored, 'http://h/scim/v2'), 'string');
  t.equal(registryFingerprint(registry), registryFingerprint(SchemaRegistry.fromDirectory()), 'stable across processes');
});

t.test('the built-in schemas keep the fingerprint stored views were made with', async (t) => {
  // Every view stored carries this fingerprint; a change of any schema or resource type definition (a description
  // included) makes the server ignore every view stored before it, so each GET renders until its resource is
  // written again: a directory's reads slow down after an upgrade. Change the definitions, and this value, knowingly.
  t.equal(registryFingerprint(registry), 'BAvOzn_cAfaP');
});
