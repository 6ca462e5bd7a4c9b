/**
 * Runs tasks with the same key one after another, in arrival order; tasks with different keys run freely.
 *
 * The service runs each read-modify-write of one resource through it, so on one server instance two writers of one
 * user never race: the second reads what the first wrote, and no client that sent no If-Match is ever told 409.
 * Across instances the store's version guard and the service's retries still decide. The MongoDB store runs the
 * writes of one unique value (a userName) through one, so that the database sees one contender per instance.
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
