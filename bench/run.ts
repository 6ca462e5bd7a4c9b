/**
 * Benchmarks: `npm run bench -- <name> [options]` (npm run bench builds first, then runs dist/bench/run.js).
 *
 *   query       list queries at several directory sizes over HTTP, and the server's GET/PATCH against the bare
 *               driver calls (bench/query.ts); writes bench/REPORT.md; fails when an indexed query is a full scan.
 *               The server runs with the example operator schemas (examples/schema), and `eq` on the HR extension's
 *               indexed jobCode is measured with the core lookups (bench/hr.ts)
 *   embedded    the embedded LMDB store at 10k/100k/1M users over HTTP: the query benchmark's queries (jobCode eq
 *               included), GET, POST and a job-info PATCH, with start-up time and server memory (bench/embedded.ts);
 *               fails when an indexed filter is planned as a scan. Options: --sizes, --seconds, --report FILE |
 *               --no-report
 *   http        the hot path side by side with a bare Fastify floor and (embedded store) a durable floor, on both
 *               stores at 100,000 users: GET, PATCH spread over users, POST, PATCH of one hot user, a filter and a
 *               page, as fractions of the floors' req/s (bench/http.ts). The load is wrk's (`wrk -t1 -c50`, Debian's
 *               package: installed with apt-get when missing and running as root; otherwise it says how), driving
 *               pre-made requests from bench/wrk.lua; targets (embedded): GET ≥ 0.5x of the floor, PATCH ≥ 0.5x and
 *               POST ≥ 0.7x of the durable floor. Options: --size, --connections 50 (wrk -c), --seconds 4, --rounds 3,
 *               --soak SECONDS (GET and PATCH with wrk, memory every 10 s), --stores, --mongodb-uri, --report FILE |
 *               --no-report
 *   groups      membership at scale on both stores with 101,000 users: add and remove one member of groups of 10, 10,000
 *               and 100,000 members, a user in 1,000 groups, the largest group read whole (bench/groups.ts). Options:
 *               --users, --sizes, --groups-per-user, --requests, --stores, --mongodb-uri, --report FILE | --no-report
 *   bulk        creating 1,000 users on both stores with 10,000 seeded: 1,000 single POSTs over one keep-alive connection
 *               and over 8, against one POST /Bulk of 1,000 creates, with the floors of the same run (bare Fastify, the
 *               durable LMDB floor and bare LMDB, the bare driver's insertOne vs insertMany) (bench/bulk.ts); fails when
 *               the sequential POSTs take under 3x the Bulk. Options: --size, --rounds, --operations, --connections,
 *               --stores, --mongodb-uri, --no-check, --report FILE | --no-report
 *   soak        a provisioning client's mixed traffic for minutes on both stores with 20,000 users seeded (50% GET, 20%
 *               PATCH with or without If-Match, 10% POST, 10% filter and page, 5% PUT, 5% DELETE), the server's RSS and
 *               p50/p99 every 10 s (bench/soak.ts); fails on more than 0.1% errors, RSS growing 20% or more after the
 *               first window, or a last-window p99 1.5x the first's or more. Options: --size, --seconds 180,
 *               --connections 16, --stores, --mongodb-uri, --no-check, --report FILE | --no-report
 *   walk        whole-directory walks as importers make them, on both stores (bench/walk.ts): by startIndex (as Okta
 *               does), by startIndex with sortBy, and by cursor; fails when a walk is wrong, its p99 page is over 2x its
 *               first pages, or it takes over 2x the cursor walk. Options: --sizes 100000, --stores, --count 100,
 *               --mongodb-uri, --report FILE | --no-report
 *   stall       each request that could hold the event loop (a deep sorted page, an unindexed filter, a 100,000-member
 *               group's GET, a Bulk of 1,000, an audit page) beside a stream of cheap GETs, on both stores
 *               (bench/stall.ts): the cheap GETs' p99 and the server's longest event-loop stall; fails past 20 ms.
 *               Options: --size 100000, --stores, --repeat 3, --mongodb-uri, --report FILE | --no-report
 *   footprint   bytes on disk per user (issue 28): users created through POST /Bulk (with their audit entries) on a fresh
 *               store per size, then the embedded store's data file split by sub-database (LMDB's page counts) and
 *               the MongoDB store's collection and index sizes (collStats) (bench/footprint.ts). Options: --sizes
 *               10000,100000, --stores, --mongodb-uri, --report FILE | --no-report
 *   migrate     an embedded directory moved to MongoDB (issue 30): export to a file, import that file, and migrate in
 *               one process, each the built CLI in its own process, timed, its peak memory read (bench/migrate.ts).
 *               Options: --size 1000000, --groups 10000, --phases import,migrate (import: export then import a
 *               file), --mongodb-uri, --report FILE | --no-report
 *   hardening   the requests that once froze the server, in CPU time per request against the default bounds
 *               (bench/hardening.ts); fails when one costs more than 100 ms of CPU. Options: --repeat 3,
 *               --mongodb-uri URI (default: MONGODB_URI, else the embedded store), --report FILE | --no-report
 *
 * Options of `query`:
 *   --sizes 10000,100000,1000000
 *                          users to seed, one fresh database per size (each is compared with the first)
 *   --concurrency 4        clients in the closed loop
 *   --warmup 4             unmeasured requests per query first
 *   --requests 2000        at most this many measured requests per query and size
 *   --seconds 10           no new request after this long per query and size…
 *   --min-requests 12      …once at least this many were measured
 *   --slow-ms 2000         a query whose first request takes longer is measured one request at a time…
 *   --slow-requests 3      …with at most this many samples…
 *   --slow-budget 60       …that fit in this many seconds, at least one (bounds the run when every request reads
 *                          the whole collection)
 *   --count 100            page size of the list requests
 *   --seed 42              seed of the generated users and of the queried values
 *   --mongodb-uri URI      database to use (default: MONGODB_URI, else a FerretDB started for the run)
 *   --report FILE          where to write the report (default bench/REPORT.md); --no-report writes none
 */
