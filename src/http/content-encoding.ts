/**
 * Compressed request bodies (RFC 9110 §8.4): a client that sends a large Bulk may compress it with `gzip`, `deflate`
 * or `br` and say so in Content-Encoding. The body is decoded as it streams in, and the route's body limit applies
 * to the decoded bytes: decoding stops the moment they pass it, so a small compressed body that would expand to
 * gigabytes (a "zip bomb") costs no more than the limit.
 */
import { Transform, type TransformCallback, type Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { errorCodes } from 'fastify';
import { errors } from '../scim/errors';

/** The codings accepted, as a 415 names them in its Accept-Encoding header (RFC 7694 §3). */
const ACCEPTED_ENCODINGS = 'gzip, deflate, br';

const DECODERS: Record<string, () => Transform> = {
  gzip: createGunzip,
  // RFC 9110 §8.4.1.3: "x-gzip" is an alias of gzip that a recipient SHOULD treat as such.
  'x-gzip': createGunzip,
  // RFC 9110 §8.4.1.2: "deflate" is the zlib data format (RFC 1950) wrapping a deflate stream.
  deflate: createInflate,
  br: createBrotliDecompress,
};

/**
 * The codings of a Content-Encoding value, in the order they were applied; identity is no coding. Undefined for a
 * body sent as it is. A coding this server cannot decode is a 415 naming the ones it can.
 */
export function codingsOf(header: string | undefined): string[] | undefined {
  if (header === undefined) return undefined;
  const codings = header
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
  if (codings.length === 0) return undefined;
  const unknown = codings.find((c) => !(c in DECODERS));
  if (unknown !== undefined) {
    throw errors.unsupportedMediaType(`Content-Encoding '${unknown}' is not accepted; send the body as it is, or in ${ACCEPTED_ENCODINGS}`, ACCEPTED_ENCODINGS);
  }
  return codings;
}

/**
 * Counts the bytes that reach it and fails once they pass `limit`, with Fastify's own body-too-large error (so each
 * route answers it as it answers an uncompressed body over its limit). `receivedEncodedLength` is what Fastify
 * compares with Content-Length: the bytes that came off the wire, not the decoded ones.
 */
class Limited extends Transform {
  receivedEncodedLength = 0;
  private decoded = 0;

  constructor(private readonly limit: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.decoded += chunk.length;
    if (this.decoded > this.limit) return callback(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
    callback(null, chunk);
  }
}

/**
 * The decoded body of a request whose Content-Encoding names `codings` (applied in that order, so undone in the
 * reverse one). A body that is not what its coding says is a 400 naming the coding.
 */
export function decodedBody(raw: Readable, codings: readonly string[], limit: number): Readable {
  const out = new Limited(limit);
  raw.on('data', (chunk: Buffer) => (out.receivedEncodedLength += chunk.length));
  const decoders = [...codings].reverse().map((coding) => {
    const stream = DECODERS[coding]!();
    stream.on('error', (e: Error) =>
      out.destroy(errors.invalidSyntax(`the request body is not valid ${coding} data (Content-Encoding: ${codings.join(', ')}): ${e.message}`)),
    );
    return stream;
  });
  // Piped rather than joined by stream.pipeline, which would destroy the request, and with it the connection the
  // error must be answered on. Once the decoded body fails (past the limit, or not valid), the decoders stop.
  decoders.reduce<Readable>((from, to) => from.pipe(to), raw).pipe(out);
  out.once('close', () => {
    raw.unpipe(decoders[0]);
    for (const d of decoders) d.destroy();
  });
  return out;
}
