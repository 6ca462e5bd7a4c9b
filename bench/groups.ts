/**
 * `npm run bench -- groups`: membership at directory scale, on the embedded store and on MongoDB (the test
 * database unless MONGODB_URI), each with 101,000 users (the largest group, and spares) behind the built server over HTTP.
 *
 * Three groups are filled through the API (POST, then PATCHes of 1,000 members): 10, 10,000 and 100,000 members.
 * For each, one client adds a member (a user not in the group) and removes it again, alternately; the p50 of each is
 * compared with the 10-member group's (target: the 100,000-member group at most 2x). Then a user is put in 1,000
 * groups (one POST each) and read: GET /Users/{id} computes its `groups`. Also measured: GET of the 100,000-member
 * group (what it returns: every member, its size in bytes), a page of groups without members, and the Entra-style
 * membership check `filter=id eq "g" and members.value eq "u"&excludedAttributes=members`; and what the administrator's
 * page reads of the largest group: its member count and its first pages of members by name, by cursor.
 */
import os from 'node:os';
import { mintToken } from '../src/cli/mint';
import { SchemaRegistry } from '../src/scim/schema';
import { rssOf } from './embedded';
import { writeReportSection } from './report';
import { seedStore } from './seed-store';
import { HttpClient, percentile, runLoad, startServer } from './support';

export interface GroupsBenchOptions {
  users: number;
  sizes: number[];
  /** Groups the one user is put in. */
  groupsPerUser: number;
  /** Measured add/remove pairs per group size. */
  requests: number;
  stores: ('lmdb' | 'mongodb')[];
  mongodbUri?: string;
  report?: string;
  argv: string[];
}

export const GROUPS_DEFAULTS = { users: 101_000, sizes: [10, 10_000, 100_000], groupsPerUser: 1000, requests: 200, stores: ['lmdb', 'mongodb'] as ('lmdb' | 'mongodb')[] };

const SECRET = 'bench-groups-secret-long-enough-for-hs256!!';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

interface Timing {
  p50: number;
  p99: number;
  n: number;
}

interface StoreResult {
  store: 'lmdb' | 'mongodb';
  fill: { size: number; seconds: number }[];
  pairs: { size: number; add: Timing; remove: Timing }[];
  userGroups: { inGroups: Timing; inNone: Timing; count: number };
  bigGet: { ms: number[]; bytes: number; members: number };
  page: Timing;
  check: Timing;
  /** The largest group's member count, and its first pages of members by name (ms each). */
  memberCount: number[];
  memberPages: number[];
  seedSeconds: number;
  anonMb: number;
}

function timing(latencies: number[]): Timing {
  const s = [...latencies].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p99: percentile(s, 99), n: s.length };
}

