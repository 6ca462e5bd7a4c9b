/**
 * A range of an LMDB database read a slice at a time, with the event loop free in between (../../turns.ts): each
 * slice is a range read afresh from where the last one ended, so no read transaction is held across turns; an
 * entry written meanwhile is met or not as it sorts, and none is read twice. Deep pages, index ranges, a group's
 * members and a page of the audit trail read this way.
 */
import { turn, type Turns } from '../../turns';

/** Two keys of the same range are the same entry (the ids are unique in it, so the last element decides). */
const sameKey = (a: readonly unknown[], b: readonly unknown[]) => a.length === b.length && a.every((v, i) => v === b[i]);

export interface SliceRange {
  start: readonly unknown[];
  end: readonly unknown[];
  reverse?: boolean;
}

/**
 * The items `read` gives for the range, `size` at a time. `keyOf` tells an item's key (the next slice starts
 * there, that item left out). Between slices: a turn of the event loop when `turns` is due, or always without one.
 */
export async function* rangeSlices<T>(
  read: (range: { start: unknown; end: unknown; reverse?: boolean; limit: number }) => Iterable<T>,
  keyOf: (item: T) => readonly unknown[],
  range: SliceRange,
  size: number,
  turns?: Turns,
): AsyncGenerator<T[]> {
  let start = range.start;
  let after: readonly unknown[] | undefined;
  for (;;) {
    const items: T[] = [];
    for (const item of read({ start, end: range.end, reverse: range.reverse, limit: size + (after ? 1 : 0) })) {
      if (after && items.length === 0 && sameKey(keyOf(item), after)) continue;
      items.push(item);
    }
    if (items.length > 0) yield items;
    if (items.length < size) return;
    start = after = keyOf(items[items.length - 1]!);
    if (!turns) await turn();
    else if (turns.due()) await turns.next();
  }
}

/** The keys of a range, `size` at a time (rangeSlices over getKeys). */
export function keyChunks(
  getKeys: (range: { start: unknown; end: unknown; reverse?: boolean; limit: number }) => Iterable<unknown>,
  range: SliceRange,
  size: number,
  turns?: Turns,
): AsyncGenerator<unknown[][]> {
  return rangeSlices(getKeys as (range: { start: unknown; end: unknown; reverse?: boolean; limit: number }) => Iterable<unknown[]>, (key) => key, range, size, turns);
}
