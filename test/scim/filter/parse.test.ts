import { isDeepStrictEqual } from 'node:util';
import t from 'tap';
import fc from 'fast-check';
import { FilterLimits, MAX_FILTER_DEPTH, MAX_FILTER_LENGTH, parseFilter, parseValueFilter } from '../../../src/scim/filter/parse';
import { DEFAULT_LIMITS } from '../../../src/scim/limits';
import { evaluateFilter } from '../../../src/scim/filter/evaluate';
import type { Filter } from '../../../src/scim/filter/ast';
import { compileFilter } from '../../../src/store/mongo/filter';
import { isScimError, ScimError } from '../../../src/scim/errors';
import { SCHEMA_URNS } from '../../../src/scim/schema';
import { cases, errorCases, userSchema, users } from '../../fixtures/filters/users';

const ENT = SCHEMA_URNS.enterpriseUser;

/** A compact rendering of the tree: paths as canonical names, so shapes can be compared with t.same. */
function show(f: Filter): unknown {
  const name = (p: { resolved: { attribute: { name: string }; sub?: { name: string }; extension: boolean } }) =>
    (p.resolved.extension ? 'ext:' : '') + p.resolved.attribute.name + (p.resolved.sub ? '.' + p.resolved.sub.name : '');
  switch (f.op) {
    case 'and':
    case 'or':
      return [f.op, show(f.left), show(f.right)];
    case 'not':
      return ['not', show(f.filter)];
    case 'valuePath':
      return [name(f.path), '[]', show(f.filter)];
    case 'pr':
      return [name(f.path), 'pr'];
    case 'idIn':
      return [name(f.path), 'in', [...f.ids]];
    default:
      return [name(f.path), f.op, f.value];
  }
}

function refusal(text: string, limits?: FilterLimits): ScimError {
  try {
    parseFilter(userSchema, text, limits);
  } catch (e) {
    if (isScimError(e)) return e;
    throw e;
  }
  throw new Error(`accepted: ${text}`);
}

t.test('precedence: not > and > or; and/or are left-associative', async (t) => {
  t.same(show(parseFilter(userSchema, 'title pr or userName eq "a" and active eq true')), [
    'or',
    ['title', 'pr'],
    ['and', ['userName', 'eq', 'a'], ['active', 'eq', true]],
  ]);
  t.same(show(parseFilter(userSchema, 'title pr and userName pr or active pr and nickName pr')), [
    'or',
    ['and', ['title', 'pr'], ['userName', 'pr']],
    ['and', ['active', 'pr'], ['nickName', 'pr']],
  ]);
  t.same(show(parseFilter(userSchema, 'title pr or userName pr or active pr')), [
    'or',
    ['or', ['title', 'pr'], ['userName', 'pr']],
    ['active', 'pr'],
  ]);
  t.same(show(parseFilter(userSchema, 'not (title pr) and userName pr')), ['and', ['not', ['title', 'pr']], ['userName', 'pr']]);
  t.same(show(parseFilter(userSchema, '(title pr or userName pr) and active pr')), [
    'and',
    ['or', ['title', 'pr'], ['userName', 'pr']],
    ['active', 'pr'],
  ]);
  t.same(show(parseFilter(userSchema, 'NOT(title pr)')), ['not', ['title', 'pr']]);
  t.same(show(parseFilter(userSchema, 'title pr AND userName pr OR active pr')), [
    'or',
    ['and', ['title', 'pr'], ['userName', 'pr']],
    ['active', 'pr'],
  ]);
});

t.test('paths resolve case-insensitively, with or without URN, to schema spelling', async (t) => {
  t.same(show(parseFilter(userSchema, 'USERNAME EQ "X"')), ['userName', 'eq', 'X']);
  t.same(show(parseFilter(userSchema, 'Name.GivenName Sw "a"')), ['name.givenName', 'sw', 'a']);
  t.same(show(parseFilter(userSchema, `${SCHEMA_URNS.user}:userName eq "x"`)), ['userName', 'eq', 'x']);
  t.same(show(parseFilter(userSchema, `${ENT}:manager.value eq "x"`)), ['ext:manager.value', 'eq', 'x']);
  t.same(show(parseFilter(userSchema, `${ENT.toLowerCase()}:Department eq "x"`)), ['ext:department', 'eq', 'x']);
  t.same(show(parseFilter(userSchema, 'manager eq "x"')), ['ext:manager.value', 'eq', 'x'], 'Entra: no URN');
  t.same(show(parseFilter(userSchema, 'meta.lastModified gt "2024-01-01T00:00:00Z"')), [
    'meta.lastModified',
    'gt',
    '2024-01-01T00:00:00Z',
  ]);
  const f = parseFilter(userSchema, 'Emails co "@x"');
  t.same(show(f), ['emails.value', 'co', '@x'], 'a complex attribute compares through value');
  t.equal(f.op === 'co' && f.path.text, 'Emails', 'the text is kept as written');
  t.same(show(parseFilter(userSchema, 'emails pr')), ['emails', 'pr'], 'pr on the complex attribute itself');
  t.same(show(parseFilter(userSchema, 'emails[type eq "work" and not (value ew ".org")]')), [
    'emails',
    '[]',
    ['and', ['emails.type', 'eq', 'work'], ['not', ['emails.value', 'ew', '.org']]],
  ]);
});

