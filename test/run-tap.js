'use strict';
/**
 * The test runner behind `npm test`: runs tap with a MongoDB for the MongoDB store tests.
 *
 *  - MONGODB_URI set: tap runs against that server.
 *  - otherwise: starts the test database (test/support/ferretdb.js: FerretDB 2.5 on a private PostgreSQL 15 +
 *    DocumentDB cluster, installed once per machine by scripts/install-test-db.sh, which runs here when something
 *    is missing), passes its URI to tap as MONGODB_URI, and stops it afterwards.
 *  - no test database to be had: prints a banner, runs tap anyway (the MongoDB tests skip) and, when CI=true,
 *    exits 1.
 *
 * Extra arguments go to tap (`node test/run-tap.js test/store/mongo.test.ts`). Exits with tap's exit code.
 */
const { spawn } = require('node:child_process');
const path = require('node:path');
const { locateFerretDB, startFerretDB } = require('./support/ferretdb');

const ROOT = path.resolve(__dirname, '..');
const CI = process.env.CI === 'true';

// tap's default include pattern matches every script under test/, this file among them: as a "test" it must do
// nothing, or it would start tap inside tap.
if (process.env.TAP === '1') {
  console.log('1..0 # SKIP test/run-tap.js is the test runner, not a test');
  process.exit(0);
}

/** @param {string} reason */
function banner(reason) {
  const line = '!'.repeat(78);
  console.error(
    [
      '',
      line,
      `!!  MongoDB store tests SKIPPED: ${reason}`,
      '!!  Set MONGODB_URI to a MongoDB, or install the test database with scripts/install-test-db.sh.',
      CI ? '!!  CI=true: this run FAILS.' : '!!  (With CI=true this is a failure.)',
      line,
      '',
    ].join('\n'),
  );
}

/**
 * @param {string[]} args
 * @param {Record<string, string | undefined>} env
 * @returns {Promise<number>}
 */
function runTap(args, env) {
  // Only *.test.ts files are tests; helpers under test/ (this file, support/, store/contract.ts) are not.
  const include = args.some((a) => a === '-i' || a.startsWith('--include')) ? [] : ['--include=test/**/*.test.ts'];
  return new Promise((resolve) => {
    const child = spawn('npx', ['tap', ...include, ...args], { cwd: ROOT, env, stdio: 'inherit' });
    const forward = (/** @type {NodeJS.Signals} */ signal) => child.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('error', (e) => {
      console.error(`cannot run tap: ${e.message}`);
      resolve(1);
    });
    child.on('exit', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

async function main() {
  const env = { ...process.env };
  /** @type {{ stop(): Promise<void> } | undefined} */
  let ferretdb;
  let skipped = false;
  if (env.MONGODB_URI) {
    console.error(`MongoDB store tests run against MONGODB_URI`);
  } else {
    const found = locateFerretDB();
    if ('bin' in found) {
      try {
        ferretdb = await startFerretDB({ bin: found.bin });
        env.MONGODB_URI = ferretdb.uri;
        console.error(`MongoDB store tests run against FerretDB 2.5 (PostgreSQL 15 + DocumentDB) at ${ferretdb.uri}`);
      } catch (e) {
        banner(`the test database would not start: ${e instanceof Error ? e.message : String(e)}`);
        skipped = true;
      }
    } else {
      banner(found.reason);
      skipped = true;
    }
  }
  let code;
  try {
    code = await runTap(process.argv.slice(2), env);
  } finally {
    if (ferretdb) await ferretdb.stop();
  }
  if (skipped && CI) code = 1;
  return code;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
