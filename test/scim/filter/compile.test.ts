import t from 'tap';
import fc from 'fast-check';
import type { Document } from 'mongodb';
import { parseFilter } from '../../../src/scim/filter/parse';
import { compileFilter, escapeRegex, prefixSuccessor } from '../../../src/store/mongo/filter';
import { compareStrings } from '../../../src/scim/collation';
import { cases, userSchema } from '../../fixtures/filters/users';
import { filterText, testSchema } from '../../fixtures/filters/generate';
import { isScimError } from '../../../src/scim/errors';

const ENT_Q = 'q.urn:ietf:params:scim:schemas:extension:enterprise:2\uFF0E0:User';

/** Past the default comparison bound, to look at how long chains compile (the bound has its own test). */
const UNBOUNDED = { filterLength: 8192, filterNodes: 100_000 };

function compile(text: string, schema = userSchema) {
  return compileFilter(parseFilter(schema, text, UNBOUNDED));
}

t.test('compiles to queries over the normalised copy', async (t) => {
  const table: [string, Document, boolean][] = [
    ['userName eq "ALICE"', { 'q.userName': { $eq: 'alice' } }, true],
    ['id eq "AbC"', { 'q.id': { $eq: 'AbC' } }, true],
    ['externalId ne "X"', { $nor: [{ 'q.externalId': { $eq: 'X' } }] }, true],
    ['emails.type ne "Work"', { $nor: [{ 'q.emails.type': { $eq: 'work' } }] }, true],
    ['not (userName ne "x")', { 'q.userName': { $eq: 'x' } }, true],
    ['meta.created gt "2024-01-01T02:00:00+02:00"', { 'q.meta.created': { $gt: '2024-01-01T00:00:00.000Z' } }, true],
    ['meta.lastModified le "2024-01-01T00:00:00Z"', { 'q.meta.lastModified': { $lte: '2024-01-01T00:00:00.000Z' } }, true],
    ['userName ge "B"', { 'q.userName': { $gte: 'b' } }, true],
    ['userName lt "B"', { 'q.userName': { $lt: 'b' } }, true],
    ['active eq true', { 'q.active': { $eq: true } }, true],
    ['userName sw "A.b"', { 'q.userName': { $gte: 'a.b', $lt: 'a.c' } }, true],
    ['emails.value sw "A.b"', { $and: [{ 'q.emails.value': { $gte: 'a.b', $lt: 'a.c' } }, { 'q.emails.value': { $regex: '^a\\.b' } }] }, true],
    ['userName sw ""', { 'q.userName': { $gte: '' } }, true],
    ['userName ew "X"', { 'q.userName': { $regex: 'x\\z' } }, true],
    ['emails co "@X.com"', { 'q.emails.value': { $regex: '\\@x\\.com' } }, true],
    ['title pr', { 'q.title': { $gt: '' } }, true],
    ['active pr', { 'q.active': { $in: [true, false] } }, true],
    ['title eq null', { $nor: [{ 'q.title': { $gt: '' } }] }, true],
    ['title ne null', { 'q.title': { $gt: '' } }, true],
    [
      'name pr',
      {
        $or: ['formatted', 'familyName', 'givenName', 'middleName', 'honorificPrefix', 'honorificSuffix'].map((s) => ({
          [`q.name.${s}`]: { $gt: '' },
        })),
      },
      true,
    ],
    ['manager eq "M"', { [`${ENT_Q}.manager.value`]: { $eq: 'M' } }, true],
    ['department eq "R&D"', { [`${ENT_Q}.department`]: { $eq: 'r&d' } }, true],
    [
      'userName eq "a" and title pr and active eq true',
      { $and: [{ 'q.userName': { $eq: 'a' } }, { 'q.title': { $gt: '' } }, { 'q.active': { $eq: true } }] },
      true,
    ],
    ['userName eq "a" or userName eq "b" or title pr', { $or: [{ 'q.userName': { $eq: 'a' } }, { 'q.userName': { $eq: 'b' } }, { 'q.title': { $gt: '' } }] }, true],
    ['not (userName eq "a" or title pr)', { $nor: [{ 'q.userName': { $eq: 'a' } }, { 'q.title': { $gt: '' } }] }, true],
    ['not (not (title pr))', { 'q.title': { $gt: '' } }, true],
    ['emails[type eq "Work"]', { 'q.emails.type': { $eq: 'work' } }, true],
    ['emails[type eq "work" or primary eq true]', { $or: [{ 'q.emails.type': { $eq: 'work' } }, { 'q.emails.primary': { $eq: true } }] }, true],
    ['emails[type pr]', { 'q.emails.type': { $gt: '' } }, true],
    // The same element must satisfy both: without $elemMatch (FerretDB), only a superset, post-filtered.
    ['emails[type eq "work" and value co "x"]', { $and: [{ 'q.emails.type': { $eq: 'work' } }, { 'q.emails.value': { $regex: 'x' } }] }, false],
    ['emails[type ne "work"]', { 'q.emails': { $exists: true } }, false],
    ['emails[not (type eq "work")]', { 'q.emails': { $exists: true } }, false],
    ['emails[type eq null]', { 'q.emails': { $exists: true } }, false],
    ['not (emails[type eq "work" and value co "x"])', {}, false],
    [
      'userName eq "a" and not (emails[type eq "work" and value co "x"])',
      { 'q.userName': { $eq: 'a' } },
      false,
    ],
    [
      'not (emails[type eq "w"] or emails[type eq "h" and primary eq true])',
      { $nor: [{ 'q.emails.type': { $eq: 'w' } }] },
      false,
    ],
  ];
  for (const [filter, query, exact] of table) {
    const c = compile(filter);
    t.same(c.query, query, filter);
    t.equal(c.exact, exact, `${filter}: exact`);
  }
});

