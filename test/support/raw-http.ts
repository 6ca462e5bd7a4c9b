/**
 * HTTP as bytes on a socket, for the tests of what clients send (test/http/clients.test.ts): every header, the HTTP
 * version, `Expect: 100-continue` and chunked bodies are exactly what the test writes, with no client library in
 * between to normalise them. The answer is read until the server closes the connection, so a request either says
 * `Connection: close` or is HTTP/1.0; `closed` tells whether the server did close it.
 */
import net from 'node:net';

export interface RawResponse {
  status: number;
  /** Header names in lower case; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: string;
  /** Interim responses before the final one (a 100 Continue). */
  interim: number[];
  /** The server ended the connection after answering. */
  closed: boolean;
}

export interface RawRequest {
  method: string;
  path: string;
  version?: '1.0' | '1.1';
  headers?: Record<string, string | number>;
  /** Sent as it is, after the head (or after the 100 Continue, with `Expect: 100-continue`). */
  body?: Buffer | string;
  /** Body in chunks with Transfer-Encoding: chunked (an empty array sends only the last chunk). */
  chunks?: (Buffer | string)[];
  timeoutMs?: number;
}

export function rawHttp(port: number, req: RawRequest): Promise<RawResponse> {
  const version = req.version ?? '1.1';
  // A header given as '' is left out (Host among them).
  const headers: Record<string, string | number> = Object.fromEntries(
    Object.entries({ Host: `127.0.0.1:${port}`, ...(req.headers ?? {}) }).filter(([, v]) => v !== ''),
  );
  const has = (name: string) => Object.keys(headers).some((h) => h.toLowerCase() === name);
  if (version === '1.1' && !has('connection')) headers.Connection = 'close';
  const body = req.body === undefined ? undefined : Buffer.from(req.body);
  if (body !== undefined && !has('content-length') && req.chunks === undefined) headers['Content-Length'] = body.length;
  if (req.chunks !== undefined) headers['Transfer-Encoding'] = 'chunked';
  const head = `${req.method} ${req.path} HTTP/${version}\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;
  const expectContinue = Object.entries(headers).some(([k, v]) => k.toLowerCase() === 'expect' && String(v).toLowerCase() === '100-continue');
  const chunked =
    req.chunks === undefined
      ? undefined
      : Buffer.concat([
          ...req.chunks.flatMap((c) => {
            const bytes = Buffer.from(c);
            return [Buffer.from(`${bytes.length.toString(16)}\r\n`), bytes, Buffer.from('\r\n')];
          }),
          Buffer.from('0\r\n\r\n'),
        ]);
  const content = chunked ?? body;

  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    let sentBody = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer to ${req.method} ${req.path} within ${req.timeoutMs ?? 30000} ms; got ${JSON.stringify(Buffer.concat(received).toString('latin1').slice(0, 300))}`));
    }, req.timeoutMs ?? 30000);
    socket.on('connect', () => {
      socket.write(head);
      if (content !== undefined && !expectContinue) {
        socket.write(content);
        sentBody = true;
      }
    });
    socket.on('data', (d) => {
      received.push(d);
      if (expectContinue && !sentBody && /^HTTP\/1\.[01] 100 /.test(Buffer.concat(received).toString('latin1'))) {
        sentBody = true;
        if (content !== undefined) socket.write(content);
      }
    });
    socket.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    socket.on('end', () => {
      clearTimeout(timer);
      socket.destroy();
      try {
        resolve({ ...parse(Buffer.concat(received), req.method === 'HEAD'), closed: true });
      } catch (e) {
        reject(e);
      }
    });
  });
}

function parse(data: Buffer, head: boolean): Omit<RawResponse, 'closed'> {
  let at = 0;
  const interim: number[] = [];
  for (;;) {
    const end = data.indexOf('\r\n\r\n', at);
    if (end < 0) throw new Error(`no complete response head in ${JSON.stringify(data.toString('latin1').slice(0, 300))}`);
    const [statusLine = '', ...lines] = data.subarray(at, end).toString('latin1').split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
    if (!status) throw new Error(`not a status line: ${statusLine}`);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    at = end + 4;
    if (status >= 100 && status < 200) {
      interim.push(status);
      continue;
    }
    let body: Buffer;
    if (head || status === 204 || status === 304) body = Buffer.alloc(0);
    else if (headers['transfer-encoding']?.toLowerCase() === 'chunked') body = dechunk(data.subarray(at));
    else if (headers['content-length'] !== undefined) body = data.subarray(at, at + Number(headers['content-length']));
    else body = data.subarray(at);
    return { status, headers, body: body.toString('utf8'), interim };
  }
}

function dechunk(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = data.indexOf('\r\n', at);
    const size = parseInt(data.subarray(at, eol).toString('latin1'), 16);
    if (!size) return Buffer.concat(parts);
    parts.push(data.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}