import { QUERY_DEFAULTS, queryBenchmark, QueryBenchOptions } from './query';
import { HARDENING_DEFAULTS, hardeningBenchmark, HardeningOptions } from './hardening';
import { EMBEDDED_DEFAULTS, embeddedBenchmark, EmbeddedBenchOptions } from './embedded';
import { HTTP_DEFAULTS, HTTP_SHAPES, httpBenchmark, HttpBenchOptions } from './http';
import { GROUPS_DEFAULTS, groupsBenchmark, GroupsBenchOptions } from './groups';
import { BULK_DEFAULTS, bulkBenchmark, BulkBenchOptions } from './bulk';
import { SOAK_DEFAULTS, soakBenchmark, SoakBenchOptions } from './soak';
import { WALK_DEFAULTS, walkBenchmark, WalkBenchOptions } from './walk';
import { STALL_DEFAULTS, stallBenchmark, StallBenchOptions } from './stall';
import { FOOTPRINT_DEFAULTS, footprintBenchmark, FootprintBenchOptions } from './footprint';
import { MIGRATE_DEFAULTS, migrateBenchmark, type MigrateBenchOptions } from './migrate';

const HTTP_USAGE =
  'usage: npm run bench -- http [--size 100000] [--connections 50] [--seconds 4] [--rounds 3] [--soak SECONDS] [--stores lmdb,mongodb] [--shapes get,patch,post,patch-hot,group-add-hot,filter,page] [--mongodb-uri URI] [--report FILE | --no-report]';

export function parseHttpArgs(args: string[]): HttpBenchOptions {
  const options: HttpBenchOptions = { ...HTTP_DEFAULTS, stores: [...HTTP_DEFAULTS.stores], mongodbUri: process.env.MONGODB_URI || undefined, report: 'bench/REPORT.md', argv: ['http', ...args] };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const value = () => {
      const v = args[++i];
      if (v === undefined) throw new UsageError(`${arg} needs a value\n${HTTP_USAGE}`);
      return v;
    };
    const count = (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new UsageError(`${arg} must be a positive whole number\n${HTTP_USAGE}`);
      return n;
    };
    switch (arg) {
      case '--size':
        options.size = count(value());
        break;
      case '--connections':
        options.connections = count(value());
        break;
      case '--seconds':
        options.seconds = count(value());
        break;
      case '--rounds':
        options.rounds = count(value());
        break;
      case '--soak':
        options.soak = count(value());
        break;
      case '--stores': {
        const stores = value().split(',');
        if (stores.some((s) => s !== 'lmdb' && s !== 'mongodb')) throw new UsageError(`--stores takes lmdb, mongodb or both\n${HTTP_USAGE}`);
        options.stores = stores as HttpBenchOptions['stores'];
        break;
      }
      case '--shapes': {
        const shapes = value().split(',');
        const bad = shapes.find((s) => !HTTP_SHAPES.includes(s));
        if (bad !== undefined) throw new UsageError(`--shapes: no shape ${bad}\n${HTTP_USAGE}`);
        options.shapes = shapes;
        break;
      }
      case '--mongodb-uri':
        options.mongodbUri = value();
        break;
      case '--report':
        options.report = value();
        break;
      case '--no-report':
        options.report = undefined;
        break;
      default:
        throw new UsageError(`unknown option ${arg}\n${HTTP_USAGE}`);
    }
  }
  return options;
}

