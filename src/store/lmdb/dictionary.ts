/**
 * The shared dictionary of the embedded store's LZ4 compression (environment.ts: records, views, audit).
 *
 * A stored value is a kilobyte or so of JSON or msgpack whose bytes are mostly the same in every resource: schema
 * URNs, attribute names, `meta`, the placeholder base URL of views, an audit entry's keys. LZ4 finds repeats only
 * within what it has seen, and a single value repeats little of itself; with this text in front of every value
 * (LZ4_compress_fast_continue over a loaded dictionary), those bytes become references into it. Measured on 3,000
 * HR-shaped users (the example operator extension's names are not in it): a view 1,304 → 500 bytes, a record 1,040 →
 * 583, a create's audit entry 1,311 → 673, where the package's default dictionary (English words, JSON punctuation)
 * left 849, 754 and 855. It is small on purpose: the package loads it before every value it compresses.
 *
 * NEVER EDIT THIS TEXT. A value is decoded with the dictionary it was compressed with and nothing marks which that was:
 * a directory written with this text must be read with this text, byte for byte. A better dictionary needs new
 * sub-databases (and a migration of the values into them), not a change here. It is made of the schemas' vocabulary
 * with made-up values, never of anyone's data.
 */

const PLACEHOLDER = '\\u0000scim-base-url';
const CORE = 'urn:ietf:params:scim:schemas:core:2.0:';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const ID = '01890a5d-ac96-774b-bcce-b302099a8057';
const AT = '2024-05-17T09:41:27.318Z';

/** What a view holds: a user's and a group's default representation, as src/scim/view.ts writes them. */
const USER_VIEW =
  `{"schemas":["${CORE}User","${ENTERPRISE}"],"id":"${ID}","externalId":"${ID}","userName":"jane.doe@example.com",` +
  `"name":{"formatted":"Jane Doe","familyName":"Doe","givenName":"Jane","middleName":"","honorificPrefix":"Ms."},` +
  `"displayName":"Jane Doe","nickName":"","profileUrl":"https://","title":"Senior Engineer","userType":"Employee",` +
  `"preferredLanguage":"en-US","locale":"en-US","timezone":"Europe/","active":true,` +
  `"emails":[{"value":"jane.doe@example.com","type":"work","primary":true},{"value":"jane@mail.example.net","type":"home"}],` +
  `"phoneNumbers":[{"value":"+1 555 0100","type":"mobile"}],` +
  `"addresses":[{"formatted":"","streetAddress":"","locality":"","region":"","postalCode":"","country":"US","type":"work","primary":true}],` +
  `"groups":[{"value":"${ID}","$ref":"${PLACEHOLDER}/Groups/${ID}","display":"","type":"direct"}],` +
  `"roles":[],"entitlements":[],"x509Certificates":[],` +
  `"${ENTERPRISE}":{"employeeNumber":"E000123","costCenter":"CC-100","organization":"","division":"","department":"Engineering",` +
  `"manager":{"value":"${ID}","$ref":"${PLACEHOLDER}/Users/${ID}","displayName":"John Smith"}},` +
  `"meta":{"resourceType":"User","created":"${AT}","lastModified":"${AT}","location":"${PLACEHOLDER}/Users/${ID}","version":"W/\\"1\\""}}`;

const GROUP_VIEW =
  `{"schemas":["${CORE}Group"],"id":"${ID}","externalId":"${ID}","displayName":"Engineering",` +
  `"members":[{"value":"${ID}","$ref":"${PLACEHOLDER}/Users/${ID}","display":"Jane Doe","type":"User"},` +
  `{"value":"${ID}","$ref":"${PLACEHOLDER}/Groups/${ID}","display":"","type":"Group"}],` +
  `"meta":{"resourceType":"Group","created":"${AT}","lastModified":"${AT}","location":"${PLACEHOLDER}/Groups/${ID}","version":"W/\\"2\\""}}`;

/** What a record and an audit entry hold (msgpack keeps their strings as they are: names and values match). */
const RECORD_AND_AUDIT =
  `version resource secrets password hash scrypt$ ` +
  `{"id":"${ID}","at":"${AT}","actor":{"subject":"","clientId":"","roles":["globalAdmin","helpdesk"],"system":true},` +
  `"operation":"create","operation":"replace","operation":"patch","operation":"delete","operation":"release","operation":"repair",` +
  `"resourceType":"User","resourceId":"${ID}","versionBefore":1,"versionAfter":2,` +
  `"changes":[{"attribute":"userName","before":"","after":"","masked":true},{"attribute":"members","added":1,"removed":1,"replaced":1}]}`;

/**
 * The dictionary, most frequent text last: LZ4 encodes nearer matches no cheaper, but a value's own repeats and the
 * dictionary's end share the 64 KB window, which this text is far below.
 */
export const COMPRESSION_DICTIONARY: Buffer = Buffer.from(`${RECORD_AND_AUDIT}\n${GROUP_VIEW}\n${USER_VIEW}\n`, 'utf8');
