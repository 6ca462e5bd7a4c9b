import t from 'tap';
import { isScimError } from '../../src/scim/errors';
import { canonicalPath, parsePath } from '../../src/scim/path';
import { SchemaRegistry, SCHEMA_URNS } from '../../src/scim/schema';

const users = SchemaRegistry.fromDirectory().resourceSchema('User');
const ENT = SCHEMA_URNS.enterpriseUser;
const CORE = SCHEMA_URNS.user;

t.test('attribute paths resolve to canonical names in any case, with either URN prefix', async (t) => {
  const cases: { path: string; attribute: string; sub?: string; extension: boolean; canonical: string }[] = [
    { path: 'title', attribute: 'title', extension: false, canonical: 'title' },
    { path: 'TITLE', attribute: 'title', extension: false, canonical: 'title' },
    { path: 'name.givenName', attribute: 'name', sub: 'givenName', extension: false, canonical: 'name.givenName' },
    { path: 'Name.GivenName', attribute: 'name', sub: 'givenName', extension: false, canonical: 'name.givenName' },
    { path: `${CORE}:userName`, attribute: 'userName', extension: false, canonical: 'userName' },
    { path: `${CORE.toUpperCase()}:USERNAME`, attribute: 'userName', extension: false, canonical: 'userName' },
    { path: `${ENT}:department`, attribute: 'department', extension: true, canonical: `${ENT}:department` },
    { path: `${ENT}:manager`, attribute: 'manager', extension: true, canonical: `${ENT}:manager` },
    { path: `${ENT}:manager.value`, attribute: 'manager', sub: 'value', extension: true, canonical: `${ENT}:manager.value` },
    { path: `${ENT}:manager.$ref`, attribute: 'manager', sub: '$ref', extension: true, canonical: `${ENT}:manager.$ref` },
    { path: 'emails.value', attribute: 'emails', sub: 'value', extension: false, canonical: 'emails.value' },
    { path: '  active  ', attribute: 'active', extension: false, canonical: 'active' },
    { path: 'meta.created', attribute: 'meta', sub: 'created', extension: false, canonical: 'meta.created' },
  ];
  for (const c of cases) {
    const p = parsePath(users, c.path);
    t.equal(p.kind, 'attrPath', c.path);
    if (p.kind !== 'attrPath') continue;
    t.equal(p.target.attribute.name, c.attribute, c.path);
    t.equal(p.target.sub?.name, c.sub, c.path);
    t.equal(p.target.extension, c.extension, c.path);
    t.equal(canonicalPath(p), c.canonical, c.path);
  }
});

t.test('a bare schema URN is a schema path', async (t) => {
  const ext = parsePath(users, ENT.toLowerCase());
  t.match(ext, { kind: 'schema', schema: ENT, extension: true });
  t.match(parsePath(users, CORE), { kind: 'schema', schema: CORE, extension: false });
});

t.test('value paths carry the parsed filter and the sub-attribute', async (t) => {
  const p = parsePath(users, 'emails[type eq "work"].value');
  t.equal(p.kind, 'valuePath');
  if (p.kind !== 'valuePath') return;
  t.equal(p.target.attribute.name, 'emails');
  t.equal(p.sub?.name, 'value');
  t.equal(p.filterText, 'type eq "work"');
  t.match(p.filter, { op: 'eq', value: 'work' });

  const q = parsePath(users, 'ADDRESSES[type eq "work" and primary eq true].Locality');
  t.equal(q.kind, 'valuePath');
  if (q.kind !== 'valuePath') return;
  t.equal(q.target.attribute.name, 'addresses');
  t.equal(q.sub?.name, 'locality');
  t.equal(q.filter.op, 'and');
  t.equal(canonicalPath(q), 'addresses[type eq "work" and primary eq true].locality');

  const r = parsePath(users, 'emails[value eq "a]b@example.com"]');
  t.equal(r.kind, 'valuePath', 'a ] inside a quoted filter value does not end the filter');
  if (r.kind === 'valuePath') t.equal(r.filterText, 'value eq "a]b@example.com"');

  const s = parsePath(users, `${CORE}:emails[type eq "work"]`);
  t.equal(s.kind, 'valuePath', 'URN-qualified value path');
});

t.test('errors name the path', async (t) => {
  const cases: { path: string; scimType: string; detail: RegExp }[] = [
    { path: 'nope', scimType: 'invalidPath', detail: /path 'nope': no attribute 'nope'/ },
    { path: 'name.nope', scimType: 'invalidPath', detail: /path 'name\.nope': attribute 'name' has no sub-attribute 'nope'/ },
    { path: 'title.value', scimType: 'invalidPath', detail: /attribute 'title' has no sub-attribute 'value'/ },
    { path: `${ENT}:userName`, scimType: 'invalidPath', detail: /no attribute 'userName' in urn:ietf:params:scim:schemas:extension:enterprise:2\.0:User/ },
    { path: 'urn:example:unknown:1.0:foo', scimType: 'invalidPath', detail: /unknown schema/ },
    { path: '', scimType: 'invalidPath', detail: /empty/ },
    { path: '   ', scimType: 'invalidPath', detail: /empty/ },
    { path: 'name..givenName', scimType: 'invalidPath', detail: /malformed/ },
    { path: 'name.givenName.x', scimType: 'invalidPath', detail: /malformed/ },
    { path: '1title', scimType: 'invalidPath', detail: /malformed/ },
    { path: 'emails[type eq "work"', scimType: 'invalidPath', detail: /unclosed/ },
    { path: 'emails[type eq "work"]value', scimType: 'invalidPath', detail: /malformed after '\]'/ },
    { path: 'emails[type eq "work"].value.x', scimType: 'invalidPath', detail: /malformed after '\]'/ },
    { path: 'emails[type eq "work"].nope', scimType: 'invalidPath', detail: /'emails' has no sub-attribute 'nope'/ },
    { path: 'title[value eq "x"]', scimType: 'invalidFilter', detail: /'title' is not multi-valued/ },
    { path: 'name[givenName eq "x"]', scimType: 'invalidFilter', detail: /'name' is not multi-valued/ },
    { path: `${ENT}:manager[value eq "x"]`, scimType: 'invalidFilter', detail: /'manager' is not multi-valued/ },
    { path: 'emails.value[type eq "x"]', scimType: 'invalidFilter', detail: /'emails\.value' is not multi-valued/ },
    { path: 'emails[]', scimType: 'invalidFilter', detail: /empty value filter/ },
    { path: 'emails[type eq]', scimType: 'invalidFilter', detail: /path 'emails\[type eq\]'/ },
    { path: 'emails[nope eq "x"]', scimType: 'invalidFilter', detail: /path 'emails\[nope eq "x"\]'/ },
  ];
  for (const c of cases) {
    try {
      parsePath(users, c.path);
      t.fail(`${c.path}: expected ${c.scimType}`);
    } catch (e) {
      t.ok(isScimError(e), c.path);
      if (!isScimError(e)) continue;
      t.equal(e.scimType, c.scimType, c.path);
      t.match(e.detail, c.detail, c.path);
    }
  }
});
