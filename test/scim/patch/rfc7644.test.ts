/**
 * The PATCH examples of RFC 7644 §3.5.2 (test/fixtures/rfc7644/3.5.2*.json, named by section). Group examples on
 * `members` are adapted to the User's `roles`; each fixture says so in `adaptedFrom`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { isScimError } from '../../../src/scim/errors';
import { applyPatch } from '../../../src/scim/patch';
import type { ScimResource } from '../../../src/scim/resource';
import { SchemaRegistry } from '../../../src/scim/schema';

interface Fixture {
  section: string;
  description: string;
  adaptedFrom?: string;
  source: ScimResource;
  request: unknown;
  expected?: ScimResource;
  changed?: boolean;
  error?: { scimType: string; detail: string };
}

const users = SchemaRegistry.fromDirectory().resourceSchema('User');
const dir = join(__dirname, '..', '..', 'fixtures', 'rfc7644');
const files = readdirSync(dir).filter((f) => /^3\.5\.2.*\.json$/.test(f)).sort();

t.ok(files.length >= 20, 'the fixtures are there');
for (const file of files) {
  const fx = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Fixture;
  t.test(`${file}: ${fx.description}`, async (t) => {
    t.ok(file.startsWith(`${fx.section}-`), 'named by its section');
    const snapshot = structuredClone(fx.source);
    if (fx.error) {
      t.throws(() => applyPatch(users, fx.source, fx.request));
      try {
        applyPatch(users, fx.source, fx.request);
      } catch (e) {
        t.ok(isScimError(e));
        if (isScimError(e)) {
          t.equal(e.scimType, fx.error.scimType);
          t.match(e.detail, new RegExp(fx.error.detail));
        }
      }
    } else {
      const result = applyPatch(users, fx.source, fx.request);
      t.strictSame(result.resource, fx.expected);
      t.equal(result.changed, fx.changed ?? true);
    }
    t.strictSame(fx.source, snapshot, 'source unchanged');
  });
}
