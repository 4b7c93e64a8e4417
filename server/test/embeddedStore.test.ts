import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import mongoose from 'mongoose';
import { storeSyncOf } from '../src/config.ts';
import { socketUri, startEmbeddedStore, startOrJoinEmbeddedStore } from '../src/store/embeddedStore.ts';
import { drvHash, drvPath } from './support/attestationFixtures.ts';
import { startTestServer, type TestServer } from './support/testServer.ts';

function freshDataDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'lilac-embedded-'));
}

async function pingAs(uri: string): Promise<void> {
  const connection = await mongoose.createConnection(uri, { serverSelectionTimeoutMS: 20_000 }).asPromise();
  try {
    await connection.db!.admin().ping();
  } finally {
    await connection.close();
  }
}

/** Connects to a Unix socket as another local user and prints what happened. */
function connectAsNobody(socket: string): string {
  const script = `require('node:net').connect(process.argv[1]).on('connect', () => { console.log('connected'); process.exit(0); }).on('error', (e) => { console.log(e.code); process.exit(0); });`;
  const result = spawnSync(process.execPath, ['-e', script, socket], { uid: 65534, gid: 65534, encoding: 'utf8', cwd: '/' });
  return result.stdout.trim() || result.stderr;
}

function announcement(dataDir: string): { uri: string; pid: number; storePid: number } {
  return JSON.parse(readFileSync(path.join(dataDir, 'embedded-store.json'), 'utf8')) as { uri: string; pid: number; storePid: number };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test('the embedded store listens on a Unix socket in a data directory only its user may enter', async (t) => {
  const dataDir = freshDataDir();
  // A directory made before lilac restricted it is restricted too.
  mkdirSync(dataDir, { recursive: true, mode: 0o755 });
  const store = await startEmbeddedStore({ dataDir });
  t.after(async () => {
    await store.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const socket = path.join(dataDir, 'ferretdb.sock');
  assert.equal(store.uri, socketUri(socket));
  assert.equal(statSync(dataDir).mode & 0o777, 0o700);
  assert.ok(statSync(socket).isSocket());
  await pingAs(store.uri);
  if (process.getuid?.() === 0) assert.equal(connectAsNobody(socket), 'EACCES');
});

test('a data directory too deep for a socket path still gets a store on a socket inside it', async (t) => {
  const dataDir = path.join(freshDataDir(), 'a-rather-long-directory-name-that-goes-on'.repeat(3));
  const store = await startEmbeddedStore({ dataDir });
  t.after(async () => {
    await store.stop();
    rmSync(path.dirname(dataDir), { recursive: true, force: true });
  });
  assert.ok(Buffer.byteLength(path.join(dataDir, 'ferretdb.sock')) > 108);
  await pingAs(store.uri);
  assert.ok(statSync(path.join(dataDir, 'ferretdb.sock')).isSocket());
});

test('LILAC_STORE_SYNC is full unless set to normal, and nothing else', () => {
  assert.equal(storeSyncOf({}), 'full');
  assert.equal(storeSyncOf({ LILAC_STORE_SYNC: 'normal' }), 'normal');
  assert.throws(() => storeSyncOf({ LILAC_STORE_SYNC: 'off' }), /LILAC_STORE_SYNC must be full or normal, got "off"/);
});

test('a store that syncs at checkpoints only still keeps every acknowledged write when its process is killed', async (t) => {
  const dataDir = freshDataDir();
  const store = await startEmbeddedStore({ dataDir, sync: 'normal' });
  t.after(async () => {
    await store.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const before = await mongoose.createConnection(store.uri).asPromise();
  for (let batch = 0; batch < 20; batch++) {
    await before.collection('writes').insertMany(Array.from({ length: 50 }, (_, index) => ({ _id: `doc-${batch}-${index}` as never })));
  }
  await before.close();
  const killed = announcement(dataDir).storePid;
  process.kill(killed, 'SIGKILL');
  await waitFor('the store to be restarted', async () => (announcement(dataDir).storePid !== killed ? true : undefined));
  await pingAs(store.uri);
  const after = await mongoose.createConnection(store.uri).asPromise();
  t.after(() => after.close());
  assert.equal(await after.collection('writes').countDocuments(), 1_000);
});

test('an announcement left by a process that is gone, or whose pid now runs something else, is not joined', async (t) => {
  const dataDir = freshDataDir();
  const stranger = spawn('sleep', ['600'], { stdio: 'ignore' });
  t.after(() => stranger.kill());
  // What an unclean stop leaves: the announcement names a pid that lives on (reused, or still dying), and nothing answers.
  writeFileSync(path.join(dataDir, 'embedded-store.json'), JSON.stringify({ uri: socketUri(path.join(dataDir, 'ferretdb.sock')), pid: stranger.pid }));
  const store = await startOrJoinEmbeddedStore({ dataDir });
  t.after(async () => {
    await store.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  assert.equal(store.joined, false);
  await pingAs(store.uri);
  const joined = await startOrJoinEmbeddedStore({ dataDir });
  assert.equal(joined.joined, true);
  assert.equal(joined.uri, store.uri);
});

test('a store killed with SIGKILL is restarted; meanwhile healthz says 503 and requests fail at once with 503', async (t) => {
  const server: TestServer = await startTestServer({ mongodbUri: undefined });
  t.after(() => server.close());
  const alice = await server.createBuilder('alice');
  const dataDir = server.context.config.dataDir;
  const socket = path.join(dataDir, 'ferretdb.sock');
  const killed = announcement(dataDir).storePid;

  // Holds the store down long enough to look at the outage: the socket path is taken by something that
  // accepts and hangs up, which a restarting store refuses to replace. The store keeps serving on the moved socket until killed.
  renameSync(socket, `${socket}.moved`);
  const blocker = createServer((connection) => connection.destroy());
  await new Promise<void>((resolve) => blocker.listen(socket, resolve));
  process.kill(killed, 'SIGKILL');

  const down = await waitFor('healthz to say 503', async () => {
    const response = await server.request('/healthz');
    return response.status === 503 ? ((await response.json()) as { status: string; store: { state: string } }) : undefined;
  });
  assert.equal(down.status, 'unavailable');
  assert.equal(down.store.state, 'restarting');
  const refused = await server.request('/api/v1/whoami', { token: alice.token });
  assert.equal(refused.status, 503);
  assert.deepEqual(await refused.json(), { detail: 'the store is restarting; try again in a few seconds' });
  // lila's hook posts are answered by a handler of their own (lilaFastPath.ts): it refuses alike.
  const refusedBeforeRouting = async () => {
    const metrics = await (await server.request('/metrics')).text();
    return Number(/lilac_http_requests_total\{method="POST",route="unmatched",status="503"\} (\d+)/.exec(metrics)?.[1] ?? 0);
  };
  const refusedBefore = await refusedBeforeRouting();
  const outage = drvPath('outage');
  for (const spelling of [drvHash(outage), outage.slice(1)]) {
    const submission = await server.request(`/attestation/${spelling}`, { method: 'POST', token: alice.token, json: [] });
    assert.equal(submission.status, 503, spelling);
    assert.deepEqual(await submission.json(), { detail: 'the store is restarting; try again in a few seconds' });
  }
  assert.equal(await refusedBeforeRouting(), refusedBefore + 2, 'both spellings are counted as refused before routing');
  // The web monitor and the API description need no store.
  assert.equal((await server.request('/api/v1/openapi.json')).status, 200);

  await new Promise<void>((resolve) => blocker.close(() => resolve()));
  rmSync(socket, { force: true });
  rmSync(`${socket}.moved`, { force: true });
  const up = await waitFor('healthz to say 200 again', async () => {
    const response = await server.request('/healthz');
    return response.status === 200 ? ((await response.json()) as { store: { state: string } }) : undefined;
  });
  assert.equal(up.store.state, 'connected');
  assert.notEqual(announcement(dataDir).storePid, killed);
  const whoami = await server.request('/api/v1/whoami', { token: alice.token });
  assert.equal(whoami.status, 200);
  assert.equal(((await whoami.json()) as { name: string }).name, 'alice');
});