t.test('number attributes (test extension)', async (t) => {
  const q = 'q.urn:example:scim:schemas:extension:filtertest:1\uFF0E0:User';
  t.same(compile('level gt 2', testSchema).query, { [`${q}.level`]: { $gt: 2 } });
  t.same(compile('score pr', testSchema).query, { [`${q}.score`]: { $type: 'number' } });
  t.same(compile('badges[weight ge 1]', testSchema).query, { [`${q}.badges.weight`]: { $gte: 1 } });
  t.throws(() => parseFilter(testSchema, 'secret eq "x"'), { code: 'invalidFilter' }, 'never-returned');
});

t.test('client values never become operators, fields or live regex syntax', async (t) => {
  t.same(compile('userName eq "{\\"$gt\\": \\"\\"}"').query, { 'q.userName': { $eq: '{"$gt": ""}' } });
  t.same(compile('userName eq "$where"').query, { 'q.userName': { $eq: '$where' } });
  t.same(compile('userName co ".*"').query, { 'q.userName': { $regex: '\\.\\*' } });
  t.same(compile('userName sw "(a+)+$"').query, { 'q.userName': { $gte: '(a+)+$', $lt: '(a+)+%' } });
  t.same(compile('emails sw "(a+)+$"').query.$and[1], { 'q.emails.value': { $regex: '^\\(a\\+\\)\\+\\$' } });
  t.same(compile('userName co "a\\u0000b\\nc"').query, { 'q.userName': { $regex: 'a\\x00b\\x0ac' } });
});

t.test('prefixSuccessor: [prefix, successor) is exactly the strings that start with the prefix', async (t) => {
  t.equal(prefixSuccessor('user0047'), 'user0048');
  t.equal(prefixSuccessor('a\u{10FFFF}'), 'b', 'trailing U+10FFFF is dropped');
  t.equal(prefixSuccessor('\u{10FFFF}'), undefined);
  t.equal(prefixSuccessor(''), undefined);
  t.equal(prefixSuccessor('a\uD7FF'), 'a\uE000', 'no lone surrogate');
  t.equal(prefixSuccessor('a\uFFFF'), 'a\u{10000}');
  // Code point order, as MongoDB compares strings (UTF-8 bytes); never a lone surrogate.
  const point = fc.oneof(fc.constantFrom(0, 0x7f, 0xd7ff, 0xe000, 0xfffd, 0xffff, 0x10000, 0x10ffff), fc.integer({ min: 0, max: 0x10ffff }));
  const text = fc.array(point.filter((c) => c < 0xd800 || c > 0xdfff), { maxLength: 5 }).map((cs) => String.fromCodePoint(...cs));
  fc.assert(
    fc.property(text, text, fc.boolean(), (prefix, tail, glue) => {
      const s = glue ? prefix + tail : tail;
      const next = prefixSuccessor(prefix);
      const inRange = compareStrings(s, prefix) >= 0 && (next === undefined || compareStrings(s, next) < 0);
      return inRange === s.startsWith(prefix);
    }),
    { seed: 42, numRuns: 2000 },
  );
});