async function time(fn: () => Promise<void>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

export async function groupsBenchmark(options: GroupsBenchOptions): Promise<void> {
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const started = Date.now();
  const users = SchemaRegistry.fromDirectory().resourceSchema('User');
  const token = await mintToken({ secret: SECRET }, { scope: 'scim:read scim:write', ttlSeconds: 24 * 3600 });
  const largest = Math.max(...options.sizes);
  if (options.users < largest + options.requests + 1) throw new Error(`--users must exceed the largest group (${largest}) by --requests + 1`);
  const results: StoreResult[] = [];
  for (const store of options.stores) {
    const cleanups: (() => Promise<void>)[] = [];
    try {
      log(`${store}: seeding ${options.users.toLocaleString('en')} users`);
      const { ids, seconds: seedSeconds, env } = await seedStore(store, { size: options.users, users, mongodbUri: options.mongodbUri, label: 'groups' }, cleanups, log);
      const server = await startServer({ ...env, SCIM_JWT_SECRET: SECRET });
      cleanups.unshift(() => server.stop());
      const client = new HttpClient(server.base, { authorization: `Bearer ${token}` }, 4);
      cleanups.unshift(async () => client.close());
      const call = async (method: string, url: string, body: unknown, expect: number) => {
        const res = await client.request(method, `/scim/v2${url}`, body);
        if (res.status !== expect) throw new Error(`${method} ${url}: ${res.status} ${res.body.slice(0, 300)}`);
        return res.body;
      };
      const patch = (id: string, Operations: unknown[]) => call('PATCH', `/Groups/${id}`, { schemas: [PATCH_OP], Operations }, 204);

      // Fill the groups through the API, 1,000 members per PATCH.
      const groups: { size: number; id: string }[] = [];
      const fill: StoreResult['fill'] = [];
      for (const size of options.sizes) {
        const t0 = performance.now();
        const id = JSON.parse(await call('POST', '/Groups', { schemas: [GROUP], displayName: `bench ${size}` }, 201)).id as string;
        for (let i = 0; i < size; i += 1000) {
          await patch(id, [{ op: 'add', path: 'members', value: ids.slice(i, Math.min(size, i + 1000)).map((value) => ({ value, type: 'User' })) }]);
        }
        fill.push({ size, seconds: (performance.now() - t0) / 1000 });
        groups.push({ size, id });
        log(`  group of ${size.toLocaleString('en')} filled in ${fill[fill.length - 1]!.seconds.toFixed(1)} s`);
      }

      // Add one member (a user in none of the groups) and remove it, one client, the groups in turn at every step
      // (so that whatever else the machine does weighs on every size alike); 10 rounds unmeasured first.
      const spare = ids.slice(largest, largest + options.requests);
      const adds = groups.map((): number[] => []);
      const removes = groups.map((): number[] => []);
      for (let round = -10; round < options.requests; round++) {
        const member = spare[Math.max(0, round)]!;
        for (const [i, { id }] of groups.entries()) {
          const add = await time(() => patch(id, [{ op: 'add', path: 'members', value: [{ value: member }] }]).then(() => undefined));
          const remove = await time(() => patch(id, [{ op: 'remove', path: `members[value eq "${member}"]` }]).then(() => undefined));
          if (round >= 0) {
            adds[i]!.push(add);
            removes[i]!.push(remove);
          }
        }
      }
      const pairs: StoreResult['pairs'] = groups.map(({ size }, i) => ({ size, add: timing(adds[i]!), remove: timing(removes[i]!) }));
      for (const p of pairs) log(`  ${p.size.toLocaleString('en')} members: add p50 ${p.add.p50.toFixed(2)} ms, remove p50 ${p.remove.p50.toFixed(2)} ms`);

      // A user in many groups, and a user in none.
      const joiner = ids[ids.length - 1]!;
      const loner = ids[ids.length - 2]!;
      for (let i = 0; i < options.groupsPerUser; i++) {
        await call('POST', '/Groups', { schemas: [GROUP], displayName: `bench member-of ${i}`, members: [{ value: joiner }] }, 201);
      }
      const load = { concurrency: 1, warmup: 5, maxRequests: options.requests, seconds: 30, minRequests: 20, slowMs: 1e9, slowRequests: 1, slowBudget: 1 };
      let count = 0;
      const inGroups = await runLoad(async () => {
        count = (JSON.parse(await call('GET', `/Users/${joiner}`, undefined, 200)).groups as unknown[]).length;
      }, load);
      const inNone = await runLoad(async () => {
        await call('GET', `/Users/${loner}`, undefined, 200);
      }, load);
      log(`  GET of a user in ${count} groups p50 ${inGroups.p50.toFixed(2)} ms (in none: ${inNone.p50.toFixed(2)} ms)`);

      // The largest group whole, a page of groups without members, Entra's membership check.
      const big = groups[groups.length - 1]!;
      const bigMs: number[] = [];
      let bytes = 0;
      let members = 0;
      for (let i = 0; i < 5; i++) {
        bigMs.push(
          await time(async () => {
            const body = await call('GET', `/Groups/${big.id}`, undefined, 200);
            bytes = Buffer.byteLength(body);
            members = (JSON.parse(body).members as unknown[]).length;
          }),
        );
      }
      log(`  GET of the ${big.size.toLocaleString('en')}-member group: ${bigMs.map((m) => m.toFixed(0)).join(', ')} ms, ${(bytes / 1048576).toFixed(1)} MB`);
      const page = await runLoad(async () => {
        await call('GET', '/Groups?excludedAttributes=members&count=100', undefined, 200);
      }, load);
      const member = ids[Math.floor(big.size / 2)]!;
      const filter = encodeURIComponent(`id eq "${big.id}" and members.value eq "${member}"`);
      const check = await runLoad(async () => {
        const found = JSON.parse(await call('GET', `/Groups?filter=${filter}&excludedAttributes=members`, undefined, 200)) as { totalResults: number };
        if (found.totalResults !== 1) throw new Error('membership check: wrong answer');
      }, load);
      log(`  page of groups p50 ${page.p50.toFixed(2)} ms; membership check p50 ${check.p50.toFixed(2)} ms`);
      // What the administrator's page reads of the largest group (issue 29): its member count, and its members a
      // page of 50 at a time by name, by cursor (users filtered by groups.value), never the member list whole.
      const of = encodeURIComponent(`groups.value eq "${big.id}"`);
      const countMs: number[] = [];
      for (let i = 0; i < 3; i++) {
        countMs.push(
          await time(async () => {
            const body = JSON.parse(await call('GET', `/Users?filter=${of}&count=0`, undefined, 200)) as { totalResults: number };
            if (body.totalResults !== big.size) throw new Error(`member count: ${body.totalResults}, not ${big.size}`);
          }),
        );
      }
      const pageMs: number[] = [];
      let cursor = '';
      for (let i = 0; i < 5; i++) {
        pageMs.push(
          await time(async () => {
            const body = JSON.parse(await call('GET', `/Users?filter=${of}&sortBy=displayName&count=50&cursor=${encodeURIComponent(cursor)}&attributes=displayName,userName`, undefined, 200)) as {
              Resources: unknown[];
              nextCursor?: string;
            };
            if (body.Resources.length !== 50 || !body.nextCursor) throw new Error('a page of members: not 50, or no next cursor');
            cursor = body.nextCursor;
          }),
        );
      }
      log(`  the largest group's member count ${countMs.map((m) => m.toFixed(0)).join(', ')} ms; its members by name, pages of 50: ${pageMs.map((m) => m.toFixed(0)).join(', ')} ms`);
      results.push({
        store,
        fill,
        pairs,
        userGroups: { inGroups: { p50: inGroups.p50, p99: inGroups.p99, n: inGroups.requests }, inNone: { p50: inNone.p50, p99: inNone.p99, n: inNone.requests }, count },
        bigGet: { ms: bigMs, bytes, members },
        page: { p50: page.p50, p99: page.p99, n: page.requests },
        check: { p50: check.p50, p99: check.p99, n: check.requests },
        memberCount: countMs,
        memberPages: pageMs,
        seedSeconds,
        anonMb: rssOf(server.pid).anon / 1048576,
      });
    } finally {
      for (const c of cleanups) await c().catch((e: unknown) => log(`cleanup: ${String(e)}`));
    }
  }
  const report = render(options, results, Date.now() - started);
  process.stdout.write(`${report}\n`);
  if (options.report) writeReportSection(options.report, 'groups', `npm run bench -- ${options.argv.join(' ')}`, report);
}

function render(options: GroupsBenchOptions, results: StoreResult[], ms: number): string {
  const lines = [
    '## Results',
    '',
    `- Date: ${new Date().toISOString()}`,
    `- Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model.split(' ').slice(0, 2).join(' ') ?? '?'}), Node.js ${process.version}; server, database and client on this machine, over loopback; load average at the end ${os.loadavg()[0]!.toFixed(2)}`,
    `- Command: \`npm run bench -- ${options.argv.join(' ')}\``,
    `- ${options.users.toLocaleString('en')} users per store; one client; ${options.requests} measured add/remove pairs per group after 10 unmeasured, the groups in turn at every step`,
    `- Whole run ${(ms / 1000).toFixed(0)} s`,
    '',
  ];
  for (const r of results) {
    lines.push(`### ${r.store === 'lmdb' ? 'Embedded store (LMDB)' : 'MongoDB store (the test database unless MONGODB_URI)'}`, '');
    lines.push('| group size | filled in (POST + PATCHes of 1,000) | add one member p50 / p99 ms | remove one member p50 / p99 ms | add p50 vs the smallest |', '| ---: | ---: | ---: | ---: | ---: |');
    const base = r.pairs[0]!;
    for (const p of r.pairs) {
      const ratio = p.add.p50 / base.add.p50;
      const rratio = p.remove.p50 / base.remove.p50;
      const fill = r.fill.find((f) => f.size === p.size)!;
      lines.push(
        `| ${p.size.toLocaleString('en')} | ${fill.seconds.toFixed(1)} s | ${p.add.p50.toFixed(2)} / ${p.add.p99.toFixed(2)} | ${p.remove.p50.toFixed(2)} / ${p.remove.p99.toFixed(2)} | add ${ratio.toFixed(2)}x, remove ${rratio.toFixed(2)}x${p === base ? '' : ratio <= 2 && rratio <= 2 ? ' (≤ 2x: yes)' : ' (≤ 2x: **no**)'} |`,
      );
    }
    lines.push(
      '',
      `- GET /Users/{id} of a user in ${r.userGroups.count.toLocaleString('en')} groups (its \`groups\` computed): p50 ${r.userGroups.inGroups.p50.toFixed(2)} ms, p99 ${r.userGroups.inGroups.p99.toFixed(2)} ms; of a user in none: p50 ${r.userGroups.inNone.p50.toFixed(2)} ms.`,
      `- GET /Groups/{id} of the ${r.pairs[r.pairs.length - 1]!.size.toLocaleString('en')}-member group: every member (${r.bigGet.members.toLocaleString('en')}), ${(r.bigGet.bytes / 1048576).toFixed(1)} MB, in ${r.bigGet.ms.map((m) => m.toFixed(0)).join(', ')} ms.`,
      `- GET /Groups?excludedAttributes=members&count=100: p50 ${r.page.p50.toFixed(2)} ms. Entra's membership check (\`id eq … and members.value eq …\`, members excluded) on that group: p50 ${r.check.p50.toFixed(2)} ms.`,
      `- The administrator page's reads of that group: its member count (\`GET /Users?filter=groups.value eq …&count=0\`) in ${r.memberCount.map((m) => m.toFixed(0)).join(', ')} ms; its first five pages of 50 members by name, by cursor, in ${r.memberPages.map((m) => m.toFixed(0)).join(', ')} ms.`,
      `- Seeding ${r.seedSeconds.toFixed(1)} s; the server's own (anonymous) memory after the run ${r.anonMb.toFixed(0)} MB.`,
      '',
    );
  }
  return lines.join('\n');
}
