/**
 * How the MongoDB store reads a segment of a result in its order (src/store/mongo/queries.ts): which reads name the
 * `_id` index, and the pipeline that projects after skipping. Pure: no database. What the reads return is held by
 * the store contract, run with every query paged by the database (mongo.test.ts).
 */
import t from 'tap';
import { hintOf, readPipeline, RECORD_PROJECTION, type Segment } from '../../src/store/mongo/queries';

const byId: Segment = { where: {}, dir: 1 };
const byName: Segment = { where: { 'q.userName': { $ne: null } }, field: 'q.userName', dir: 1, windowed: true };
const withoutName: Segment = { where: { 'q.userName': { $eq: null } }, dir: 1 };

t.test('the _id index is named for reads in _id order with no condition but on _id', async (t) => {
  const cases: [string, Segment, Record<string, unknown>, boolean][] = [
    ['an unfiltered index page', byId, {}, true],
    ["a walk's next page, after a key", byId, { _id: { $gt: 'k' } }, true],
    ["a walk's previous page, before a key", { ...byId, dir: -1 }, { _id: { $lt: 'k' } }, true],
    ['ids a membership filter named', byId, { _id: { $in: ['a', 'b'] } }, true],
    ['a filtered page: the filter’s index narrows the read', byId, { 'q.title': { $eq: 'x' } }, false],
    ['a filter and a key', byId, { $and: [{ 'q.title': { $eq: 'x' } }, { _id: { $gt: 'k' } }] }, false],
    ['the users without the sort value, by id', withoutName, withoutName.where, false],
    ['a sorted segment', byName, byName.where, false],
  ];
  for (const [what, segment, where, hinted] of cases) t.same(hintOf(segment, where), hinted ? { _id: 1 } : undefined, what);
});

t.test('the projection comes after the skip and the limit', async (t) => {
  const cases: [string, Segment, Record<string, unknown>, Parameters<typeof readPipeline>[2], unknown[]][] = [
    ['the first page', byId, {}, { limit: 101 }, [{ $sort: { _id: 1 } }, { $limit: 101 }, { $project: RECORD_PROJECTION }]],
    [
      'a deep page',
      byId,
      {},
      { skip: 9999, limit: 101 },
      [{ $sort: { _id: 1 } }, { $skip: 9999 }, { $limit: 101 }, { $project: RECORD_PROJECTION }],
    ],
    [
      'a filtered sorted page',
      byName,
      { $and: [{ 'q.title': 'x' }, byName.where] },
      { skip: 5, limit: 10 },
      [
        { $match: { $and: [{ 'q.title': 'x' }, byName.where] } },
        { $sort: { 'q.userName': 1, _id: 1 } },
        { $skip: 5 },
        { $limit: 10 },
        { $project: RECORD_PROJECTION },
      ],
    ],
    [
      'a page before a cursor: the order reversed',
      byName,
      byName.where,
      { limit: 3, reverse: true },
      [{ $match: byName.where }, { $sort: { 'q.userName': -1, _id: -1 } }, { $limit: 3 }, { $project: RECORD_PROJECTION }],
    ],
  ];
  for (const [what, segment, where, range, pipeline] of cases) t.same(readPipeline(segment, where, range), pipeline, what);
});
