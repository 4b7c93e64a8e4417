import assert from 'node:assert/strict';
import { connect, type Socket as NetSocket } from 'node:net';
import { after, before, test } from 'node:test';
import { io as connectSocketIo, type Socket } from 'socket.io-client';
import { startTestServer, type TestServer } from './support/testServer.ts';

/** Generous: how long a test waits for the server to act on a limit that is set to a second or less. */
const PATIENCE_MS = 20_000;

let server: TestServer;
before(async () => {
  server = await startTestServer({ requestTimeoutMs: 1000, headersTimeoutMs: 500, maxConnections: 4, socketMessageLimitBytes: 4096 });
});
after(() => server.close());

interface RawConnection {
  readonly socket: NetSocket;
  /** Everything the server sent until it closed the connection, or null when it still held it after PATIENCE_MS. */
  readonly closed: Promise<string | null>;
}

/** A TCP connection to the server, watched from its first moment: the server may close it before it is used. */
function rawConnection(): Promise<RawConnection> {
  const { port } = new URL(server.url);
  const socket = connect(Number(port), '127.0.0.1');
  const closed = new Promise<string | null>((resolve) => {
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(null);
    }, PATIENCE_MS);
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
  });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve({ socket, closed }));
    socket.once('error', reject);
  });
}

test('a body trickled slower than the request timeout is answered 408 and the connection closed', async () => {
  const { token } = await server.createBuilder('slow');
  const { socket, closed } = await rawConnection();
  socket.write(`POST /api/v1/attestations HTTP/1.1\r\nHost: lilac\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n[`);
  const answer = await closed;
  assert.notEqual(answer, null, 'the server still held the connection');
  assert.match(answer ?? '', /^HTTP\/1\.1 408 /);
});

test('headers never finished are answered 408 and the connection closed', async () => {
  const { socket, closed } = await rawConnection();
  socket.write('GET /healthz HTTP/1.1\r\nHost: lilac\r\n');
  const answer = await closed;
  assert.notEqual(answer, null, 'the server still held the connection');
  assert.match(answer ?? '', /^HTTP\/1\.1 408 /);
});

test('connections beyond the cap are closed at once, and served again once one is free', async () => {
  const held = await Promise.all(Array.from({ length: 4 }, () => rawConnection()));
  // An idle connection is held until the keep-alive timeout; these four keep the server at its cap.
  for (const { socket } of held) socket.write('GET /healthz HTTP/1.1\r\nHost: lilac\r\n\r\n');
  const refused = await rawConnection();
  assert.equal(await refused.closed, '', 'closed without an answer');
  for (const { socket } of held) socket.destroy();
  // The server counts a connection gone once it saw it close; ask until it has.
  let answer: string | null = '';
  for (let attempt = 0; attempt < 100 && !answer?.startsWith('HTTP/1.1 200 '); attempt++) {
    const next = await rawConnection();
    next.socket.write('GET /healthz HTTP/1.1\r\nHost: lilac\r\nConnection: close\r\n\r\n');
    answer = await next.closed;
  }
  assert.match(answer ?? '', /^HTTP\/1\.1 200 /);
});

function monitorClient(): Promise<Socket> {
  const socket = connectSocketIo(`${server.url}/monitor`, { transports: ['websocket'], reconnection: false });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

function disconnectReason(socket: Socket): Promise<string> {
  return new Promise((resolve) => socket.once('disconnect', resolve));
}

test('a Socket.IO message over the limit closes the connection that sent it', { timeout: PATIENCE_MS }, async () => {
  const socket = await monitorClient();
  const reason = disconnectReason(socket);
  socket.emit('anything', 'x'.repeat(8192));
  assert.equal(await reason, 'transport close');
});

test('/monitor only listens: a client that sends anything is disconnected', { timeout: PATIENCE_MS }, async () => {
  const socket = await monitorClient();
  const reason = disconnectReason(socket);
  socket.emit('attestation', { small: true });
  assert.equal(await reason, 'io server disconnect');
});
