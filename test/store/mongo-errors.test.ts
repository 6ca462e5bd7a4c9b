/**
 * Which errors under the MongoDB store mean "the database cannot be reached now" (503 with Retry-After, which a
 * provisioning client retries) rather than a fault of ours (500). The network errors are real ones, made by real
 * sockets: the driver lets some of them through unwrapped (a write that waited for the socket to drain rejects with
 * the socket's own EPIPE when the database died mid-write).
 */
import t from 'tap';
import net from 'node:net';
import { MongoNetworkError, MongoNetworkTimeoutError, MongoServerClosedError, MongoServerError, MongoServerSelectionError } from 'mongodb';
import { asScimError, isUnavailable } from '../../src/store/mongo/errors';
import { isScimError } from '../../src/scim/errors';

/** The error a write gets once the other side has ended the connection. */
async function writeAfterPeerEnded(): Promise<Error> {
  const server = net.createServer((s) => s.end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    return await new Promise<Error>((resolve, reject) => {
      const c = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
      c.on('error', () => undefined);
      c.on('end', () =>
        setImmediate(() =>
          c.write(Buffer.alloc(16), (err) => {
            c.destroy();
            if (err) resolve(err);
            else reject(new Error('the write succeeded'));
          }),
        ),
      );
    });
  } finally {
    server.close();
  }
}

/** The error a read gets when the other side resets the connection. */
async function resetByPeer(): Promise<Error> {
  const server = net.createServer((s) => s.resetAndDestroy());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    return await new Promise<Error>((resolve) => {
      const c = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
      c.on('error', resolve);
    });
  } finally {
    server.close();
  }
}

/** The error of connecting to a port nobody listens on. */
async function refused(): Promise<Error> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return new Promise<Error>((resolve) => net.connect(port, '127.0.0.1').on('error', resolve));
}

t.test('network errors, wrapped by the driver or not, are the database being unavailable', async (t) => {
  const epipe = await writeAfterPeerEnded();
  t.equal((epipe as NodeJS.ErrnoException).code, 'EPIPE');
  t.equal(epipe.message, 'This socket has been ended by the other party', 'the error of the report');
  const cases: { name: string; error: unknown }[] = [
    { name: 'EPIPE from a socket the database ended', error: epipe },
    { name: 'ECONNRESET', error: await resetByPeer() },
    { name: 'ECONNREFUSED', error: await refused() },
    { name: 'a MongoNetworkError', error: new MongoNetworkError('connection 3 to 127.0.0.1:27017 closed') },
    { name: 'a network timeout', error: new MongoNetworkTimeoutError('timed out') },
    { name: 'a MongoNetworkError caused by EPIPE', error: new MongoNetworkError('unexpected error writing to socket', { cause: epipe }) },
    // How the driver reports an insertMany cut off while it waited for the socket to drain (a MongoBulkWriteError,
    // a MongoServerError made from the socket's error: its code, and the error as errorResponse).
    { name: 'a server error made from the EPIPE', error: new MongoServerError(epipe as never) },
    { name: 'an error whose cause is a network error', error: new Error('while writing', { cause: new Error('deeper', { cause: epipe }) }) },
    { name: 'a server selection timeout', error: new MongoServerSelectionError('Server selection timed out after 1000 ms', { type: 'Unknown', servers: new Map(), stale: false, compatible: true, heartbeatFrequencyMS: 0, localThresholdMS: 0, setName: null, maxElectionId: null, maxSetVersion: null, commonWireVersion: 0, logicalSessionTimeoutMinutes: null } as never) },
    { name: 'a closed server', error: new MongoServerClosedError() },
    { name: 'ShutdownInProgress', error: new MongoServerError({ code: 91, errmsg: 'shutdown in progress' }) },
  ];
  for (const c of cases) {
    t.ok(isUnavailable(c.error), c.name);
    const answer = asScimError(c.error, 'create');
    t.ok(isScimError(answer), `${c.name}: a SCIM error`);
    if (isScimError(answer)) {
      t.equal(answer.status, 503, `${c.name}: 503`);
      t.equal(answer.headers['retry-after'], '5', `${c.name}: Retry-After`);
      t.equal(answer.detail, 'the database is unavailable (create); try again later', `${c.name}: detail`);
    }
  }
});

t.test('errors that are not the network stay what they are', async (t) => {
  const cases: { name: string; error: unknown }[] = [
    { name: 'a TypeError', error: new TypeError("Cannot read properties of undefined (reading 'x')") },
    { name: 'a server error of the command', error: new MongoServerError({ code: 2, errmsg: 'BadValue' }) },
    { name: 'an error with an unrelated code', error: Object.assign(new Error('no such file'), { code: 'ENOENT' }) },
    { name: 'a plain object with a network code', error: { code: 'EPIPE' } },
  ];
  for (const c of cases) {
    t.notOk(isUnavailable(c.error), c.name);
    t.equal(asScimError(c.error, 'create'), c.error, `${c.name}: passed on unchanged`);
  }
});
