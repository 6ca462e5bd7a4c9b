/**
 * The operator's schemas the query benchmarks run with (examples/schema: the HR extension, Entra's custom extension),
 * and the HR values their seeded users carry (issue 27: an indexed operator attribute scales as the core ones do).
 *
 * The values are a function of the user's number and the directory's size, so the benchmarks' own random draws
 * (names, GUIDs, times) are the ones they made before the HR values existed, and earlier figures stay comparable:
 *  - jobCode: `ENG-00042`, from size / 3 codes (3,334 at 10,000 users), each held by three users (two for a few at
 *    sizes not divisible by three) at every size. A fixed set of codes would put 100 times more users behind each
 *    code at 1,000,000 than at 10,000, and an `eq` would then measure the size of its answer, not the index; the core
 *    `eq` queries find one user at every size, and this one three.
 *  - hireDate: a day between 2000-01-01 and 2025-12-31 (midnight UTC);
 *  - workLocation: one of 50 sites, a building and a floor;
 *  - badgeNumber: `B-0001234`, unique per user (the schema makes it unique).
 */
import path from 'node:path';
import { SchemaRegistry, type ResourceSchema } from '../src/scim/schema';
import { ROOT } from './support';

/** The example operator schemas the server and the seeding load (SCIM_SCHEMA_DIR). */
export const EXAMPLE_SCHEMA_DIR = path.join(ROOT, 'examples', 'schema');

export const HR = 'urn:example:params:scim:schemas:extension:hr:2.0:User';

/** The registry the server builds with SCIM_SCHEMA_DIR=examples/schema (views are made against its fingerprint). */
export function exampleRegistry(): SchemaRegistry {
  return SchemaRegistry.load({ operatorDir: EXAMPLE_SCHEMA_DIR });
}

/** Whether users of this schema carry the HR extension (the operator's schemas are loaded). */
export function hasHr(schema: ResourceSchema): boolean {
  return schema.extensions.some((e) => e.schema.id === HR);
}

const FAMILIES = ['ENG', 'FIN', 'SAL', 'MKT', 'SUP', 'LEG', 'PPL', 'OPS', 'RES', 'SEC', 'ITS', 'FAC'];
const SITES = Array.from({ length: 50 }, (_, k) => `Site ${String(k + 1).padStart(2, '0')}`);
const MULTIPLIER = 7919; // prime: i -> i * 7919 mod codes is a permutation when codes is not a multiple of it
const DAY = 86400_000;
const FIRST_DAY = Date.parse('2000-01-01T00:00:00Z');
const DAYS = Math.round((Date.parse('2025-12-31T00:00:00Z') - FIRST_DAY) / DAY) + 1;

/** How many job codes a directory of `size` users has: each code held by three users. */
export function jobCodeCount(size: number): number {
  const n = Math.ceil(size / 3);
  return n % MULTIPLIER === 0 ? n + 1 : n;
}

function jobCodeAt(c: number): string {
  return `${FAMILIES[c % FAMILIES.length]}-${String(Math.floor(c / FAMILIES.length)).padStart(5, '0')}`;
}

/** User i's job code. */
export function jobCodeOf(i: number, size: number): string {
  return jobCodeAt((i * MULTIPLIER) % jobCodeCount(size));
}

/** The numbers of the users holding user i's job code (those congruent to i modulo the number of codes), ascending. */
export function jobCodeHolders(i: number, size: number): number[] {
  const codes = jobCodeCount(size);
  const out: number[] = [];
  for (let j = i % codes; j < size; j += codes) out.push(j);
  return out;
}

/** A small integer hash (for values spread without a generator of their own). */
function mix(i: number, salt: number): number {
  let h = Math.imul(i ^ salt, 0x9e3779b1);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

/** User i's HR extension, in a directory of `size` users. */
export function hrValues(i: number, size: number): Record<string, unknown> {
  const day = mix(i, 0x68697265) % DAYS;
  const site = mix(i, 0x73697465) % SITES.length;
  return {
    jobCode: jobCodeOf(i, size),
    hireDate: new Date(FIRST_DAY + day * DAY).toISOString().replace('.000Z', 'Z'),
    workLocation: { site: SITES[site]!, building: `B${1 + (mix(i, 0x626c6467) % 5)}`, floor: 1 + (mix(i, 0x666c6f6f) % 20) },
    badgeNumber: `B-${String(i).padStart(7, '0')}`,
  };
}
