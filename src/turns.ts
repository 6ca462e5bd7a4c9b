/**
 * Long work done in slices, giving the event loop back between them: no request may hold the loop long enough to
 * delay the others (a 100,000-member group read, a scan of a million records). A slice ends once it has run
 * `budgetMs`; checking costs one clock read, so loops call `due()` on every item and `await next()` only when due.
 */
export const SLICE_BUDGET_MS = 4;

/** One turn of the event loop: timers, I/O and other requests run before the caller goes on. */
export const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class Turns {
  private started = performance.now();

  constructor(private readonly budgetMs = SLICE_BUDGET_MS) {}

  /** Whether the current slice has used its budget. */
  due(): boolean {
    return performance.now() - this.started >= this.budgetMs;
  }

  /** Gives the event loop one turn and starts a new slice. */
  async next(): Promise<void> {
    await turn();
    this.started = performance.now();
  }
}

/** Items sorted per run before runs are merged: a run of 4,096 sorts in about a millisecond. */
const RUN = 4096;

/**
 * Sorts `items` in place, as Array.prototype.sort would with `compare` (stable), giving the event loop back whenever
 * a slice of `turns` is due: sorted runs, then passes that merge neighbouring runs. A million items sorted in one
 * call hold the loop for over a second; this way they take a little longer and hold it for a few milliseconds.
 */
export async function sortInTurns<T>(items: T[], compare: (a: T, b: T) => number, turns: Turns): Promise<void> {
  if (items.length <= RUN) {
    items.sort(compare);
    return;
  }
  for (let i = 0; i < items.length; i += RUN) {
    const run = items.slice(i, i + RUN).sort(compare);
    for (let j = 0; j < run.length; j++) items[i + j] = run[j]!;
    if (turns.due()) await turns.next();
  }
  let from = items;
  let to: T[] = new Array<T>(items.length);
  for (let width = RUN; width < items.length; width *= 2) {
    for (let lo = 0; lo < items.length; lo += 2 * width) {
      const mid = Math.min(lo + width, items.length);
      const hi = Math.min(lo + 2 * width, items.length);
      let a = lo;
      let b = mid;
      for (let k = lo; k < hi; k++) {
        // Stable: on a tie the left run's item goes first.
        if (a < mid && (b >= hi || compare(from[a]!, from[b]!) <= 0)) to[k] = from[a++]!;
        else to[k] = from[b++]!;
        if ((k & 1023) === 0 && turns.due()) await turns.next();
      }
    }
    [from, to] = [to, from];
  }
  if (from !== items) for (let k = 0; k < items.length; k++) items[k] = from[k]!;
}
