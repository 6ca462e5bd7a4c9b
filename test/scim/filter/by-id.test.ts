/** `id eq "…"` becomes a primary-key lookup (src/scim/filter/by-id.ts); nothing else changes. */
import t from 'tap';
import { SchemaRegistry } from '../../../src/scim/schema';
import { parseFilter } from '../../../src/scim/filter/parse';
import { idEqualitiesByKey } from '../../../src/scim/filter/by-id';
import { evaluateFilter } from '../../../src/scim/filter/evaluate';

const users = SchemaRegistry.fromDirectory().resourceSchema('User');

const cases: { source: string; keyed: boolean }[] = [
  { source: 'id eq "a"', keyed: true },
  { source: 'id eq "a" and userName eq "x"', keyed: true },
  { source: 'not (id eq "a")', keyed: true },
  { source: 'id ne "a"', keyed: false },
  { source: 'id sw "a"', keyed: false },
  { source: 'userName eq "a"', keyed: false },
];

for (const { source, keyed } of cases) {
  t.test(source, async (t) => {
    const parsed = parseFilter(users, source);
    const rewritten = idEqualitiesByKey(parsed);
    t.equal(JSON.stringify(rewritten, (_k, v: unknown) => (v instanceof Set ? [...v] : v)).includes('"idIn"'), keyed);
    for (const resource of [{ id: 'a', userName: 'x' }, { id: 'A', userName: 'x' }, { id: 'b', userName: 'a' }]) {
      t.equal(evaluateFilter(rewritten, resource), evaluateFilter(parsed, resource), `same meaning on ${JSON.stringify(resource)}`);
    }
  });
}