const EMBEDDED_USAGE = 'usage: npm run bench -- embedded [--sizes 10000,100000,1000000] [--seconds 5] [--report FILE | --no-report]';

export function parseEmbeddedArgs(args: string[]): EmbeddedBenchOptions {
  const options: EmbeddedBenchOptions = { ...EMBEDDED_DEFAULTS, load: { ...EMBEDDED_DEFAULTS.load }, report: 'bench/REPORT.md', argv: ['embedded', ...args] };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    switch (arg) {
      case '--sizes':
        options.sizes = (args[++i] ?? '').split(',').map((s) => positiveInt('--sizes', s.trim()));
        break;
      case '--seconds':
        options.load.seconds = positiveInt(arg, args[++i]);
        break;
      default:
        if (!commonOption(arg, () => args[++i], options)) throw new UsageError(`unknown option ${arg}\n${EMBEDDED_USAGE}`);
    }
  }
  return options;
}

class UsageError extends Error {}

const USAGE = 'usage: npm run bench -- query [--sizes 10000,100000,1000000] [--concurrency 4] [--warmup 4] [--requests 2000] ' +
  '[--seconds 10] [--min-requests 12] [--slow-ms 2000] [--slow-requests 3] [--slow-budget 60] [--count 100] [--seed 42] [--mongodb-uri URI] [--report FILE | --no-report]';

function positiveInt(name: string, text: string | undefined, min = 1): number {
  if (text === undefined || !/^\d+$/.test(text.replace(/_/g, ''))) throw new UsageError(`${name} needs a whole number, got ${JSON.stringify(text)}`);
  const n = Number(text.replace(/_/g, ''));
  if (n < min) throw new UsageError(`${name} must be at least ${min}`);
  return n;
}

