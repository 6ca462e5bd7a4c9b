/**
 * Where each client's walk by startIndex stands, so that its next page is read from a position instead of by
 * skipping every resource before it.
 *
 * Okta imports (and many HR tools read) a directory by index: startIndex=1, then 101, 201, ... to the end. Read by
 * skipping, page k costs k pages, and a walk of n resources costs n²/2 — at a million users the late pages pass the
 * database deadline. A walk's next page starts where its previous page ended, though, and that place is known: the
 * sort key (sort value and id, ../store/sort.ts) of the previous page's last resource. Continuing after that key is a
 * keyset read (the one cursor paging uses, RFC 9865), whose cost is the page's own.
 *
 * A position is a hint, never trusted beyond what it is:
 *  - It is the caller's own: kept per caller (the token's subject and client) and per query (resource type, filter,
 *    sortBy, sortOrder), and used only for the startIndex where that caller's previous page of that query ended (or
 *    for the same page again, a retry). Any other startIndex is answered by skipping, as without hints; so is a
 *    walk whose requests go to several instances (hints live in the instance that served the previous page).
 *  - It is a key, not an offset: the next page is "the resources after the last one you were given", which is
 *    what the offset means when nothing changed in between. When resources are created or deleted during a walk,
 *    RFC 7644 §3.4.2.4 lets the results change between requests ("Since pagination is not stateful, clients MUST
 *    be prepared to handle inconsistent results"), and reading by key is the change a walker can live with: a resource
 *    that exists throughout and keeps its sort value is returned exactly once (skipping would return one twice after a
 *    create before the position, and leave one out after a delete); one created behind the position is not seen
 *    by this walk, one created ahead of it is.
 *  - It expires (the cursor timeout): a client that comes back later starts from what the directory is then.
 *
 * Bounded: at most `max` walks are remembered, the least recently used going first.
 */
import type { SortKey } from '../store/sort';

interface Walk {
  /** The page before `next`, again: a client's retry of the page it did not get. */
  retry?: { startIndex: number; after: SortKey | undefined };
  /** Where the walk continues: the startIndex just past its previous page, and the key of that page's last result. */
  next: { startIndex: number; after: SortKey };
  expires: number;
}

export interface PageWalksOptions {
  /** Walks remembered at most. */
  max?: number;
  /** Seconds a walk is remembered after its last page. */
  ttlSeconds: number;
  now?: () => number;
}

/** What a walk says of a page: read it after this key (`undefined`: from the start), or by skipping (`null`). */
export type WalkPosition = { after: SortKey | undefined } | null;

export class PageWalks {
  private readonly walks = new Map<string, Walk>();
  private readonly max: number;
  private readonly ttl: number;
  private readonly now: () => number;

  constructor(opts: PageWalksOptions) {
    this.max = opts.max ?? 10_000;
    this.ttl = opts.ttlSeconds * 1000;
    this.now = opts.now ?? Date.now;
  }

  /** Where page `startIndex` of this walk starts, if the walk's previous page (or this one, before) said. */
  position(walk: string, startIndex: number): WalkPosition {
    const w = this.walks.get(walk);
    if (!w) return null;
    if (w.expires <= this.now()) {
      this.walks.delete(walk);
      return null;
    }
    if (w.next.startIndex === startIndex) return { after: w.next.after };
    if (w.retry?.startIndex === startIndex) return { after: w.retry.after };
    return null;
  }

  /**
   * A page was served: `startIndex` read from `from` (its position, or `null` when read by skipping), holding
   * `length` results, the last with key `last`. An empty page ends nothing and starts nothing.
   */
  served(walk: string, startIndex: number, from: WalkPosition, length: number, last: SortKey | undefined): void {
    if (length === 0 || last === undefined) return;
    // A page read by skipping is not a retry target with a key (its start is not known as a key): its retry skips.
    const retry = from ? { startIndex, after: from.after } : undefined;
    this.walks.delete(walk); // re-inserted: the map's order is the least recently used first
    this.walks.set(walk, { retry, next: { startIndex: startIndex + length, after: last }, expires: this.now() + this.ttl });
    while (this.walks.size > this.max) this.walks.delete(this.walks.keys().next().value!);
  }

  /** Walks remembered now (metrics, tests). */
  get size(): number {
    return this.walks.size;
  }
}
