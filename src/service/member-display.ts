/**
 * A member's `display` in its groups (Group.members.display, readOnly) follows the member: when a user's or a
 * group's displayName (a user without one: its userName) changes, every group that holds it shows the new name.
 * The pairs are updated in place (MembershipStore.renameMember), one per group the member is in; the groups' versions do not
 * change, as `display` is not the client's data.
 */
import { displayOf } from './memberships';
import type { StoredRecord } from '../scim/resource';
import type { Store } from '../store/store';
import type { ResourceRule, ResourceService } from './resources';

export function memberDisplayRule(service: ResourceService, store: Store): ResourceRule {
  const type = service.schema.type.id === 'Group' ? 'Group' : 'User';
  const afterWrite = async (record: StoredRecord, previous: StoredRecord): Promise<void> => {
    const now = displayOf(record.resource, type);
    if (now === displayOf(previous.resource, type)) return;
    // The store flags a resource in some group when it reads it: one in none has no pair to update.
    if (!record.member && !previous.member) return;
    await store.memberships.renameMember(record.id, now);
  };
  return { name: 'member display', afterWrite };
}
