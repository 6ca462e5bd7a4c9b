/** The PATCH engine (RFC 7644 §3.5.2): pure, no fastify, no mongodb. */
export { applyPatch, applyOperations } from './apply';
export type { PatchResult } from './apply';
export { parsePatchBody, operationPrefix } from './envelope';
export type { PatchOperation, PatchOpName } from './envelope';
export { toJsonPatch, elementFromFilter, pointer } from './translate';
export type { Translation } from './translate';
export { validateResource } from './validate';
export { jsonEqual, sameValue, sameElement, containsComplex } from './compare';
