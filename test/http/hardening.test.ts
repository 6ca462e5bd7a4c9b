/**
 * Request bounds over HTTP, on every store: the request bounds answer with SCIM errors that name them and write nothing;
 * Unicode twins are one userName (NFC); text with unpaired surrogates is refused before it reaches a store; values
 * are never duplicated; writers of one user on one instance never see 409.
 */
import t from 'tap';
import { build, eachStore, ERROR, Harness, user } from '../helper';

const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ops = (...Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });

async function create(h: Harness, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const res = await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user(body.userName as string, body) });
  if (res.statusCode !== 201) throw new Error(`create failed: ${res.statusCode} ${res.body}`);
  return res.json();
}

const get = async (h: Harness, id: unknown) => (await h.req({ method: 'GET', url: `/scim/v2/Users/${id}` })).json();
const find = async (h: Harness, filter: string) =>
  h.req({ method: 'GET', url: `/scim/v2/Users?filter=${encodeURIComponent(filter)}` });

eachStore(t, async (t, kind) => {
  const h = await build(t, kind, { SCIM_MAX_PATCH_OPERATIONS: '20', SCIM_MAX_VALUES: '10', SCIM_MAX_FILTER_NODES: '5' });

  t.test('bounds: each over-limit request is a SCIM error naming its bound, and nothing is written', async (t) => {
    const u = await create(h, { userName: 'bounded' });
    const cases = [
      {
        name: 'operations per PATCH',
        body: ops(...Array.from({ length: 21 }, (_, i) => ({ op: 'replace', path: 'title', value: `t${i}` }))),
        status: 413,
        detail: /"Operations" has 21 operations; at most 20 are allowed in one PATCH \(SCIM_MAX_PATCH_OPERATIONS\)/,
      },
      {
        name: 'values given at once',
        body: ops({ op: 'add', path: 'emails', value: Array.from({ length: 11 }, (_, i) => ({ value: `v${i}@x.t` })) }),
        status: 400,
        scimType: 'invalidValue',
        detail: /^operation 1: 'emails' has 11 values; at most 10 are allowed \(SCIM_MAX_VALUES\)$/,
      },
      {
        name: 'values grown one at a time',
        body: ops(...Array.from({ length: 11 }, (_, i) => ({ op: 'add', path: 'emails', value: { value: `v${i}@x.t` } }))),
        status: 400,
        scimType: 'invalidValue',
        detail: /'emails' has 11 values; at most 10/,
      },
    ];
    for (const c of cases) {
      const res = await h.req({ method: 'PATCH', url: `/scim/v2/Users/${u.id}`, payload: c.body });
      t.equal(res.statusCode, c.status, c.name);
      t.match(res.json(), { schemas: [ERROR], status: String(c.status), detail: c.detail }, c.name);
      if (c.scimType) t.equal(res.json().scimType, c.scimType, c.name);
    }
    const after = await get(h, u.id);
    t.equal(after.meta.version, 'W/"1"', 'no refused request changed the user');
    t.notOk(after.emails, 'no email was written');

    const post = await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user('too-many', { emails: Array.from({ length: 11 }, (_, i) => ({ value: `${i}@x.t` })) }) });
    t.equal(post.statusCode, 400);
    t.match(post.json(), { scimType: 'invalidValue', detail: /'emails' has 11 values; at most 10 are allowed \(SCIM_MAX_VALUES\)/ });
    t.equal((await find(h, 'userName eq "too-many"')).json().totalResults, 0, 'nothing created');

    const filter = Array.from({ length: 6 }, (_, i) => `userName eq "u${i}"`).join(' or ');
    const list = await find(h, filter);
    t.equal(list.statusCode, 400);
    t.match(list.json(), { scimType: 'invalidFilter', detail: /more than 5 comparisons .*SCIM_MAX_FILTER_NODES/ });
    const search = await h.req({ method: 'POST', url: '/scim/v2/Users/.search', payload: { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter } });
    t.equal(search.statusCode, 400, '/.search has the same bound');
    t.equal((await find(h, Array.from({ length: 5 }, (_, i) => `userName eq "u${i}"`).join(' or '))).statusCode, 200, 'at the bound');
  });

  t.test('NFC: a userName typed precomposed or decomposed is one userName; the spelling sent is kept', async (t) => {
    const composed = 'caf\u00e9.\u00c5sa';
    const decomposed = 'cafe\u0301.A\u030asa';
    t.not(composed, decomposed);
    t.equal(composed.normalize('NFC'), decomposed.normalize('NFC'));
    const first = await create(h, { userName: composed });
    const twin = await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user(decomposed) });
    t.equal(twin.statusCode, 409, 'the twin is a duplicate');
    t.equal(twin.json().scimType, 'uniqueness');
    const angstrom = await h.req({ method: 'POST', url: '/scim/v2/Users', payload: user('CAFE\u0301.\u212bSA') });
    t.equal(angstrom.statusCode, 409, 'upper case with the Angstrom sign (NFC: Å) too');
    const found = (await find(h, `userName eq "${decomposed}"`)).json();
    t.equal(found.totalResults, 1, 'a filter in the other form finds the user');
    t.equal(found.Resources[0].id, first.id);
    t.equal(found.Resources[0].userName, composed, 'stored as sent');
    t.equal((await find(h, 'userName sw "CAFE\u0301"')).json().totalResults, 1, 'sw compares NFC too');
    const other = await create(h, { userName: 'bob' });
    const rename = await h.req({ method: 'PATCH', url: `/scim/v2/Users/${other.id}`, payload: ops({ op: 'replace', path: 'userName', value: decomposed }) });
    t.equal(rename.statusCode, 409, 'renaming onto the twin is refused');
  });

  t.test('unpaired surrogates are refused with invalidValue naming the place, before any write', async (t) => {
    const u = await create(h, { userName: 'surrogate-target' });
    const raw = (json: string, method: 'POST' | 'PATCH' | 'PUT', url: string) =>
      h.req({ method, url, payload: json, headers: { 'content-type': 'application/scim+json' } });
    const cases = [
      { name: 'POST value', method: 'POST' as const, url: '/scim/v2/Users', json: '{"userName":"x\\ud800"}', at: '/userName' },
      { name: 'POST low surrogate alone', method: 'POST' as const, url: '/scim/v2/Users', json: '{"userName":"\\udc00y"}', at: '/userName' },
      { name: 'POST nested', method: 'POST' as const, url: '/scim/v2/Users', json: '{"userName":"ok","emails":[{"value":"a\\ud802@x.t"}]}', at: '/emails/0/value' },
      { name: 'POST member name', method: 'POST' as const, url: '/scim/v2/Users', json: '{"userName":"ok","x\\ud800":1}', at: 'a member name' },
      {
        name: 'PATCH value',
        method: 'PATCH' as const,
        url: `/scim/v2/Users/${u.id}`,
        json: `{"schemas":["${PATCH_OP}"],"Operations":[{"op":"replace","path":"displayName","value":"\\ud83d"}]}`,
        at: '/Operations/0/value',
      },
      { name: 'PUT value', method: 'PUT' as const, url: `/scim/v2/Users/${u.id}`, json: '{"userName":"surrogate-target","title":"t\\udfff"}', at: '/title' },
    ];
    for (const c of cases) {
      const res = await raw(c.json, c.method, c.url);
      t.equal(res.statusCode, 400, c.name);
      t.match(res.json(), { schemas: [ERROR], scimType: 'invalidValue', detail: /unpaired UTF-16 surrogate/ }, c.name);
      t.match(res.json().detail, c.at, `${c.name}: names ${c.at}`);
    }
    const pair = await raw('{"userName":"emoji-\\ud83d\\ude00"}', 'POST', '/scim/v2/Users');
    t.equal(pair.statusCode, 201, 'a proper surrogate pair is fine');
    t.equal(pair.json().userName, 'emoji-\u{1f600}');
    const filter = await find(h, 'userName eq "x\\ud800"');
    t.equal(filter.statusCode, 400, 'in a filter literal');
    t.equal(filter.json().scimType, 'invalidFilter');
    t.equal((await get(h, u.id)).meta.version, 'W/"1"', 'the target was never written');
  });

  t.test('RFC 7643 §2.4: no two equal values, whichever way they arrive', async (t) => {
    const u = await create(h, {
      userName: 'dupes',
      emails: [{ value: 'a@x.t', type: 'work' }, { value: 'A@X.T', type: 'work' }, { value: 'b@x.t' }],
    });
    t.same(u.emails, [{ value: 'a@x.t', type: 'work' }, { value: 'b@x.t' }], 'POST keeps each value once');
    const made = await h.req({ method: 'PATCH', url: `/scim/v2/Users/${u.id}`, payload: ops({ op: 'add', path: 'emails', value: [{ value: 'a@x.t', type: 'work', primary: true }] }) });
    t.equal(made.statusCode, 200);
    t.same(made.json().emails, [{ value: 'a@x.t', type: 'work', primary: true }, { value: 'b@x.t' }], 'the element became primary');
    const again = await h.req({
      method: 'PATCH',
      url: `/scim/v2/Users/${u.id}`,
      payload: ops(...Array.from({ length: 20 }, (_, i) => ({ op: 'add', path: 'emails', value: [{ value: i % 2 ? 'a@x.t' : 'B@x.t' }] }))),
    });
    t.equal(again.statusCode, 200);
    t.equal(again.json().emails.length, 2, 're-adds add nothing');
    t.equal(again.headers.etag, made.headers.etag, 'and change no version');
    const put = await h.req({ method: 'PUT', url: `/scim/v2/Users/${u.id}`, payload: user('dupes', { phoneNumbers: [{ value: '+1 555 0100' }, { value: '+1 555 0100', type: 'work' }] }) });
    t.same(put.json().phoneNumbers, [{ value: '+1 555 0100', type: 'work' }], 'PUT too');
  });

  t.test('writers of one user on one instance: sequential and interleaved, never a 409 without If-Match', async (t) => {
    const u = await create(h, { userName: 'contended' });
    const writer = async (name: string, n: number) => {
      const statuses: number[] = [];
      for (let i = 0; i < n; i++) {
        const res = await h.req({ method: 'PATCH', url: `/scim/v2/Users/${u.id}`, payload: ops({ op: 'replace', path: 'title', value: `${name}${i}` }) });
        statuses.push(res.statusCode);
      }
      return statuses;
    };
    const all = (await Promise.all(['a', 'b', 'c', 'd', 'e', 'f'].map((w) => writer(w, 10)))).flat();
    t.same([...new Set(all)], [200], 'six clients back to back: every PATCH 200');
    t.equal((await get(h, u.id)).meta.version, 'W/"61"');
  });
});
