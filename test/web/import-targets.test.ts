/**
 * web/import/suggest.ts without a browser: which attribute a column of an HR system's export is suggested for,
 * among the targets a full-rights token is offered (the User schemas' writable attributes, as targets.ts makes
 * them), by the names real exports use (Workday, BambooHR, SAP SuccessFactors, a spreadsheet), and how a manager
 * column names the manager.
 */
import t from 'tap';
import { type Suggestible, suggestManagerBy, suggestTarget, suggestUserNameColumn } from '../../web/import/suggest';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const PROFILE = 'urn:scim-server:schemas:extension:profile:1.0:User';

/** A target as targets.ts makes it from its id: `name.givenName`, `emails[work]`, `urn:…:User:department`. */
function target(id: string): Suggestible {
  const typed = /\[(\w+)\]$/.exec(id);
  const local = id.startsWith('urn:') ? id.slice(id.lastIndexOf(':') + 1) : id;
  const [attr = '', sub] = local.replace(/\[\w+\]$/, '').split('.');
  return { id, kind: typed ? 'typed' : sub ? 'sub' : 'simple', attr, sub, label: attr };
}

/** What a token that may write every section is offered (the built-in schemas; userName is chosen on its own). */
const ALL = [
  'name.givenName', 'name.familyName', 'name.middleName', 'displayName', 'nickName', 'title', 'userType', 'active',
  'preferredLanguage', 'timezone', 'externalId', 'emails[work]', 'emails[home]', 'phoneNumbers[work]',
  'phoneNumbers[mobile]', 'phoneNumbers[home]', `${ENTERPRISE}:employeeNumber`, `${ENTERPRISE}:department`,
  `${ENTERPRISE}:costCenter`, `${ENTERPRISE}:division`, `${ENTERPRISE}:organization`, `${ENTERPRISE}:manager`,
  `${PROFILE}:usageLocation`,
].map(target);

t.test('a column is suggested for the attribute its name says', async (t) => {
  const targets = ALL;
  const cases: { column: string; expected: string }[] = [
    { column: 'First Name', expected: 'name.givenName' },
    { column: 'Legal Last Name', expected: 'name.familyName' },
    { column: 'Preferred Name', expected: 'nickName' },
    { column: 'Work Email', expected: 'emails[work]' },
    { column: "Manager's Email", expected: `${ENTERPRISE}:manager` },
    { column: 'Employee #', expected: `${ENTERPRISE}:employeeNumber` },
    { column: 'Employee ID', expected: `${ENTERPRISE}:employeeNumber` },
    { column: 'Business Title', expected: 'title' },
    { column: 'Job Title', expected: 'title' },
    { column: 'Dept.', expected: `${ENTERPRISE}:department` },
    { column: 'Cost Centre', expected: `${ENTERPRISE}:costCenter` },
    { column: 'Mobile Phone Number', expected: 'phoneNumbers[mobile]' },
    { column: 'Employment Status', expected: 'active' },
    { column: 'Supervisor Employee ID', expected: `${ENTERPRISE}:manager` },
    { column: 'Reports To', expected: `${ENTERPRISE}:manager` },
    { column: 'Usage Location', expected: `${PROFILE}:usageLocation` },
    { column: 'externalId', expected: 'externalId' },
    { column: 'Favourite Colour', expected: '' },
  ];
  for (const c of cases) t.equal(suggestTarget(c.column, targets), c.expected, c.column);
});

t.test('only what the token is offered is suggested', async (t) => {
  const jobInfoOnly = ALL.filter((x) => x.id === 'title' || x.id.startsWith(ENTERPRISE));
  t.equal(suggestTarget('Job Title', jobInfoOnly), 'title');
  t.equal(suggestTarget('Work Email', jobInfoOnly), '', 'contact info is not the token’s to write');
});

t.test('the user-name column, and how the manager is named', async (t) => {
  t.equal(suggestUserNameColumn(['Employee ID', 'First Name', 'Work Email']), 2, 'the work email when there is no login column');
  t.equal(suggestUserNameColumn(['Email', 'UPN']), 1, 'a sign-in name column first');
  t.equal(suggestUserNameColumn(['Employee ID', 'Name']), -1, 'none');
  for (const [column, by] of [
    ['Manager Employee ID', 'employeeNumber'],
    ["Manager's Email", 'userName'],
    ['Supervisor', 'employeeNumber'],
    ['Manager UPN', 'userName'],
  ] as const) {
    t.equal(suggestManagerBy(column), by, column);
  }
});
