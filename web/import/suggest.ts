/**
 * The mapping suggested from a column's name ("First Name" is name.givenName), apart from the targets themselves
 * (targets.ts) so that it touches no browser API: test/web/import-targets.test.ts runs it in node.
 */
import { ENTERPRISE, MANAGER } from '../urns';

export const EMPLOYEE_NUMBER = `${ENTERPRISE}:employeeNumber`;
export const MANAGER_TARGET = MANAGER;

/** What a suggestion looks at in a target (targets.ts Target). */
export interface Suggestible {
  id: string;
  kind: string;
  label: string;
  attr: string;
  sub?: string;
}

/** A column name reduced to letters and digits: "Work E-mail" and "work_email" are the same. */
export function normalize(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/**
 * Column names HR systems use, by what they hold (Workday's "Business Title", BambooHR's "Employee #", "Manager's
 * Email"…), compared without case, spaces or punctuation. Also matched: a target's own name or label.
 */
const SUGGESTIONS: [string[], string][] = [
  [['firstname', 'givenname', 'forename', 'first', 'legalfirstname'], 'name.givenName'],
  [['lastname', 'surname', 'familyname', 'last', 'legallastname'], 'name.familyName'],
  [['middlename', 'middle'], 'name.middleName'],
  [['fullname', 'displayname', 'name', 'employeename'], 'displayName'],
  [['preferredname', 'nickname', 'preferredfirstname', 'knownas'], 'nickName'],
  [['email', 'workemail', 'emailaddress', 'workemailaddress', 'mail', 'businessemail', 'officeemail', 'email1', 'emailwork', 'primaryworkemail', 'companyemail'], 'emails[work]'],
  [['homeemail', 'personalemail', 'privateemail'], 'emails[home]'],
  [['phone', 'workphone', 'telephone', 'officephone', 'businessphone', 'phonenumber'], 'phoneNumbers[work]'],
  [['mobile', 'mobilephone', 'cell', 'cellphone', 'mobilenumber', 'workmobile', 'mobilephonenumber'], 'phoneNumbers[mobile]'],
  [['homephone'], 'phoneNumbers[home]'],
  [['jobtitle', 'title', 'position', 'role', 'jobname', 'businesstitle', 'designation', 'positiontitle'], 'title'],
  [['employeetype', 'usertype', 'workertype'], 'userType'],
  [['language', 'preferredlanguage'], 'preferredLanguage'],
  [['timezone', 'tz'], 'timezone'],
  [['status', 'active', 'employmentstatus', 'enabled', 'accountstatus'], 'active'],
  [['externalid', 'hrid', 'sourceid', 'immutableid'], 'externalId'],
  [['employeeid', 'employeenumber', 'employeeno', 'empid', 'empno', 'personnelnumber', 'staffid', 'staffnumber', 'workerid', 'employee', 'employeecode', 'badgenumber'], EMPLOYEE_NUMBER],
  [['department', 'dept', 'departmentname', 'team'], `${ENTERPRISE}:department`],
  [['costcenter', 'costcentre'], `${ENTERPRISE}:costCenter`],
  [['division'], `${ENTERPRISE}:division`],
  [['organization', 'organisation', 'company', 'legalentity'], `${ENTERPRISE}:organization`],
  [
    ['manager', 'managerid', 'manageremployeeid', 'manageremployeenumber', 'manageremail', 'managerusername', 'managerlogin', 'supervisor', 'supervisorid', 'supervisoremail', 'reportsto', 'linemanager', 'managersemail', 'managersemployeeid', 'managerworkemail', 'supervisorsemail', 'supervisorworkemail', 'supervisoremployeeid', 'reportingto', 'reportstoemail', 'reportstoid', 'managerupn'],
    MANAGER_TARGET,
  ],
];

/** Column names that hold the sign-in name itself. */
const USER_NAME_COLUMNS = ['username', 'login', 'loginname', 'userid', 'userprincipalname', 'upn', 'samaccountname', 'signinname', 'account'];

/** The target suggested for a column name, among those offered; '' (ignore) when none fits. */
export function suggestTarget(column: string, targets: readonly Suggestible[]): string {
  const n = normalize(column);
  if (n === '') return '';
  // An attribute by its own name first ("Worker Type" is an operator's workerType, where the directory has one),
  // then the names HR systems use, then a label ("Cost center").
  const own = targets.find((t) => t.kind !== 'typed' && normalize(t.sub ?? t.attr) === n);
  if (own) return own.id;
  const offered = new Set(targets.map((t) => t.id));
  for (const [names, id] of SUGGESTIONS) if (names.includes(n) && offered.has(id)) return id;
  return targets.find((t) => normalize(t.label) === n)?.id ?? '';
}

/**
 * The column suggested for the user name: a sign-in name column, else the work email's (by its name, not by the
 * email target, which a token that may not write contact info is not offered: it still matches by user name).
 */
export function suggestUserNameColumn(header: readonly string[]): number {
  const byName = header.findIndex((c) => USER_NAME_COLUMNS.includes(normalize(c)));
  if (byName !== -1) return byName;
  return header.findIndex((c) => /^(work|business|office)?e?mail(address)?$/.test(normalize(c)));
}

/** How a manager column names the manager: emails and logins are user names, anything else an employee number. */
export function suggestManagerBy(column: string): 'employeeNumber' | 'userName' {
  return /mail|user|login|upn/.test(normalize(column)) ? 'userName' : 'employeeNumber';
}
