import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { PresenceView } from '@lilac/common';
import { io as connect, type Socket } from 'socket.io-client';
import { startTestServer, type TestServer } from './support/testServer.ts';

let server: TestServer;
let maintainerToken: string;
const sockets: Socket[] = [];
before(async () => {
  server = await startTestServer();
  maintainerToken = await server.createMember('max', 'maintainer');
});
after(async () => {
  for (const socket of sockets) socket.close();
  await server.close();
});

async function monitor(options: { token?: string; cookie?: string } = {}): Promise<Socket> {
  const socket = connect(`${server.url}/monitor`, {
    transports: ['websocket'],
    forceNew: true,
    ...(options.token !== undefined && { auth: { token: options.token } }),
    ...(options.cookie !== undefined && { extraHeaders: { cookie: options.cookie } }),
  });
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', reject);
  });
  return socket;
}

/** The next presence of `page` that satisfies `wanted`. */
function presence(socket: Socket, page: string, wanted: (view: PresenceView) => boolean): Promise<PresenceView> {
  return new Promise((resolve) => {
    const listener = (view: PresenceView) => {
      if (view.page !== page || !wanted(view)) return;
      socket.off('presence', listener);
      resolve(view);
    };
    socket.on('presence', listener);
  });
}

test('who looks at a page: signed-in members by name (token or session cookie), anonymous viewers as a count', async () => {
  const page = 'output:0c8dkw6mi9hh6gnb9kk5wkkrj1xwb3cg-hello-2.12';
  const anonymous = await monitor();
  const seenByAnonymous = presence(anonymous, page, (view) => view.anonymous === 1 && view.members.length === 0);
  anonymous.emit('presence:join', page);
  await seenByAnonymous;

  const signIn = await server.request('/api/v1/session', { method: 'POST', json: { token: maintainerToken } });
  const cookie = signIn.headers.get('set-cookie')!.split(';')[0]!;
  const browser = await monitor({ cookie });
  const both = presence(anonymous, page, (view) => view.members.join() === 'max' && view.anonymous === 1);
  browser.emit('presence:join', page);
  assert.deepEqual(await both, { page, members: ['max'], anonymous: 1 });

  const script = await monitor({ token: maintainerToken });
  const twice = presence(anonymous, page, (view) => view.anonymous === 1 && view.members.length === 1);
  script.emit('presence:join', page);
  assert.deepEqual(await twice, { page, members: ['max'], anonymous: 1 }, 'one member on two connections is named once');

  const left = presence(browser, page, (view) => view.anonymous === 0);
  anonymous.close();
  assert.deepEqual(await left, { page, members: ['max'], anonymous: 0 });
});

test("a handshake from another site's page is anonymous, whatever cookie it carries", async () => {
  const page = 'report:cross-site';
  const signIn = await server.request('/api/v1/session', { method: 'POST', json: { token: maintainerToken } });
  const cookie = signIn.headers.get('set-cookie')!.split(';')[0]!;
  const forged = connect(`${server.url}/monitor`, { transports: ['websocket'], forceNew: true, extraHeaders: { cookie, origin: 'https://evil.example' } });
  sockets.push(forged);
  await new Promise<void>((resolve) => forged.once('connect', resolve));
  const seen = presence(forged, page, () => true);
  forged.emit('presence:join', page);
  assert.deepEqual(await seen, { page, members: [], anonymous: 1 });
});

test('anything else sent on /monitor, or a page that is not one, disconnects the client', async () => {
  const socket = await monitor();
  const gone = new Promise<void>((resolve) => socket.once('disconnect', () => resolve()));
  socket.emit('presence:join', 'somewhere else entirely');
  await gone;
});

test('with LILAC_PUBLIC=false an anonymous client cannot listen; a member can', async () => {
  const closed = await startTestServer({ publicReads: false });
  try {
    const token = await closed.createMember('vic', 'viewer');
    const refused = connect(`${closed.url}/monitor`, { transports: ['websocket'], forceNew: true, reconnection: false });
    const error = await new Promise<Error>((resolve) => refused.once('connect_error', resolve));
    assert.match(error.message, /private/);
    refused.close();
    const member = connect(`${closed.url}/monitor`, { transports: ['websocket'], forceNew: true, auth: { token } });
    await new Promise<void>((resolve) => member.once('connect', resolve));
    member.close();
  } finally {
    await closed.close();
  }
});
