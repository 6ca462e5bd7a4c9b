/**
 * A loopback TCP proxy that can freeze: while frozen it forwards nothing in either direction and leaves new
 * connections hanging, which is what a client sees of a database process stopped with SIGSTOP or of a network
 * partition that drops packets. Engine-agnostic: it works in front of any MongoDB wire-protocol server.
 */
import net from 'node:net';
import type { Test } from 'tap';

/**
 * The one host of MONGODB_URI, for a proxy to stand in front of. Without one the test `what` is passed as skipped
 * (failed in CI, where the MongoDB run is mandatory), and undefined is returned.
 */
export function proxyTarget(t: Test, what: string): { host: string; port: number } | undefined {
  const uri = process.env.MONGODB_URI;
  const single = uri ? /^mongodb:\/\/(?:[^@/]*@)?([^:/,?]+)(?::(\d+))?\/?[^,]*$/.exec(uri) : null;
  if (!uri) {
    if (process.env.CI === 'true') t.fail('MONGODB_URI is required in CI');
    else t.pass(what, { skip: 'MONGODB_URI is not set' });
    return undefined;
  }
  if (!single) {
    t.pass(what, { skip: 'MONGODB_URI names several hosts or SRV; the proxy needs one host' });
    return undefined;
  }
  return { host: single[1]!, port: Number(single[2] ?? 27017) };
}

export interface FreezableProxy {
  port: number;
  freeze(): void;
  thaw(): void;
  /**
   * Ends every open connection from the client's side of view as a dying database does: a FIN to the client while
   * it may be writing (its next write fails with EPIPE), and the connection to the database dropped.
   */
  sever(): void;
  close(): Promise<void>;
}

export async function startFreezableProxy(target: { host: string; port: number }): Promise<FreezableProxy> {
  let frozen = false;
  const sockets = new Set<net.Socket>();
  const clients = new Map<net.Socket, () => net.Socket | undefined>();
  /** Work held back while frozen, run in order on thaw. */
  let held: (() => void)[] = [];
  const whenThawed = (fn: () => void) => (frozen ? held.push(fn) : fn());

  const server = net.createServer((client) => {
    sockets.add(client);
    let upstreamOf: net.Socket | undefined;
    clients.set(client, () => upstreamOf);
    client.on('close', () => {
      sockets.delete(client);
      clients.delete(client);
    });
    client.on('error', () => client.destroy());
    client.pause();
    whenThawed(() => {
      const upstream = net.connect(target);
      upstreamOf = upstream;
      sockets.add(upstream);
      upstream.on('close', () => {
        sockets.delete(upstream);
        client.destroy();
      });
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      const forward = (from: net.Socket, to: net.Socket) =>
        from.on('data', (chunk) => {
          if (!frozen) to.write(chunk);
          else {
            from.pause();
            held.push(() => {
              to.write(chunk);
              from.resume();
            });
          }
        });
      forward(client, upstream);
      forward(upstream, client);
      client.resume();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as net.AddressInfo;
  return {
    port: address.port,
    freeze() {
      frozen = true;
    },
    thaw() {
      frozen = false;
      const work = held;
      held = [];
      for (const fn of work) fn();
    },
    sever() {
      for (const [client, upstream] of clients) {
        client.end();
        upstream()?.destroy();
      }
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
