/**
 * The writes of one resource in this process, one after another in arrival order, with the changes that queued up
 * behind a running write taken together.
 *
 * Why: a write is answered only once it is durable, and a durable commit costs a flush. Writes to different
 * resources share flushes (the stores batch them), but writes to one resource used to wait for each other's: 50
 * concurrent PATCHes of one user, or 50 member adds to one group (Entra ID and Okta push membership in bursts), ran at
 * one flush each. Here, while a write of a resource runs, the changes that arrive for it wait in its line; when it
 * ends, all of them (up to `max`) go to the `batch` handler at once, which applies them in order, each to the result
 * of the one before, and stores the last result in one write (ResourceService.coalesce). A change that arrives when
 * the line is empty starts at once, alone: an uncontended write waits for nothing.
 *
 * Other tasks (a delete) take the line alone, in their place in the order.
 */

/** What became of one change of a batch. */
export type Settled<R> = { ok: true; value: R } | { ok: false; error: unknown };

type Job<C, R> =
  | { change: C; resolve: (value: R) => void; reject: (error: unknown) => void }
  | { task: () => Promise<unknown>; resolve: (value: unknown) => void; reject: (error: unknown) => void };

export class WriteQueue<C, R> {
  private readonly lines = new Map<string, Job<C, R>[]>();

  /**
   * @param batch applies changes of one key in order, returning what became of each (same length, same order).
   * @param max at most this many changes go to one call of `batch`.
   */
  constructor(
    private readonly batch: (key: string, changes: C[]) => Promise<Settled<R>[]>,
    private readonly max = 100,
  ) {
    if (!Number.isInteger(max) || max < 1) throw new Error(`WriteQueue: max must be a positive integer, got ${max}`);
  }

  /** Queues a change of `key`; resolves with its outcome once it (and the changes batched with it) is stored. */
  change(key: string, change: C): Promise<R> {
    return new Promise<R>((resolve, reject) => this.enqueue(key, { change, resolve, reject }));
  }

  /** Runs `task` in `key`'s line, alone. */
  task<T>(key: string, task: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => this.enqueue(key, { task, resolve: resolve as (v: unknown) => void, reject }));
  }

  /** How many keys have writes running or waiting (tests). */
  get busy(): number {
    return this.lines.size;
  }

  private enqueue(key: string, job: Job<C, R>): void {
    const line = this.lines.get(key);
    if (line) {
      line.push(job);
      return;
    }
    const fresh = [job];
    this.lines.set(key, fresh);
    void this.drain(key, fresh);
  }

  private async drain(key: string, line: Job<C, R>[]): Promise<void> {
    while (line.length > 0) {
      const first = line[0]!;
      if ('task' in first) {
        line.shift();
        try {
          first.resolve(await first.task());
        } catch (e) {
          first.reject(e);
        }
        continue;
      }
      let n = 1;
      while (n < line.length && n < this.max && 'change' in line[n]!) n++;
      const jobs = line.splice(0, n) as Extract<Job<C, R>, { change: C }>[];
      let settled: Settled<R>[];
      try {
        settled = await this.batch(
          key,
          jobs.map((j) => j.change),
        );
      } catch (e) {
        for (const j of jobs) j.reject(e);
        continue;
      }
      jobs.forEach((j, i) => {
        const s = settled[i];
        if (!s) j.reject(new Error(`WriteQueue: the batch handler settled ${settled.length} of ${jobs.length} changes`));
        else if (s.ok) j.resolve(s.value);
        else j.reject(s.error);
      });
    }
    // Synchronously after the last job's end: a job enqueued from here on starts a new line.
    this.lines.delete(key);
  }
}
