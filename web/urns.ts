/** The URNs the page names, in a module of their own that touches no browser API (node tests import it). */
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const PROFILE = 'urn:scim-server:schemas:extension:profile:1.0:User';
export const MANAGER = `${ENTERPRISE}:manager`;
