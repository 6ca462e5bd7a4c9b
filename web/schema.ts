/**
 * The User's attributes as the server's own schemas describe them (GET /Schemas, RFC 7643 §7): the forms are built
 * from these definitions (type, multi-valued, sub-attributes, canonical values, mutability), so a field the server
 * gains shows up without a change here. Keys name top-level attributes as GET /Sections does: `title`, or an
 * extension's `urn:…:enterprise:2.0:User:department`.
 */
import { ENTERPRISE, type Json, type JsonObject, PROFILE } from './api';

export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';

/**
 * The server's own User schemas, whose attributes the page knows by name (labels, hints, row names). Any other
 * schema is an operator's (SCIM_SCHEMA_DIR): its attributes are labelled from their names and hinted with their
 * own descriptions, never mistaken for a built-in attribute of the same name.
 */
const BUILT_IN = new Set([USER_SCHEMA, ENTERPRISE, PROFILE].map((u) => u.toLowerCase()));

export function isBuiltInSchema(urn: string | undefined): boolean {
  return urn === undefined || BUILT_IN.has(urn.toLowerCase());
}

export interface AttributeDef {
  name: string;
  type: string;
  multiValued: boolean;
  description?: string;
  mutability: string;
  returned: string;
  required: boolean;
  canonicalValues?: string[];
  referenceTypes?: string[];
  subAttributes?: AttributeDef[];
  /** From one of the server's own schemas (core, enterprise, profile), not an operator's. */
  builtIn: boolean;
}

export interface Schemas {
  /** The definition of a top-level attribute by its key. */
  attribute(key: string): AttributeDef | undefined;
}

function defOf(raw: JsonObject, builtIn: boolean): AttributeDef {
  const text = (k: string) => (typeof raw[k] === 'string' ? (raw[k] as string) : undefined);
  const list = (k: string) => (Array.isArray(raw[k]) ? (raw[k] as Json[]).filter((x): x is string => typeof x === 'string') : undefined);
  return {
    name: text('name') ?? '',
    type: text('type') ?? 'string',
    multiValued: raw.multiValued === true,
    description: text('description'),
    mutability: text('mutability') ?? 'readWrite',
    returned: text('returned') ?? 'default',
    required: raw.required === true,
    canonicalValues: list('canonicalValues'),
    referenceTypes: list('referenceTypes'),
    subAttributes: Array.isArray(raw.subAttributes) ? (raw.subAttributes as JsonObject[]).map((sub) => defOf(sub, builtIn)) : undefined,
    builtIn,
  };
}

export function schemasFrom(resources: JsonObject[]): Schemas {
  const byKey = new Map<string, AttributeDef>();
  for (const schema of resources) {
    const id = typeof schema.id === 'string' ? schema.id : '';
    for (const raw of (Array.isArray(schema.attributes) ? schema.attributes : []) as JsonObject[]) {
      const def = defOf(raw, isBuiltInSchema(id));
      // Core attributes by name; extension attributes qualified by their schema's URN.
      byKey.set((id === USER_SCHEMA ? def.name : `${id}:${def.name}`).toLowerCase(), def);
    }
  }
  return { attribute: (key) => byKey.get(key.toLowerCase()) };
}

/** Splits `urn:…:User:department` into the extension URN and the attribute name; core keys have no URN. */
export function splitKey(key: string): { urn?: string; name: string } {
  if (!key.startsWith('urn:')) return { name: key };
  const i = key.lastIndexOf(':');
  return { urn: key.slice(0, i), name: key.slice(i + 1) };
}

/** A top-level attribute's value in a resource. */
export function valueOf(resource: JsonObject | undefined, key: string): Json | undefined {
  const { urn, name } = splitKey(key);
  const holder = urn ? resource?.[urn] : resource;
  if (holder === null || typeof holder !== 'object' || Array.isArray(holder)) return undefined;
  // Attribute names are case-insensitive (RFC 7643 §2.1); the server answers in the schema's case.
  return holder[name] ?? holder[Object.keys(holder).find((k) => k.toLowerCase() === name.toLowerCase()) ?? ''];
}

