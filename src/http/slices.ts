/**
 * A response whose one array is long (an audit page of 1,000 entries, each a create's every attribute: a megabyte of
 * JSON), sent as a stream: the envelope's JSON, then the array's items made into JSON a slice at a time with the
 * event loop free between slices, and the socket's backpressure respected (Readable.from). The bytes are those of
 * JSON.stringify({ ...envelope, [name]: items.map(render) }) with `name` last; the body goes out chunked.
 */
import { Readable } from 'node:stream';
import { Turns } from '../turns';
import type { JsonObject } from '../scim/values';

/** Arrays longer than this are worth streaming: below it, one JSON.stringify is a fraction of a millisecond. */
export const STREAM_FROM = 100;

export function jsonInSlices<T>(envelope: JsonObject, name: string, items: readonly T[], render: (item: T) => unknown): Readable {
  const head = JSON.stringify(envelope);
  async function* body(): AsyncGenerator<string> {
    const turns = new Turns();
    let chunk = `${head.slice(0, -1)}${head.length > 2 ? ',' : ''}${JSON.stringify(name)}:[`;
    for (let i = 0; i < items.length; i++) {
      chunk += `${i > 0 ? ',' : ''}${JSON.stringify(render(items[i]!))}`;
      if (turns.due()) {
        yield chunk;
        chunk = '';
        await turns.next();
      }
    }
    yield `${chunk}]}`;
  }
  return Readable.from(body(), { objectMode: false });
}