t.test('escapeRegex: the pattern matches exactly the literal substring', async (t) => {
  const text = fc.string({ unit: fc.constantFrom('a', 'B', '.', '*', '+', '?', '(', ')', '[', ']', '{', '}', '|', '\\', '^', '$', '/', '-', ' ', '\n', '\u0000', '\u007f', 'é', '😀', '#', '&', '~'), maxLength: 8 });
  fc.assert(
    fc.property(text, text, (needle, hay) => new RegExp(escapeRegex(needle)).test(hay) === hay.includes(needle)),
    { seed: 42, numRuns: 2000 },
  );
  t.pass();
});

const OPERATORS = new Set(['$eq', '$ne', '$gt', '$gte', '$lt', '$lte', '$regex', '$in', '$exists', '$type', '$and', '$or', '$nor']);
const FIELD = /^q\.[^.$][^.]*(\.[^.$][^.]*){0,2}$/;

/** Every key is one of our operators or a field path into `q` whose segments came from the schema. */
function checkShape(q: unknown, fieldOk: (f: string) => boolean, where = 'query'): string | undefined {
  if (Array.isArray(q)) {
    for (const x of q) {
      const bad = checkShape(x, fieldOk, where);
      if (bad) return bad;
    }
    return undefined;
  }
  if (typeof q !== 'object' || q === null) return undefined;
  for (const [k, v] of Object.entries(q as Document)) {
    if (k.startsWith('$')) {
      if (!OPERATORS.has(k)) return `${where}: operator ${k}`;
      if (k === '$regex' && typeof v !== 'string') return `${where}: regex ${String(v)}`;
      if ((k === '$and' || k === '$or' || k === '$nor') && !Array.isArray(v)) return `${where}: ${k}`;
    } else if (k !== '_id' && !fieldOk(k)) {
      return `${where}: field ${k}`;
    }
    const bad = checkShape(v, fieldOk, `${where}.${k}`);
    if (bad) return bad;
  }
  return undefined;
}

t.test('property: compiled queries only hold known operators and schema field paths', async (t) => {
  const fields = new Set<string>();
  for (const { schema, extension, attribute } of testSchema.allAttributes()) {
    const top = ['q', ...(extension ? [schema.replace(/\./g, '\uFF0E')] : []), attribute.name].join('.');
    fields.add(top);
    for (const s of attribute.subAttributes ?? []) fields.add(`${top}.${s.name.replace(/^\$/, '\uFF04')}`);
  }
  const fieldOk = (f: string) => fields.has(f) && FIELD.test(f.replace(/urn:[^.]*/, 'urn'));
  let parsed = 0;
  fc.assert(
    fc.property(filterText, (text) => {
      let f;
      try {
        f = parseFilter(testSchema, text);
      } catch (e) {
        if (isScimError(e) && e.scimType === 'invalidFilter') return true;
        throw e;
      }
      parsed++;
      const bad = checkShape(compileFilter(f).query, fieldOk);
      if (bad) throw new Error(`${text}: ${bad}`);
      return true;
    }),
    { seed: 99, numRuns: 1000 },
  );
  t.ok(parsed > 900, `${parsed} of 1000 generated filters parsed`);
  for (const c of cases) t.notOk(checkShape(compile(c.filter).query, fieldOk), c.filter);
});

t.test('long chains compile flat; deep nesting stays within BSON limits', async (t) => {
  const chain = Array.from({ length: 300 }, (_, i) => `userName eq "u${i}"`).join(' or ');
  const c = compile(chain);
  t.equal((c.query.$or as unknown[]).length, 300);
  const deep = 'not ('.repeat(32) + 'userName pr' + ')'.repeat(32);
  t.same(compile(deep).query, { 'q.userName': { $gt: '' } }, 'double negations cancel');
  const depth = (q: unknown): number =>
    typeof q === 'object' && q !== null ? 1 + Math.max(0, ...Object.values(q).map(depth)) : 0;
  const mixed = Array.from({ length: 16 }, (_, i) => `(userName eq "a${i}" or not (`).join('') + 'title pr' + '))'.repeat(16);
  t.ok(depth(compile(mixed).query) < 100, `depth ${depth(compile(mixed).query)}`);
});
