import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { runAdmin, startServerProcess, waitForHealthy } from './support/processes.ts';

/**
 * Against MongoDB the processes share it under a fresh database; otherwise each runs lilac's default, the embedded
 * FerretDB on a fresh data directory, not the suite's shared store (`npm test` passes that as MONGODB_URI too).
 */
const embedded = !process.env.MONGODB_URI || process.env.LILAC_TEST_STORE === 'embedded';

function storeEnvironment(): NodeJS.ProcessEnv {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'lilac-restart-'));
  const { MONGODB_URI: _shared, ...inherited } = process.env;
  return {
    ...(embedded ? inherited : process.env),
    DATA_DIR: dataDir,
    LILAC_DB_NAME: `lilac_restart_${randomBytes(4).toString('hex')}`,
    LOG_LEVEL: 'info',
  };
}

const publicKey = 'restart-1:GEJfdIGML865gIsDdGc61qSStHtwgYZMCJCX+QZNapg=';

test('a builder created with the admin CLI before a restart still authenticates after it', async () => {
  const env = storeEnvironment();
  const created = await runAdmin(['create-builder', 'alice', '--key', publicKey], env);
  assert.equal(created.code, 0, created.stderr);
  const token = /token: (\S+)/.exec(created.stdout)?.[1];
  assert.ok(token, created.stdout);

  const first = await startServerProcess(env);
  const health = await waitForHealthy(first.url);
  assert.deepEqual(health.store, { kind: embedded ? 'embedded-ferretdb' : 'mongodb', state: 'connected' });
  const whoami = await fetch(`${first.url}/api/v1/whoami`, { headers: { authorization: `Bearer ${token}` } });
  assert.deepEqual(await whoami.json(), { name: 'alice', keys: [publicKey] });

  // The CLI works while the server runs, on the same data.
  const added = await runAdmin(['create-builder', 'bob'], env);
  assert.equal(added.code, 0, added.stderr);
  if (embedded) assert.match(added.stderr, /^store: embedded FerretDB on .* \(the running server's\)/m);
  assert.equal(await first.stop(), 0, first.output());
  assert.match(first.output(), /"msg":"lilac stopped"/);
  if (embedded) assert.equal(existsSync(path.join(env.DATA_DIR!, 'embedded-store.json')), false);

  const second = await startServerProcess(env);
  await waitForHealthy(second.url);
  const again = await fetch(`${second.url}/api/v1/whoami`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(again.status, 200);
  const bad = await fetch(`${second.url}/api/v1/whoami`, { headers: { authorization: 'Bearer nope-nope-nope-nope' } });
  assert.equal(bad.status, 401);
  assert.deepEqual(await bad.json(), { detail: 'invalid token' });
  const list = await runAdmin(['list'], env);
  assert.match(list.stdout, /^alice .*\n {4}key restart-1:/m);
  assert.match(list.stdout, /^bob /m);
  assert.equal(await second.stop(), 0, second.output());
  if (embedded) assert.ok(readdirSync(env.DATA_DIR!).some((file) => file.endsWith('.sqlite')));
});

test('after the server is killed with SIGKILL, a new server on the same data directory serves', { skip: !embedded && 'embedded store only' }, async () => {
  const env = storeEnvironment();
  const first = await startServerProcess(env);
  await waitForHealthy(first.url);
  // The announcement still names the killed server, and its store is dying with it.
  const killed = new Promise((resolve) => first.child.once('exit', resolve));
  first.child.kill('SIGKILL');
  await killed;
  const second = await startServerProcess(env);
  const health = await waitForHealthy(second.url);
  assert.deepEqual(health.store, { kind: 'embedded-ferretdb', state: 'connected' });
  const created = await runAdmin(['create-builder', 'carol'], env);
  assert.equal(created.code, 0, created.stderr);
  assert.equal(await second.stop(), 0, second.output());
});

test('the admin CLI explains its usage and refuses bad keys without writing', async () => {
  const env = storeEnvironment();
  const usage = await runAdmin(['frobnicate'], env);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /create-builder NAME/);
  const bad = await runAdmin(['create-builder', 'eve', '--key', 'eve-1:AAAA'], env);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /32 bytes/);
  const list = await runAdmin(['list'], env);
  assert.match(list.stdout, /no builders yet/);
});