/** The options every benchmark takes (the database, the report); false when `flag` is none of them. */
function commonOption(flag: string, value: () => string | undefined, options: { uri?: string; report?: string }): boolean {
  switch (flag) {
    case '--mongodb-uri': {
      const uri = value();
      if (!uri || !/^mongodb(\+srv)?:\/\//.test(uri)) throw new UsageError('--mongodb-uri needs a mongodb:// URI');
      options.uri = uri;
      return true;
    }
    case '--report': {
      const file = value();
      if (!file) throw new UsageError('--report needs a file');
      options.report = file;
      return true;
    }
    case '--no-report':
      options.report = undefined;
      return true;
    default:
      return false;
  }
}

export function parseQueryArgs(args: string[]): QueryBenchOptions {
  const options: QueryBenchOptions = {
    ...QUERY_DEFAULTS,
    uri: process.env.MONGODB_URI || undefined,
    report: 'bench/REPORT.md',
    argv: ['query', ...args],
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = () => inline ?? args[++i];
    switch (flag) {
      case '--sizes': {
        const raw = value();
        options.sizes = (raw ?? '').split(',').map((s) => positiveInt('--sizes', s.trim()));
        if (options.sizes.length === 0) throw new UsageError('--sizes needs at least one size');
        break;
      }
      case '--concurrency':
        options.concurrency = positiveInt(flag, value());
        break;
      case '--warmup':
        options.warmup = positiveInt(flag, value(), 0);
        break;
      case '--requests':
        options.maxRequests = positiveInt(flag, value());
        break;
      case '--seconds':
        options.seconds = positiveInt(flag, value());
        break;
      case '--min-requests':
        options.minRequests = positiveInt(flag, value());
        break;
      case '--slow-ms':
        options.slowMs = positiveInt(flag, value());
        break;
      case '--slow-requests':
        options.slowRequests = positiveInt(flag, value());
        break;
      case '--slow-budget':
        options.slowBudget = positiveInt(flag, value());
        break;
      case '--count':
        options.count = positiveInt(flag, value());
        break;
      case '--seed':
        options.seed = positiveInt(flag, value(), 0);
        break;
      default:
        if (!commonOption(flag, value, options)) throw new UsageError(`unknown option ${arg}`);
    }
  }
  if (options.count > 1000) throw new UsageError('--count: the server caps pages at 1000');
  return options;
}

const GROUPS_USAGE =
  'usage: npm run bench -- groups [--users 101000] [--sizes 10,10000,100000] [--groups-per-user 1000] [--requests 200] [--stores lmdb,mongodb] [--mongodb-uri URI] [--report FILE | --no-report]';

export function parseGroupsArgs(args: string[]): GroupsBenchOptions {
  const options: GroupsBenchOptions & { uri?: string } = {
    ...GROUPS_DEFAULTS,
    sizes: [...GROUPS_DEFAULTS.sizes],
    stores: [...GROUPS_DEFAULTS.stores],
    uri: process.env.MONGODB_URI || undefined,
    report: 'bench/REPORT.md',
    argv: ['groups', ...args],
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    switch (arg) {
      case '--users':
        options.users = positiveInt(arg, args[++i]);
        break;
      case '--sizes':
        options.sizes = (args[++i] ?? '').split(',').map((s) => positiveInt('--sizes', s.trim()));
        break;
      case '--groups-per-user':
        options.groupsPerUser = positiveInt(arg, args[++i]);
        break;
      case '--requests':
        options.requests = positiveInt(arg, args[++i]);
        break;
      case '--stores': {
        const stores = (args[++i] ?? '').split(',');
        if (stores.some((s) => s !== 'lmdb' && s !== 'mongodb')) throw new UsageError(`--stores takes lmdb, mongodb or both\n${GROUPS_USAGE}`);
        options.stores = stores as GroupsBenchOptions['stores'];
        break;
      }
      default:
        if (!commonOption(arg, () => args[++i], options)) throw new UsageError(`unknown option ${arg}\n${GROUPS_USAGE}`);
    }
  }
  options.mongodbUri = options.uri;
  return options;
}

const BULK_USAGE =
  'usage: npm run bench -- bulk [--size 10000] [--rounds 3] [--operations 1000] [--connections 8] [--stores lmdb,mongodb] [--mongodb-uri URI] [--no-check] [--report FILE | --no-report]';

export function parseBulkArgs(args: string[]): BulkBenchOptions {
  const options: BulkBenchOptions & { uri?: string } = {
    ...BULK_DEFAULTS,
    stores: [...BULK_DEFAULTS.stores],
    uri: process.env.MONGODB_URI || undefined,
    report: 'bench/REPORT.md',
    argv: ['bulk', ...args],
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    switch (arg) {
      case '--size':
        options.size = positiveInt(arg, args[++i]);
        break;
      case '--rounds':
        options.rounds = positiveInt(arg, args[++i]);
        break;
      case '--operations':
        options.operations = positiveInt(arg, args[++i]);
        break;
      case '--connections':
        options.connections = positiveInt(arg, args[++i]);
        break;
      case '--stores': {
        const stores = (args[++i] ?? '').split(',');
        if (stores.some((s) => s !== 'lmdb' && s !== 'mongodb')) throw new UsageError(`--stores takes lmdb, mongodb or both\n${BULK_USAGE}`);
        options.stores = stores as BulkBenchOptions['stores'];
        break;
      }
      case '--no-check':
        options.check = false;
        break;
      default:
        if (!commonOption(arg, () => args[++i], options)) throw new UsageError(`unknown option ${arg}\n${BULK_USAGE}`);
    }
  }
  options.mongodbUri = options.uri;
  return options;
}

const SOAK_USAGE =
  'usage: npm run bench -- soak [--size 20000] [--seconds 180] [--connections 16] [--stores lmdb,mongodb] [--mongodb-uri URI] [--no-check] [--report FILE | --no-report]';

export function parseSoakArgs(args: string[]): SoakBenchOptions {
  const options: SoakBenchOptions & { uri?: string } = {
    ...SOAK_DEFAULTS,
    stores: [...SOAK_DEFAULTS.stores],
    uri: process.env.MONGODB_URI || undefined,
    report: 'bench/REPORT.md',
    argv: ['soak', ...args],
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    switch (arg) {
      case '--size':
        options.size = positiveInt(arg, args[++i]);
        break;
      case '--seconds':
        // Two windows of 10 s at least: a first and a last to compare.
        options.seconds = positiveInt(arg, args[++i], 20);
        break;
      case '--connections':
        options.connections = positiveInt(arg, args[++i]);
        break;
      case '--stores': {
        const stores = (args[++i] ?? '').split(',');
        if (stores.some((s) => s !== 'lmdb' && s !== 'mongodb')) throw new UsageError(`--stores takes lmdb, mongodb or both\n${SOAK_USAGE}`);
        options.stores = stores as SoakBenchOptions['stores'];
        break;
      }
      case '--no-check':
        options.check = false;
        break;
      default:
        if (!commonOption(arg, () => args[++i], options)) throw new UsageError(`unknown option ${arg}\n${SOAK_USAGE}`);
    }
  }
  options.mongodbUri = options.uri;
  return options;
}

const HARDENING_USAGE = 'usage: npm run bench -- hardening [--repeat 3] [--mongodb-uri URI] [--report FILE | --no-report]';

export function parseHardeningArgs(args: string[]): HardeningOptions {
  const options: HardeningOptions = { ...HARDENING_DEFAULTS, uri: process.env.MONGODB_URI || undefined, report: 'bench/REPORT.md', argv: ['hardening', ...args] };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    switch (arg) {
      case '--repeat':
        options.repeat = positiveInt(arg, args[++i]);
        break;
      default:
        if (!commonOption(arg, () => args[++i], options)) throw new UsageError(`unknown option ${arg}\n${HARDENING_USAGE}`);
    }
  }
  return options;
}