const LABELS: Record<string, string> = {
  userName: 'User name (sign-in)',
  displayName: 'Display name',
  nickName: 'Nickname',
  profileUrl: 'Profile URL',
  userType: 'User type',
  preferredLanguage: 'Preferred language',
  timezone: 'Time zone',
  active: 'Active (may sign in)',
  emails: 'Emails',
  phoneNumbers: 'Phone numbers',
  ims: 'Instant messaging',
  photos: 'Photos',
  x509Certificates: 'X.509 certificates',
  externalId: 'External id',
  usageLocation: 'Usage location',
  authentication: 'Authentication contact',
  phoneNumber: 'Phone number',
  alternatePhoneNumber: 'Alternate phone number',
  email: 'Email',
  formatted: 'Formatted',
  givenName: 'Given name',
  familyName: 'Family name',
  middleName: 'Middle name',
  honorificPrefix: 'Honorific prefix',
  honorificSuffix: 'Honorific suffix',
  streetAddress: 'Street address',
  postalCode: 'Postal code',
  employeeNumber: 'Employee number',
  costCenter: 'Cost center',
  value: 'Value',
};

/**
 * A readable label for an attribute name: a known one, or its camelCase split into words. `builtIn` false (an
 * operator's attribute): always the split name, so an operator's `userName` is not labelled as the sign-in name.
 */
export function labelOf(name: string, builtIn = true): string {
  const known = builtIn && Object.hasOwn(LABELS, name) ? LABELS[name] : undefined;
  if (known) return known;
  const words = name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The label of a top-level attribute key (an extension's without its URN). */
export function labelOfKey(key: string): string {
  const { urn, name } = splitKey(key);
  return labelOf(name, isBuiltInSchema(urn));
}

/**
 * Short hints for the fields that need one. The schemas' own descriptions are written for implementers (RFC 7643's
 * "Each User MUST include a non-empty userName value…"), too long to sit under every field.
 */
const HINTS: Record<string, string> = {
  userName: 'Unique in the directory: what the person signs in with.',
  displayName: 'The name shown to others.',
  profileUrl: 'A link to the person’s page (https://…).',
  active: 'Cleared: the person is blocked and cannot sign in.',
  preferredLanguage: 'A language tag, e.g. en-US.',
  locale: 'For dates and numbers, e.g. en-US.',
  timezone: 'An IANA time zone, e.g. Europe/Berlin.',
  usageLocation: 'A two-letter country code, e.g. DE.',
  phoneNumber: 'In international form, e.g. +1 425 555 0100.',
  alternatePhoneNumber: 'In international form, e.g. +1 425 555 0100.',
  email: 'An address that still reaches the person when they cannot sign in.',
  externalId: 'The identity provider’s own id for this user.',
};

/**
 * The hint under a field, if it has one: a built-in attribute's from the list above; an operator's is its schema's
 * own description, which its operator wrote for the people filling it in.
 */
export function hintOf(def: AttributeDef): string | undefined {
  if (!def.builtIn) return def.description?.trim() || undefined;
  return Object.hasOwn(HINTS, def.name) ? HINTS[def.name] : undefined;
}

const SECTION_NAMES: Record<string, string> = {
  photo: 'Photo',
  identity: 'Identity',
  jobInfo: 'Job info',
  settings: 'Settings',
  preferences: 'Preferences',
  contact: 'Contact info',
  authContact: 'Authentication contact info',
  account: 'Account',
};

/** A section's heading: a built-in section's name, or an operator's section name split into words (`employment`: Employment). */
export function sectionName(name: string): string {
  return (Object.hasOwn(SECTION_NAMES, name) ? SECTION_NAMES[name] : undefined) ?? labelOf(name, false);
}

/** A sub-attribute a person edits: not readOnly, and not `$ref`, which the server derives from `value`. */
export function editableSubs(def: AttributeDef): AttributeDef[] {
  return (def.subAttributes ?? []).filter((s) => s.mutability !== 'readOnly' && s.name !== '$ref');
}

/** A single reference to another User (the enterprise manager): shown as a link, edited by picking a user. */
export function isUserReference(def: AttributeDef): boolean {
  return (
    def.type === 'complex' &&
    !def.multiValued &&
    (def.subAttributes ?? []).some((s) => s.name === '$ref' && (s.referenceTypes ?? []).includes('User')) &&
    editableSubs(def).every((s) => s.name === 'value')
  );
}
