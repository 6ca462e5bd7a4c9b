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