/** The options of a benchmark that runs on some of the stores: its own flags, --stores and the common ones. */
function parseStoreBench<T extends { stores: ('lmdb' | 'mongodb')[]; uri?: string; report?: string }>(
  args: string[],
  options: T,
  usage: string,
  own: Record<string, (options: T, value: string | undefined) => void>,
): T {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--stores') {
      const stores = (args[++i] ?? '').split(',');
      if (stores.some((s) => s !== 'lmdb' && s !== 'mongodb')) throw new UsageError(`--stores takes lmdb, mongodb or both\n${usage}`);
      options.stores = stores as T['stores'];
    } else if (own[arg]) own[arg](options, args[++i]);
    else if (!commonOption(arg, () => args[++i], options)) throw new UsageError(`unknown option ${arg}\n${usage}`);
  }
  return options;
}

const WALK_USAGE = 'usage: npm run bench -- walk [--sizes 100000] [--stores lmdb,mongodb] [--count 100] [--mongodb-uri URI] [--report FILE | --no-report]';

export function parseWalkArgs(args: string[]): WalkBenchOptions {
  const options: WalkBenchOptions = { ...WALK_DEFAULTS, stores: [...WALK_DEFAULTS.stores], uri: process.env.MONGODB_URI || undefined, report: 'bench/REPORT.md', argv: ['walk', ...args] };
  return parseStoreBench(args, options, WALK_USAGE, {
    '--sizes': (o, v) => (o.sizes = (v ?? '').split(',').map((s) => positiveInt('--sizes', s.trim()))),
    '--count': (o, v) => (o.count = positiveInt('--count', v)),
  });
}

const STALL_USAGE = 'usage: npm run bench -- stall [--size 100000] [--stores lmdb,mongodb] [--repeat 3] [--mongodb-uri URI] [--report FILE | --no-report]';

export function parseStallArgs(args: string[]): StallBenchOptions {
  const options: StallBenchOptions = { ...STALL_DEFAULTS, stores: [...STALL_DEFAULTS.stores], uri: process.env.MONGODB_URI || undefined, report: 'bench/REPORT.md', argv: ['stall', ...args] };
  return parseStoreBench(args, options, STALL_USAGE, {
    '--size': (o, v) => (o.size = positiveInt('--size', v, 1000)),
    '--repeat': (o, v) => (o.repeat = positiveInt('--repeat', v)),
  });
}

const FOOTPRINT_USAGE = 'usage: npm run bench -- footprint [--sizes 10000,100000] [--stores lmdb,mongodb] [--mongodb-uri URI] [--report FILE | --no-report]';

export function parseFootprintArgs(args: string[]): FootprintBenchOptions {
  const options: FootprintBenchOptions = { ...FOOTPRINT_DEFAULTS, stores: [...FOOTPRINT_DEFAULTS.stores], uri: process.env.MONGODB_URI || undefined, report: 'bench/REPORT.md', argv: ['footprint', ...args] };
  return parseStoreBench(args, options, FOOTPRINT_USAGE, {
    '--sizes': (o, v) => (o.sizes = (v ?? '').split(',').map((s) => positiveInt('--sizes', s.trim(), 1000))),
  });
}

