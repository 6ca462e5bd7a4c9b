/** How many turns of the event loop `work` gave away while it ran: a callback that re-queues itself runs once per turn. */
export async function turnsDuring<T>(work: () => Promise<T>): Promise<{ result: T; turns: number }> {
  let turns = 0;
  let running = true;
  const spin = () => {
    turns++;
    if (running) setImmediate(spin);
  };
  setImmediate(spin);
  const result = await work();
  running = false;
  // The first run of spin is the turn it was queued in, not one the work gave away.
  return { result, turns: Math.max(0, turns - 1) };
}
