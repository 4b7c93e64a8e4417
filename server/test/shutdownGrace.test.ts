import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import { startTestServer } from './support/testServer.ts';

// Browsers open connections ahead of requests they may never send; Node's server.close() waits for those until its header timeout.
test('a connection that never sends a request does not hold the shutdown', { timeout: 40_000 }, async () => {
  const server = await startTestServer();
  const { hostname, port } = new URL(server.url);
  const socket = connect(Number(port), hostname);
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  try {
    await server.close();
    await ended;
    assert.equal(socket.destroyed, true);
  } finally {
    socket.destroy();
  }
});