const MIGRATE_USAGE = 'usage: npm run bench -- migrate [--size 1000000] [--groups 10000] [--phases import,migrate] [--mongodb-uri URI] [--report FILE | --no-report]';

export function parseMigrateArgs(args: string[]): MigrateBenchOptions {
  const options: MigrateBenchOptions & { stores: ('lmdb' | 'mongodb')[] } = { ...MIGRATE_DEFAULTS, phases: [...MIGRATE_DEFAULTS.phases], stores: ['lmdb', 'mongodb'], uri: process.env.MONGODB_URI || undefined, report: 'bench/REPORT.md', argv: ['migrate', ...args] };
  return parseStoreBench(args, options, MIGRATE_USAGE, {
    '--size': (o, v) => (o.size = positiveInt('--size', v, 1000)),
    '--groups': (o, v) => (o.groups = positiveInt('--groups', v)),
    '--phases': (o, v) => {
      const phases = (v ?? '').split(',');
      if (phases.some((p) => p !== 'import' && p !== 'migrate')) throw new UsageError(`--phases takes import, migrate or both\n${MIGRATE_USAGE}`);
      o.phases = phases as MigrateBenchOptions['phases'];
    },
  });
}

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  switch (name) {
    case 'embedded':
      if (rest.includes('--help') || rest.includes('-h')) {
        process.stdout.write(`${EMBEDDED_USAGE}\n`);
        return;
      }
      await embeddedBenchmark(parseEmbeddedArgs(rest));
      return;
    case 'http':
      if (rest.includes('--help') || rest.includes('-h')) {
        process.stdout.write(`${HTTP_USAGE}\n`);
        return;
      }
      await httpBenchmark(parseHttpArgs(rest));
      return;
    case 'groups':
      if (rest.includes('--help') || rest.includes('-h')) {
        process.stdout.write(`${GROUPS_USAGE}\n`);
        return;
      }
      await groupsBenchmark(parseGroupsArgs(rest));
      return;
    case 'bulk':
      if (rest.includes('--help') || rest.includes('-h')) {
        process.stdout.write(`${BULK_USAGE}\n`);
        return;
      }
      await bulkBenchmark(parseBulkArgs(rest));
      return;
    case 'soak':
      if (rest.includes('--help') || rest.includes('-h')) {
        process.stdout.write(`${SOAK_USAGE}\n`);
        return;
      }
      await soakBenchmark(parseSoakArgs(rest));
      return;
    case 'hardening':
      if (rest.includes('--help') || rest.includes('-h')) {
        process.stdout.write(`${HARDENING_USAGE}\n`);
        return;
      }
      await hardeningBenchmark(parseHardeningArgs(rest));
      return;
    case 'stall':
      if (rest.includes('--help') || rest.includes('-h')) {
        process.stdout.write(`${STALL_USAGE}\n`);
        return;
      }
      await stallBenchmark(parseStallArgs(rest));
      return;
    case 'walk':
      if (rest.includes('--help') || rest.includes('-h')) {
        process.stdout.write(`${WALK_USAGE}\n`);
        return;
      }
      await walkBenchmark(parseWalkArgs(rest));
      return;
    case 'footprint':
      if (rest.includes('--help') || rest.includes('-h')) {
        process.stdout.write(`${FOOTPRINT_USAGE}\n`);
        return;
      }
      await footprintBenchmark(parseFootprintArgs(rest));
      return;
    case 'migrate':
      if (rest.includes('--help') || rest.includes('-h')) {
        process.stdout.write(`${MIGRATE_USAGE}\n`);
        return;
      }
      await migrateBenchmark(parseMigrateArgs(rest));
      return;
    case 'query':
      if (rest.includes('--help') || rest.includes('-h')) {
        process.stdout.write(`${USAGE}\n(options are described at the top of bench/run.ts)\n`);
        return;
      }
      await queryBenchmark(parseQueryArgs(rest));
      return;
    case undefined:
    case '-h':
    case '--help':
      process.stdout.write(`${USAGE}\n`);
      if (name === undefined) process.exitCode = 2;
      return;
    default:
      throw new UsageError(`unknown benchmark ${JSON.stringify(name)}; available: query, hardening, embedded, http, groups, bulk, soak, walk, stall, footprint, migrate`);
  }
}

main(process.argv.slice(2)).catch((e: unknown) => {
  if (e instanceof UsageError) {
    process.stderr.write(`bench: ${e.message}\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  process.stderr.write(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
