/**
 * Which media type an answer is sent as (RFC 7644 §3.8): "Service providers MUST support the accept header
 * "Accept: application/scim+json" and SHOULD support the header "Accept: application/json", both of which MUST
 * result in SCIM behavior". The content is the same either way; only the Content-Type differs.
 */

export type AnswerType = 'scim' | 'json';

const SCIM = 'application/scim+json';
const JSON_TYPE = 'application/json';

/** How much a media range (RFC 9110 §12.5.1) likes `type`: its specificity (-1: no match) and its weight. */
function rangeFor(range: string, type: string): { specificity: number; q: number } {
  const [name = '', ...params] = range.split(';');
  const media = name.trim().toLowerCase();
  let q = 1;
  for (const p of params) {
    const [k, v] = p.split('=');
    if (k?.trim().toLowerCase() === 'q') {
      const n = Number(v?.trim());
      q = Number.isFinite(n) ? Math.min(1, Math.max(0, n)) : 1;
    }
  }
  if (media === type) return { specificity: 2, q };
  if (media === 'application/*') return { specificity: 1, q };
  if (media === '*/*' || media === '*') return { specificity: 0, q };
  return { specificity: -1, q: 0 };
}

/** The weight the Accept header gives `type`: that of the most specific range matching it (RFC 9110 §12.5.1). */
function weightOf(ranges: readonly string[], type: string): number {
  let best = { specificity: -1, q: 0 };
  for (const range of ranges) {
    const r = rangeFor(range, type);
    if (r.specificity > best.specificity) best = r;
  }
  return best.q;
}

/**
 * `json` when the client prefers application/json to application/scim+json (a script that asked for
 * `application/json` alone, as PowerShell and generic REST clients do, so that they parse the answer); `scim`
 * otherwise, including a tie. An Accept that allows neither is disregarded rather than answered 406 (RFC 9110
 * §12.5.1 allows either): every answer here is JSON, and a client with an unusual Accept (`text/html`, `text/plain`)
 * can still read it, where a 406 would end its provisioning run.
 */
export function answerType(accept: string | undefined): AnswerType {
  if (accept === undefined || !accept.includes('json')) return 'scim';
  // The header of nearly every SCIM client, decided without parsing.
  if (accept.includes(SCIM) && !accept.includes('q=')) return 'scim';
  const ranges = accept.split(',');
  return weightOf(ranges, JSON_TYPE) > weightOf(ranges, SCIM) ? 'json' : 'scim';
}
