import t from 'tap';
import { parseFilter, parseValueFilter } from '../../../src/scim/filter/parse';
import { evaluateFilter, evaluateOnElement } from '../../../src/scim/filter/evaluate';
import { compareStrings } from '../../../src/scim/collation';
import { isScimError } from '../../../src/scim/errors';
import type { JsonObject } from '../../../src/scim/values';
import { cases, letterCases, userSchema, users } from '../../fixtures/filters/users';

function select(filter: string): string[] {
  const parsed = parseFilter(userSchema, filter);
  return users.filter((u) => evaluateFilter(parsed, u)).map((u) => String(u.id));
}

t.test('every table case selects the expected users, in every letter case', async (t) => {
  let n = 0;
  for (const c of cases) {
    for (const variant of c.caseSensitive ? [c.filter] : letterCases(c.filter)) {
      t.same(select(variant), c.ids, variant);
      n++;
    }
  }
  t.ok(n > cases.length * 2, `${n} filters`);
});

t.test('evaluateOnElement: value filters on one element, paths relative to it', async (t) => {
  const emails = userSchema.resolve('emails')!;
  const f = parseValueFilter(userSchema, emails, 'type eq "work" and value co "@EXAMPLE.com"');
  t.equal(evaluateOnElement(f, { value: 'a@example.com', type: 'Work' }), true);
  t.equal(evaluateOnElement(f, { value: 'a@example.com', type: 'home' }), false);
  t.equal(evaluateOnElement(f, { value: 'a@example.org', type: 'work' }), false);
  t.equal(evaluateOnElement(f, {}), false);
  const notWork = parseValueFilter(userSchema, emails, 'not (type eq "work")');
  t.equal(evaluateOnElement(notWork, {}), true);
  t.equal(evaluateOnElement(parseValueFilter(userSchema, emails, 'primary eq true'), { primary: true }), true);
  t.equal(evaluateOnElement(parseValueFilter(userSchema, emails, 'TYPE pr'), { type: '' }), false);
  t.equal(evaluateOnElement(parseValueFilter(userSchema, emails, 'type eq null'), { value: 'x' }), true);
  t.equal(evaluateOnElement(parseValueFilter(userSchema, emails, 'value ew ".COM"'), { value: 'x@y.com' }), true);
  // members of a group use the same machinery: the parent is whatever multi-valued complex attribute is given
  const members = userSchema.resolve('groups')!;
  t.equal(evaluateOnElement(parseValueFilter(userSchema, members, 'value eq "g1"'), { value: 'G1' }), true);
});

t.test('parseValueFilter refuses parents that take no value filter', async (t) => {
  for (const path of ['name', 'userName', 'emails.value', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager']) {
    try {
      parseValueFilter(userSchema, userSchema.resolve(path)!, 'value eq "x"');
      t.fail(path);
    } catch (e) {
      t.ok(isScimError(e) && e.scimType === 'invalidFilter', path);
    }
  }
});

t.test('multi-valued attributes match when any value matches; ne only when none equals', async (t) => {
  const r: JsonObject = {
    id: 'x',
    userName: 'x',
    emails: [{ value: 'a@x.com', type: 'work' }, { value: 'b@y.com' }, null, { type: null }],
  };
  const ev = (f: string) => evaluateFilter(parseFilter(userSchema, f), r);
  t.equal(ev('emails.value eq "b@y.com"'), true);
  t.equal(ev('emails.type eq "work"'), true);
  t.equal(ev('emails.type ne "work"'), false, 'one value equals, so ne is false');
  t.equal(ev('emails.type ne "home"'), true);
  t.equal(ev('emails.type pr'), true);
  t.equal(ev('emails[type eq null]'), true, 'an element without type');
  t.equal(ev('emails[type eq "work" and value eq "b@y.com"]'), false, 'not on the same element');
  t.equal(ev('emails.type eq "work" and emails.value eq "b@y.com"'), true, 'uncorrelated');
  t.equal(ev('title ne "x"'), true, 'absent attributes match ne');
  t.equal(ev('title eq null'), true);
  t.equal(ev('emails gt "a"'), true, 'a complex attribute is compared through its value');
});

t.test('values of another type never match (as in MongoDB type bracketing)', async (t) => {
  const r: JsonObject = { id: 'x', userName: 'x', active: 'true' as unknown as boolean, title: 5 as unknown as string };
  const ev = (f: string) => evaluateFilter(parseFilter(userSchema, f), r);
  t.equal(ev('active eq true'), false);
  t.equal(ev('active pr'), false);
  t.equal(ev('title pr'), false);
  t.equal(ev('title co "5"'), false);
  t.equal(ev('title gt "0"'), false);
});

t.test('extension attributes live under the URN key; a missing extension object means absent', async (t) => {
  const r: JsonObject = { id: 'x', userName: 'x' };
  t.equal(evaluateFilter(parseFilter(userSchema, 'department pr'), r), false);
  t.equal(evaluateFilter(parseFilter(userSchema, 'department ne "x"'), r), true);
  t.equal(evaluateFilter(parseFilter(userSchema, 'manager eq null'), r), true);
});

t.test('strings order by code point, as MongoDB does', async (t) => {
  t.ok(compareStrings('\uFFFD', '\u{1F600}') < 0, 'BMP before astral, unlike UTF-16 order');
  t.ok('\uFFFD' > '\u{1F600}', 'JS < would say otherwise');
  t.ok(compareStrings('a', 'b') < 0);
  t.ok(compareStrings('ab', 'a') > 0);
  t.equal(compareStrings('é', 'é'), 0);
  const r: JsonObject = { id: 'x', userName: '\u{1F600}' };
  t.equal(evaluateFilter(parseFilter(userSchema, 'userName gt "\uFFFD"'), r), true);
});

t.test('long or-chains evaluate without exhausting the stack', async (t) => {
  const filter = Array.from({ length: 300 }, (_, i) => `userName eq "u${i}"`).join(' or ');
  t.ok(filter.length < 8192);
  const f = parseFilter(userSchema, filter, { filterLength: 8192, filterNodes: 1000 });
  t.equal(evaluateFilter(f, { id: 'x', userName: 'U299' }), true);
  t.equal(evaluateFilter(f, { id: 'x', userName: 'u300' }), false);
});
