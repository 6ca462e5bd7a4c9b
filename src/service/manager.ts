/**
 * The enterprise extension's `manager` reference (RFC 7643 §4.3) kept honest:
 * - `manager.value` must be the id of an existing User of this server, not the user itself, and must not close a
 *   cycle in the reporting chain;
 * - `manager.displayName` (readOnly) is filled by the server from the referenced user;
 * - deleting a user removes it as manager from everyone who reported to it, so no entry points at a missing user.
 */
import { errors } from '../scim/errors';
import type { ScimResource, StoredRecord } from '../scim/resource';
import { SCHEMA_URNS } from '../scim/schema';
import { cloneJson, isObject, JsonObject } from '../scim/values';
import { parseFilter } from '../scim/filter/parse';
import type { Store } from '../store/store';
import { SYSTEM_CALLER, type ResourceRule, type ResourceService } from './resources';

const EXT = SCHEMA_URNS.enterpriseUser;
/** Reporting chains deeper than this are refused rather than walked forever. */
const MAX_CHAIN = 256;

function managerOf(resource: JsonObject | undefined): JsonObject | undefined {
  const ext = resource?.[EXT];
  return isObject(ext) && isObject(ext.manager) ? ext.manager : undefined;
}

export function managerRule(users: ResourceService, { resources }: Store): ResourceRule {
  const schema = users.schema;

  const beforeWrite = async (next: ScimResource, current: StoredRecord | undefined): Promise<void> => {
    const manager = managerOf(next);
    if (!manager) return;
    // RFC 7643 §8.7.2 lets a client write manager.$ref. It is never stored (rendered from value for the URL the
    // client used), but it may name the manager: its last path segment is the id.
    if (typeof manager.$ref === 'string') {
      const fromRef = decodeURIComponent(manager.$ref.replace(/\/+$/, '').split('/').pop() ?? '');
      if (manager.value === undefined) manager.value = fromRef;
      else if (manager.value !== fromRef) {
        throw errors.invalidValue(`'${EXT}:manager': $ref ${JSON.stringify(manager.$ref)} and value ${JSON.stringify(manager.value)} name different users`);
      }
    }
    delete manager.$ref;
    const value = manager.value;
    if (typeof value !== 'string' || value === '') {
      throw errors.invalidValue(`'${EXT}:manager.value' is required when a manager is set`);
    }
    const before = managerOf(current?.resource);
    if (before && before.value === value && typeof before.displayName === 'string' && manager.displayName === before.displayName) return;
    if (value === next.id) throw errors.invalidValue(`'${EXT}:manager.value': a user cannot be their own manager`);
    const target = await resources.get(schema, value);
    if (!target) throw errors.invalidValue(`'${EXT}:manager.value': no User with id ${JSON.stringify(value)} exists`);
    // Walk up from the new manager: reaching this user again means the change would close a cycle.
    let cursor: ScimResource | undefined = target.resource;
    for (let depth = 0; cursor; depth++) {
      const up: unknown = managerOf(cursor)?.value;
      if (typeof up !== 'string') break;
      if (up === next.id) {
        throw errors.invalidValue(`'${EXT}:manager.value': ${value} reports (directly or not) to this user; that would make a cycle`);
      }
      if (depth >= MAX_CHAIN) throw errors.invalidValue(`'${EXT}:manager.value': the reporting chain is deeper than ${MAX_CHAIN}`);
      cursor = (await resources.get(schema, up))?.resource;
    }
    const name = target.resource.displayName;
    if (typeof name === 'string') manager.displayName = name;
    else delete manager.displayName;
  };

  /** Applies `change` to every user whose manager is `id`, paging by id so edits never shift the pages. */
  const forEachReport = async (id: string, change: (ext: JsonObject) => void): Promise<void> => {
    const filter = parseFilter(schema, `${EXT}:manager.value eq ${JSON.stringify(id)}`);
    let after: string | undefined;
    for (;;) {
      const page = await resources.query(schema, { filter, startIndex: 1, count: 100, keyset: after === undefined ? {} : { after: { id: after } } });
      for (const report of page.records) {
        try {
          const edit = (cur: StoredRecord): JsonObject => {
            const { schemas: _s, id: _i, meta: _m, ...attributes } = cloneJson(cur.resource);
            const ext = attributes[EXT];
            if (isObject(ext) && isObject(ext.manager) && ext.manager.value === id) {
              change(ext);
              if (Object.keys(ext).length === 0) delete attributes[EXT];
            }
            return attributes;
          };
          // The server's own repair of a reference, not the client's write: the rules see SYSTEM_CALLER.
          await users.write({ operation: 'repair', id: report.id, edit }, { caller: SYSTEM_CALLER });
        } catch (e) {
          // A report deleted meanwhile needs no repair.
          if (!(e instanceof Error && 'status' in e && (e as { status: number }).status === 404)) throw e;
        }
      }
      const last = page.records[page.records.length - 1];
      if (!page.more || !last) return;
      after = last.id;
    }
  };

  // Deleting a user removes it as manager from its reports (and bumps their versions).
  const afterDelete = (id: string) =>
    forEachReport(id, (ext) => {
      delete ext.manager;
    });

  // manager.displayName mirrors the manager's displayName: a rename reaches every report (and bumps its version).
  const afterWrite = async (record: StoredRecord, previous: StoredRecord): Promise<void> => {
    if (!previous || record.resource.displayName === previous.resource.displayName) return;
    const name = record.resource.displayName;
    await forEachReport(record.id, (ext) => {
      const manager = ext.manager as JsonObject;
      if (typeof name === 'string') manager.displayName = name;
      else delete manager.displayName;
    });
  };

  return { name: 'manager', beforeWrite, afterWrite, afterDelete };
}
