/**
 * Bounds on the work one request may ask for. A SCIM client is trusted to write, not to stall the server: without
 * these, one PATCH of 10,000 operations or one value list of 30,000 emails held the event loop for minutes, and
 * every other client waited. The defaults sit far above what Entra ID, Okta or an HR feed send; each is a
 * setting (config.ts), and each refusal names the bound and its setting so an operator knows what to raise.
 *
 * bench/hardening.ts holds the CPU budget: at these defaults no request costs more than 100 ms of CPU.
 */
export interface Limits {
  /** Operations in one PATCH request (SCIM_MAX_PATCH_OPERATIONS). Over it: 413. */
  patchOperations: number;
  /** Values one multi-valued attribute may hold after a write, and values one request may give it (SCIM_MAX_VALUES). */
  valuesPerAttribute: number;
  /** Characters in a filter (SCIM_MAX_FILTER_LENGTH). */
  filterLength: number;
  /** Comparisons (attribute expressions, `pr` included) in a filter, value filters counted inside (SCIM_MAX_FILTER_NODES). */
  filterNodes: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  patchOperations: 1000,
  valuesPerAttribute: 1000,
  filterLength: 8192,
  filterNodes: 200,
});

/** The environment variable behind each bound, for error details. */
export const LIMIT_SETTINGS: Readonly<Record<keyof Limits, string>> = Object.freeze({
  patchOperations: 'SCIM_MAX_PATCH_OPERATIONS',
  valuesPerAttribute: 'SCIM_MAX_VALUES',
  filterLength: 'SCIM_MAX_FILTER_LENGTH',
  filterNodes: 'SCIM_MAX_FILTER_NODES',
});
