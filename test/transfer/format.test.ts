/**
 * The export file's pure parts (src/transfer/format.ts, check.ts): lines parsed or refused with the line's number
 * and what is wrong; checksums that do not depend on the order of items or of an object's keys; resources the
 * current schema refuses, each with the reason an operator reads.
 */
import t from 'tap';
import { canonicalJson, Checksum, Checksums, parseLine } from '../../src/transfer/format';
import { refusal } from '../../src/transfer/check';
import { SchemaRegistry } from '../../src/scim/schema';
import type { ResourceLine } from '../../src/transfer/format';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

t.test('lines the format refuses name the line and the fault', async (t) => {
  const cases: { text: string; error: RegExp }[] = [
    { text: '', error: /^line 7: not JSON .*: an empty line$/ },
    { text: '{"type":"resource"', error: /^line 7: not JSON/ },
    { text: '[1,2]', error: /^line 7: not a JSON object$/ },
    { text: '{"type":"header","format":"other","formatVersion":1}', error: /^line 7: not a scim-server-export file \(format "other"\)$/ },
    { text: '{"type":"header","format":"scim-server-export","formatVersion":2,"id":"x","at":"y","counts":{}}', error: /^line 7: format version 2, this server reads 1$/ },
    { text: '{"type":"resource","resourceType":"User","id":"a","version":0,"resource":{}}', error: /^line 7: version 0 is not a positive integer$/ },
    { text: '{"type":"resource","resourceType":"User","id":"","version":1,"resource":{}}', error: /^line 7: a resource needs resourceType and id$/ },
    { text: '{"type":"resource","resourceType":"User","id":"a","version":1,"resource":[]}', error: /^line 7: resource is not an object$/ },
    { text: '{"type":"members","group":"g","members":[{"value":"a"}]}', error: /^line 7: a member needs value and type$/ },
    { text: '{"type":"audit","entry":{"id":"e"}}', error: /^line 7: an audit line needs an entry with id, at, resourceId and changes$/ },
    { text: '{"type":"trailer","counts":{},"checksums":{},"lines":-1}', error: /^line 7: a trailer needs counts, checksums and lines$/ },
    { text: '{"type":"mystery"}', error: /^line 7: unknown line type "mystery"$/ },
  ];
  for (const c of cases) t.throws(() => parseLine(c.text, 7), { message: c.error }, c.text || '(empty)');
});

t.test('checksums: the same whatever the order of items and keys', async (t) => {
  t.equal(canonicalJson({ b: 1, a: [{ d: 1, c: 2 }], z: undefined }), '{"a":[{"c":2,"d":1}],"b":1}');
  const items = [{ id: 'a', v: 1 }, { v: 2, id: 'b' }, { id: 'c', v: 3 }];
  const forward = new Checksum();
  const backward = new Checksum();
  for (const i of items) forward.add(i);
  for (const i of [...items].reverse()) backward.add({ ...i });
  t.equal(forward.hex(), backward.hex());
  t.equal(forward.count, 3);
  backward.remove(items[1]);
  const two = new Checksum();
  two.add(items[0]);
  two.add(items[2]);
  t.equal(backward.hex(), two.hex(), 'an item taken out');
  t.not(two.hex(), forward.hex());
  const sums = new Checksums();
  sums.of('User').add(items[0]);
  t.same(sums.counts(), { User: 1 });
  t.match(sums.hexes(), { User: /^[0-9a-f]{32}$/ });
});

t.test('resources the current schema refuses', async (t) => {
  const users = SchemaRegistry.load({}).resourceSchema('User');
  const base = (): ResourceLine => ({
    type: 'resource',
    resourceType: 'User',
    id: 'u1',
    version: 3,
    resource: { schemas: [USER, ENTERPRISE], id: 'u1', userName: 'ann', [ENTERPRISE]: { department: 'Sales' }, meta: { resourceType: 'User', version: 'W/"3"' } },
  });
  const cases: { name: string; edit: (l: ResourceLine) => void; reason: RegExp | undefined }[] = [
    { name: 'as exported', edit: () => undefined, reason: undefined },
    { name: 'another id inside', edit: (l) => (l.resource.id = 'u2'), reason: /^resource\.id "u2" is not the line's id "u1"$/ },
    { name: 'no meta', edit: (l) => delete l.resource.meta, reason: /^resource\.meta is missing$/ },
    { name: 'meta.version not the version', edit: (l) => (l.version = 4), reason: /^meta\.version "W\/\\"3\\"" is not version 4$/ },
    { name: 'another type', edit: (l) => ((l.resource.meta as Record<string, unknown>).resourceType = 'Group'), reason: /^meta\.resourceType "Group" is not User$/ },
    { name: 'no core schema', edit: (l) => (l.resource.schemas = [ENTERPRISE]), reason: /^schemas does not name urn:ietf:params:scim:schemas:core:2\.0:User$/ },
    { name: 'an attribute of the wrong type', edit: (l) => (l.resource.active = 'yes'), reason: /active/ },
    { name: 'single-valued given a list', edit: (l) => (l.resource.title = ['a']), reason: /^attribute 'title' is single-valued in the schema$/ },
    { name: 'an attribute no schema defines', edit: (l) => (l.resource.shoeSize = 42), reason: /^attribute 'shoeSize' is not defined by the schema$/ },
    { name: 'an unknown extension attribute', edit: (l) => ((l.resource[ENTERPRISE] as Record<string, unknown>).badge = 1), reason: new RegExp(`^attribute '${ENTERPRISE}:badge' is not defined by the schema$`) },
    { name: 'an extension this server lacks', edit: (l) => (l.resource['urn:x:ext'] = {}), reason: /^schema extension 'urn:x:ext' is not one of User's$/ },
    { name: 'a required attribute missing', edit: (l) => delete l.resource.userName, reason: /required attribute missing: userName/ },
  ];
  for (const c of cases) {
    const line = base();
    c.edit(line);
    const why = refusal(users, line);
    if (c.reason) t.match(why, c.reason, c.name);
    else t.equal(why, undefined, c.name);
  }
});
