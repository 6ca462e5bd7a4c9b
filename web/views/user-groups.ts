/**
 * A profile's "Groups" section: the groups the user is in, each with Remove, and a picker to add the user to one.
 *
 * A user's `groups` is readOnly (RFC 7643 §4.1.2): membership is changed on the group. So each change is one PATCH
 * of the group (`add` of the user to `members`, or `remove` of `members[value eq "<user>"]`) with If-Match, whose
 * ETag is read just before from the group itself (`attributes=id`: the version, never the group's members). A 412
 * then means the group changed between the two: shown, not retried. Afterwards the user's groups are read again,
 * since a change may also add or remove indirect memberships (groups nested in others).
 */
import { ApiError, type JsonObject, literal, PATCH_OP } from '../api';
import { announce, focusHeading, h, uid } from '../dom';
import { groupLink, isObject } from '../display';
import { type Pick, picker } from '../picker';
import { errorText, type ViewContext } from './common';
import { mayWriteGroups } from './group';

interface Membership {
  id: string;
  name: string;
  direct: boolean;
}

function membershipsOf(user: JsonObject): Membership[] {
  return (Array.isArray(user.groups) ? user.groups : [])
    .filter(isObject)
    .filter((g) => typeof g.value === 'string')
    .map((g) => ({ id: String(g.value), name: typeof g.display === 'string' && g.display !== '' ? g.display : String(g.value), direct: g.type !== 'indirect' }));
}

/** The section, which reads the user's groups itself; the profile mounts it (`userGroupsSection(ctx, id)`). */
export function userGroupsSection(ctx: ViewContext, userId: string): HTMLElement {
  const headingId = uid('groups-h');
  const heading = h('h2', { id: headingId }, 'Groups');
  const list = h('ul', { class: 'user-groups', 'aria-labelledby': headingId });
  const status = h('p', { class: 'summary', tabindex: -1 }, 'Loading…');
  const message = h('div', { class: 'user-groups-message' });
  const writable = mayWriteGroups(ctx);
  const api = ctx.session.api;
  const userPath = `/Users/${encodeURIComponent(userId)}`;
  let groups: Membership[] = [];
  /** The last change's error, shown at its control until the next change. */
  let lastError: HTMLElement | undefined;

  const section = h('section', { class: 'section user-groups-section', 'aria-labelledby': headingId, id: 'section-groups' }, h('div', { class: 'section-head' }, heading), message, status, list);

  const draw = () => {
    const direct = groups.filter((g) => g.direct).length;
    const indirect = groups.length - direct;
    status.textContent =
      groups.length === 0
        ? 'Not a member of any group.'
        : `A member of ${direct} ${direct === 1 ? 'group' : 'groups'}${indirect > 0 ? `, and of ${indirect} more through nested groups` : ''}.`;
    list.replaceChildren(
      ...groups.map((g) =>
        h(
          'li',
          null,
          groupLink(g.id, g.name),
          g.direct ? null : h('span', { class: 'muted' }, ' (through a nested group)'),
          writable && g.direct
            ? [
                ' ',
                h(
                  'button',
                  {
                    type: 'button',
                    class: 'secondary small',
                    'data-group': g.id,
                    'aria-label': `Remove from ${g.name}`,
                    onclick: (e: Event) => void change('remove', g, e.currentTarget as HTMLButtonElement),
                  },
                  'Remove',
                ),
              ]
            : null,
        ),
      ),
    );
  };

  const read = async () => {
    const { body } = await api.get(userPath, { attributes: 'groups' });
    groups = membershipsOf(body);
  };

  /** One change of one group's members: its ETag read, then one PATCH with If-Match. */
  const change = async (op: 'add' | 'remove', g: { id: string; name: string }, control?: HTMLButtonElement) => {
    message.replaceChildren();
    lastError?.remove();
    if (control) control.disabled = true;
    pick?.disable(true);
    const groupPath = `/Groups/${encodeURIComponent(g.id)}`;
    try {
      const { etag } = await api.get(groupPath, { attributes: 'id' });
      const operation = op === 'add' ? { op: 'add', path: 'members', value: [{ value: userId }] } : { op: 'remove', path: `members[value eq ${literal(userId)}]` };
      await api.request('PATCH', groupPath, { query: { attributes: 'id' }, body: { schemas: [PATCH_OP], Operations: [operation] }, ifMatch: etag });
      if (!ctx.live()) return;
      await read();
      if (!ctx.live()) return;
      draw();
      announce(op === 'add' ? `Added to ${g.name}.` : `Removed from ${g.name}.`);
      // Focus stays where the person was: the picker after an add, the list's next Remove (or the count) after one.
      if (op === 'add') pick?.input.focus();
      else {
        const next = list.querySelector<HTMLElement>('button');
        if (next) next.focus();
        else focusHeading(status);
      }
    } catch (e) {
      if (!ctx.live()) return;
      if (control?.isConnected) control.disabled = false;
      const what = op === 'add' ? `Not added to ${g.name}` : `Not removed from ${g.name}`;
      if (e instanceof ApiError && e.status === 412) {
        const reload = h(
          'button',
          {
            type: 'button',
            onclick: async () => {
              message.replaceChildren();
              try {
                await read();
                if (ctx.live()) draw();
                focusHeading(status);
              } catch (err) {
                message.replaceChildren(h('div', { class: 'alert error', role: 'alert' }, h('p', null, `The groups could not be read: ${errorText(err)}`)));
              }
            },
          },
          'Reload the groups',
        );
        message.replaceChildren(
          h(
            'div',
            { class: 'conflict alert warning', role: 'alert' },
            h('p', null, `${what}: the group “${g.name}” was changed by someone else meanwhile. Nothing was changed. Reload the groups and try again if it is still needed.`),
            h('div', { class: 'actions' }, reload),
          ),
        );
        reload.focus();
        return;
      }
      const error = h('div', { class: 'alert error', role: 'alert' }, h('p', null, `${what}: ${errorText(e)}`));
      lastError = error;
      // At the control: under the group's row for a removal, under the picker for an add.
      if (control?.isConnected) control.closest('li')?.append(error);
      else if (pick) pick.element.after(error);
      else message.replaceChildren(error);
      if (op === 'add') pick?.input.focus();
    } finally {
      pick?.disable(false);
    }
  };

  const pick = writable
    ? picker({
        api,
        kind: 'groups',
        label: 'Add to a group',
        hint: 'Type part of a group’s name; the arrow keys and Enter add the user to the group chosen.',
        unavailable: (p: Pick) => (groups.some((g) => g.id === p.id && g.direct) ? 'already a member' : undefined),
        onPick: (p: Pick) => void change('add', { id: p.id, name: p.name }),
      })
    : undefined;
  if (pick) section.append(pick.element);

  read()
    .then(() => {
      if (ctx.live()) draw();
    })
    .catch((e: unknown) => {
      if (!ctx.live()) return;
      status.replaceChildren(h('span', { class: 'alert error', role: 'alert' }, `The groups could not be read: ${errorText(e)}`));
    });
  return section;
}
