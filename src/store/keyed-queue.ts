/**
 * Runs tasks with the same key one after another, in arrival order; tasks with different keys run freely.
 *
 * The MongoDB store runs the writes of one unique value (a userName) through one, so that the database sees one
 * contender per instance. (The service's writes of one resource go through ../service/write-queue.ts, which also
 * coalesces the changes queued behind a running one; the rules' afterWrite of those changes take turns through one.)
 */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<void>>();

  async run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const result = previous.then(task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(key, tail);
    try {
      return await result;
    } finally {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }
}