t.test('literals: JSON strings, numbers, booleans, null, unquoted tokens', async (t) => {
  const value = (text: string) => {
    const f = parseFilter(userSchema, text);
    return 'value' in f ? f.value : undefined;
  };
  t.equal(value('userName eq "a\\"b\\\\c\\/d\\n\\t\\u00e9\\ud83d\\ude00"'), 'a"b\\c/d\n\té\u{1F600}');
  t.equal(value('userName eq ""'), '');
  t.equal(value('active eq TRUE'), true);
  t.equal(value('active eq false'), false);
  t.equal(value('active eq "True"'), true, 'booleans as strings, as Entra sends them');
  t.equal(value('title eq null'), null);
  t.equal(value('title ne NULL'), null);
  t.equal(value('externalId eq 123abc'), '123abc', 'Entra documentation: unquoted');
  t.equal(value('externalId eq 123'), '123', 'a number on a string attribute compares as its text');
  t.equal(value('externalId eq 1e3'), '1e3');
  t.equal(value('externalId eq 007'), '007');
  t.equal(value('externalId eq a:b/c.d-e_f@g'), 'a:b/c.d-e_f@g');
  t.equal(value('(externalId eq abc)'), 'abc');
  t.equal(value('meta.created gt 2024-01-01T00:00:00Z'), '2024-01-01T00:00:00Z', 'unquoted dateTime');
  const vp = parseFilter(userSchema, 'emails[value eq abc]');
  t.equal(vp.op === 'valuePath' && vp.filter.op === 'eq' && vp.filter.value, 'abc', 'unquoted inside brackets');
});

t.test('every malformed or ill-typed filter is invalidFilter naming the position', async (t) => {
  for (const c of errorCases) {
    const e = refusal(c.filter);
    t.equal(e.status, 400, c.filter);
    t.equal(e.scimType, 'invalidFilter', c.filter);
    t.match(e.detail, c.detail, c.filter);
    t.match(e.detail, /^filter: /, c.filter);
  }
});

t.test('limits: length and nesting depth', async (t) => {
  const deep = (n: number) => '('.repeat(n) + 'userName pr' + ')'.repeat(n);
  t.ok(parseFilter(userSchema, deep(MAX_FILTER_DEPTH)));
  t.match(refusal(deep(MAX_FILTER_DEPTH + 1)).detail, `nested deeper than ${MAX_FILTER_DEPTH} levels at position ${MAX_FILTER_DEPTH}`);
  const nots = (n: number) => 'not ('.repeat(n) + 'userName pr' + ')'.repeat(n);
  t.ok(parseFilter(userSchema, nots(MAX_FILTER_DEPTH)));
  t.match(refusal(nots(MAX_FILTER_DEPTH + 1)).detail, 'nested deeper');
  t.match(refusal('('.repeat(100000)).detail, 'longer than');
  const long = 'userName eq "' + 'a'.repeat(MAX_FILTER_LENGTH) + '"';
  t.match(refusal(long).detail, `longer than ${MAX_FILTER_LENGTH} characters`);
  const justFits = 'userName eq "' + 'a'.repeat(MAX_FILTER_LENGTH - 14) + '"';
  t.equal(justFits.length, MAX_FILTER_LENGTH);
  t.ok(parseFilter(userSchema, justFits));
});

t.test('limits: comparisons per filter, value filters counted inside, each a setting', async (t) => {
  const chain = (n: number) => Array.from({ length: n }, (_, i) => `userName eq "u${i}"`).join(' or ');
  t.ok(parseFilter(userSchema, chain(DEFAULT_LIMITS.filterNodes)), 'exactly the default bound');
  const over = refusal(chain(DEFAULT_LIMITS.filterNodes + 1));
  t.equal(over.scimType, 'invalidFilter');
  t.match(over.detail, `more than ${DEFAULT_LIMITS.filterNodes} comparisons`);
  t.match(over.detail, 'SCIM_MAX_FILTER_NODES', 'names the setting');
  const inBrackets = `emails[${Array.from({ length: 3 }, (_, i) => `value eq "${i}"`).join(' or ')}] and userName pr`;
  t.ok(parseFilter(userSchema, inBrackets, { filterLength: 8192, filterNodes: 5 }), "the value path counts as one, and so does each comparison inside");
  t.throws(() => parseFilter(userSchema, inBrackets, { filterLength: 8192, filterNodes: 4 }), { code: 'invalidFilter' });
  t.match(refusal('userName pr', { filterLength: 5, filterNodes: 10 }).detail, 'longer than 5 characters (11; the limit is SCIM_MAX_FILTER_LENGTH)');
});

