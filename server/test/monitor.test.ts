import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { BuilderView, MonitorAttestation, MonitorEvents, VerdictChange } from '@lilac/common';
import { io as connect, type Socket } from 'socket.io-client';
import { batchItem, drvHash, drvPath, lilaItem, narHash, storePath } from './support/attestationFixtures.ts';
import { startTestServer, type TestServer } from './support/testServer.ts';

/** The next payload of `event` on the socket. */
function next(socket: Socket, event: string): Promise<unknown> {
  return new Promise((resolve) => socket.once(event, resolve));
}

/** Every list `event` brings until the lists, together, held an item for each of `outPaths`; the items for them in the order heard. */
function gathered<T>(socket: Socket, event: 'attestations' | 'verdicts', outPaths: readonly string[], pathOf: (item: T) => string): Promise<{ messages: number; items: T[] }> {
  const wanted = new Set(outPaths);
  const items: T[] = [];
  let messages = 0;
  return new Promise((resolve) => {
    const listener = (list: T[]) => {
      const mine = list.filter((item) => wanted.has(pathOf(item)));
      if (mine.length === 0) return;
      messages += 1;
      items.push(...mine);
      if (items.length < wanted.size) return;
      socket.off(event, listener);
      resolve({ messages, items });
    };
    socket.on(event, listener);
  });
}

let server: TestServer;
let monitor: Socket;
before(async () => {
  server = await startTestServer();
  monitor = connect(`${server.url}/monitor`, { transports: ['websocket'] });
  await next(monitor, 'connect');
});
after(async () => {
  monitor.disconnect();
  await server.close();
});

test('anyone connected to /monitor hears every bus event as it is published', async () => {
  const stats: MonitorEvents['pool:stats'] = { queued: 3, claimed: 1, done: 2, failed: 0, cancelled: 0 };
  const heard = next(monitor, 'pool:stats');
  server.context.events.publish('pool:stats', stats);
  assert.deepEqual(await heard, stats);

  const online = next(monitor, 'builder:online');
  server.context.presence.connected('alice', 'socket-1');
  assert.deepEqual(await online, { builder: 'alice' });
  const offline = next(monitor, 'builder:offline');
  server.context.presence.disconnected('alice', 'socket-1');
  assert.deepEqual(await offline, { builder: 'alice' });
});

test('the builders list shows keys, attestation counts and who is online', async () => {
  const bob = await server.createBuilder('bob');
  await server.createBuilder('carol');
  const outPath = storePath('hello-2.12');
  const submitted = await server.request(`/attestation/${drvHash(drvPath('hello-2.12'))}`, {
    method: 'POST',
    token: bob.token,
    json: [lilaItem(bob, { outPath, narHash: narHash('hello-2.12') }, { output_sig: 'bob-1:not-a-signature' })],
  });
  assert.equal(submitted.status, 200, await submitted.clone().text());
  server.context.presence.connected('carol', 'socket-2');
  const response = await server.request('/api/v1/builders');
  assert.equal(response.status, 200);
  const builders = (await response.json()) as BuilderView[];
  const byName = new Map(builders.map((builder) => [builder.name, builder]));
  const { lastSeenAt, ...listed } = byName.get('bob') ?? {};
  assert.deepEqual(listed, { name: 'bob', keys: [bob.publicKey], attestations: 1, online: false }, 'an attestation counts whatever its signature');
  assert.equal(typeof lastSeenAt, 'string');
  assert.equal(byName.get('carol')?.online, true);
  assert.equal(byName.get('carol')?.attestations, 0);
  server.context.presence.disconnected('carol', 'socket-2');
});

test('API paths answer JSON 404s to browsers instead of the web app', async () => {
  const response = await server.request('/api/v1/nothing-here', { headers: { accept: 'text/html,*/*;q=0.8' } });
  assert.equal(response.status, 404);
  assert.match(response.headers.get('content-type') ?? '', /json/);
});

test('an attestation reaches /monitor without its references, only their number', async () => {
  const dave = await server.createBuilder('dave');
  const outPath = storePath('many-references');
  const references = Array.from({ length: 5000 }, (_, index) => storePath(`dependency-${index}`));
  const heard = gathered<MonitorAttestation>(monitor, 'attestations', [outPath], (event) => event.output_path);
  const response = await server.request(`/attestation/${drvHash(drvPath('many-references'))}`, {
    method: 'POST',
    token: dave.token,
    json: [lilaItem(dave, { outPath, narHash: narHash('many-references'), references })],
  });
  assert.equal(response.status, 200);
  const [event] = (await heard).items;
  assert.ok(event);
  assert.equal(event.output_path, outPath);
  assert.equal(event.reference_count, 5000);
  assert.equal('references' in event, false);
  assert.ok(JSON.stringify(event).length < 2000, 'the event stays small');
});

test('attestations and verdict changes reach /monitor gathered in lists, every one, in the order stored', async () => {
  const erin = await server.createBuilder('erin');
  const drv = drvPath('gathered');
  const outPaths = Array.from({ length: 40 }, (_, index) => storePath(`gathered-${index}`));
  const attestations = gathered<MonitorAttestation>(monitor, 'attestations', outPaths, (event) => event.output_path);
  const verdicts = gathered<VerdictChange>(monitor, 'verdicts', outPaths, (change) => change.outPath);
  const response = await server.request('/api/v1/attestations', {
    method: 'POST',
    token: erin.token,
    json: { attestations: outPaths.map((outPath) => batchItem(erin, drv, { outPath, narHash: narHash(outPath) })) },
  });
  assert.equal(response.status, 200, await response.clone().text());
  const heard = await attestations;
  assert.deepEqual(heard.items.map((event) => event.output_path), outPaths);
  // One message per attestation made every open page parse and render thousands a second under ingest.
  assert.ok(heard.messages <= 2, `40 attestations stored at once came in ${heard.messages} messages`);
  const changes = await verdicts;
  assert.deepEqual(changes.items.map((change) => [change.outPath, change.previous, change.verdict]), outPaths.map((outPath) => [outPath, 'no-builds', 'one-build']));
  assert.ok(changes.messages <= 2, `40 verdict changes came in ${changes.messages} messages`);
});