t.test('a non-string (a repeated query parameter) is invalidFilter too', async (t) => {
  t.throws(() => parseFilter(userSchema, ['userName pr', 'title pr'] as unknown as string), { code: 'invalidFilter' });
});

t.test('parseValueFilter: paths are sub-attributes of the parent', async (t) => {
  const emails = userSchema.resolve('emails')!;
  t.same(show(parseValueFilter(userSchema, emails, 'TYPE eq "work" or primary eq true')), [
    'or',
    ['emails.type', 'eq', 'work'],
    ['emails.primary', 'eq', true],
  ]);
  const e = (() => {
    try {
      parseValueFilter(userSchema, emails, 'value eq "x" and userName eq "y"');
    } catch (err) {
      return err as ScimError;
    }
  })();
  t.match(e?.detail, "'emails' has no sub-attribute 'userName' at position 17");
  t.throws(() => parseValueFilter(userSchema, emails, 'type[value eq "x"] pr'), { code: 'invalidFilter' });
});

/** Anything a client can send: never a crash, only a Filter or invalidFilter (and a tree both interpreters take). */
function total(text: string): boolean {
  let f: Filter;
  try {
    f = parseFilter(userSchema, text);
  } catch (e) {
    if (!isScimError(e) || e.scimType !== 'invalidFilter' || !e.detail.startsWith('filter: ')) throw e;
    return true;
  }
  for (const u of users) evaluateFilter(f, u);
  compileFilter(f);
  return true;
}

t.test('fuzz: arbitrary strings give a Filter or invalidFilter', async (t) => {
  const vocabulary = [
    'userName', 'emails', 'emails.value', 'emails.type', 'name', 'name.givenName', 'active', 'meta.created',
    'title', 'password', 'manager', `${ENT}:manager.value`, 'nope', 'eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge',
    'lt', 'le', 'pr', 'and', 'or', 'not', 'NOT', '(', ')', '[', ']', '"', '"x"', '"\\u00e9"', '"\\', 'true',
    'null', '42', '-1.5e3', '2024-01-01T00:00:00Z', '"2024-01-01T00:00:00Z"', ' ', '  ', '\t', '.', ':', '\\',
  ];
  const tokenSoup = fc.array(fc.constantFrom(...vocabulary), { maxLength: 24 }).map((ts) => ts.join(''));
  const spacedSoup = fc.array(fc.constantFrom(...vocabulary), { maxLength: 24 }).map((ts) => ts.join(' '));
  const mutated = fc
    .tuple(fc.constantFrom(...cases.map((c) => c.filter)), fc.nat(), fc.nat(), fc.string({ maxLength: 3 }))
    .map(([s, a, b, ins]) => {
      const i = a % (s.length + 1);
      const j = Math.min(s.length, i + (b % 4));
      return s.slice(0, i) + ins + s.slice(j);
    });
  const arbitrary = fc.oneof(
    fc.string({ maxLength: 64 }),
    fc.string({ unit: 'binary', maxLength: 64 }),
    tokenSoup,
    spacedSoup,
    mutated,
  );
  fc.assert(fc.property(arbitrary, total), { seed: 20240607, numRuns: 3000 });
  t.pass('3000 inputs');
});

t.test('fuzz: the letter case of names and keywords never changes the tree', async (t) => {
  const flip = (s: string, mask: number[]) =>
    [...s].map((c, i) => (mask[i % mask.length]! % 2 ? c.toUpperCase() : c.toLowerCase())).join('');
  const parsedCases = cases.filter((c) => !c.caseSensitive && !/ eq [^"(]/.test(c.filter));
  fc.assert(
    fc.property(fc.constantFrom(...parsedCases), fc.array(fc.nat(), { minLength: 1, maxLength: 7 }), (c, mask) => {
      const text = c.filter.replace(/"(?:[^"\\]|\\.)*"|[^"]+/g, (m) => (m.startsWith('"') ? m : flip(m, mask)));
      return isDeepStrictEqual(show(parseFilter(userSchema, text)), show(parseFilter(userSchema, c.filter)));
    }),
    { seed: 7, numRuns: 500 },
  );
  t.pass();
});
