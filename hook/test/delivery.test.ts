import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { formatKey, generateKeyPair, type AttestationView } from '@lilac/common';
import { startTestServer, type TestServer } from '@lilac/server/testing';
import { signedSubmission, unsignedSubmission } from '../src/attest/submission.ts';
import { loadHookConfig } from '../src/config.ts';
import { deliverWithSpool, flushSpool } from '../src/delivery/deliver.ts';
import { Spool } from '../src/delivery/spool.ts';
import { buildBundle, LILAC_BIN } from './support/builderSetup.ts';
import { tempDir } from './support/nix.ts';
import { run } from './support/run.ts';

let server: TestServer;
before(async () => {
  buildBundle();
  server = await startTestServer();
});
after(() => server.close());

const outPath = '/nix/store/cln58z4668miq76i6lpb6vx4419n1dqz-probe';
const drvHash = 'bfsm8yfiplgqi07w1ii0fywqy0xzp41g-probe';
const info = { outPath, narHash: 'sha256-S8XSFZSNRlgQYShPKinP3ZxPjCq1iTxXHfkreHfX8CI=', narSize: 128, references: [] };

test("lila's variables configure the hook, and lilac's own and flags win over them", () => {
  const { secretKey } = generateKeyPair('lila-1');
  const dir = tempDir('config');
  const other = generateKeyPair('file-1').secretKey;
  writeFileSync(path.join(dir, 'key'), formatKey(other));
  writeFileSync(path.join(dir, 'token'), 'from-file\n');
  // No env file: this machine's /etc/lilac/hook.env, if any, stays out of it.
  const lila = { LILAC_ENV_FILE: '', HASH_COLLECTION_SERVER: 'http://lila.example/', HASH_COLLECTION_TOKEN: 'lila-token', HASH_COLLECTION_SECRET_KEY: formatKey(secretKey) };
  const config = loadHookConfig(lila);
  assert.deepEqual([config.server, config.token, config.secretKey?.name], ['http://lila.example', 'lila-token', 'lila-1']);
  const ours = loadHookConfig({ ...lila, LILAC_TOKEN_FILE: path.join(dir, 'token'), LILAC_SECRET_KEY_FILE: path.join(dir, 'key') }, { server: 'http://flag.example' });
  assert.deepEqual([ours.server, ours.token, ours.secretKey?.name], ['http://flag.example', 'from-file', 'file-1']);
  assert.throws(() => loadHookConfig({ LILAC_ENV_FILE: '', HASH_COLLECTION_SECRET_KEY: 'not a key' }), /not a Nix secret key/);
});

test('a submission the server refuses is moved to rejected/ and never retried by itself', async () => {
  const builder = await server.createBuilder('refused');
  const spoolDir = path.join(tempDir('spool'), 'spool');
  const config = loadHookConfig({ LILAC_ENV_FILE: '', LILAC_SERVER: server.url, LILAC_TOKEN: 'wrong-token', LILAC_SPOOL_DIR: spoolDir });
  const outcome = await deliverWithSpool(config, drvHash, [signedSubmission(info, builder.secretKey, 'post-build-hook')]);
  assert.equal(outcome, 'rejected');
  assert.equal(readdirSync(path.join(spoolDir, 'rejected')).length, 1);
  assert.deepEqual(await flushSpool(config, Date.now() + 5000), { delivered: 0, rejected: 0, left: 0, stopped: null });
  assert.equal(await server.context.models.Attestation.countDocuments({}), 0);
});

test('a submission spooled unsigned waits for a key, and the first flush with one signs and delivers it with its build time', async () => {
  const builder = await server.createBuilder('signs-later');
  const spoolDir = path.join(tempDir('spool'), 'spool');
  const settings = { LILAC_SERVER: server.url, LILAC_TOKEN: builder.token, LILAC_SPOOL_DIR: spoolDir, LILAC_ENV_FILE: '' };
  const builtAt = new Date('2026-01-02T03:04:05.678Z');
  const keyless = loadHookConfig(settings);
  assert.equal(await deliverWithSpool(keyless, drvHash, [unsignedSubmission(info, 'post-build-hook', builtAt)]), 'spooled');
  assert.deepEqual(await flushSpool(keyless, Date.now() + 5000), {
    delivered: 0,
    rejected: 0,
    left: 1,
    stopped: '1 spooled unsigned, waiting for a secret key to sign them',
  });

  const keyFile = path.join(tempDir('key'), 'secret');
  writeFileSync(keyFile, formatKey(builder.secretKey));
  const withKey = loadHookConfig({ ...settings, LILAC_SECRET_KEY_FILE: keyFile });
  assert.deepEqual(await flushSpool(withKey, Date.now() + 5000), { delivered: 1, rejected: 0, left: 0, stopped: null });
  const views = (await (await server.request(`/attestations/by-output/${outPath.slice('/nix/store/'.length)}`)).json()) as AttestationView[];
  assert.deepEqual(
    views.filter((view) => view.builder === 'signs-later').map((view) => [view.signature.status, view.built_at]),
    [['valid', builtAt.toISOString()]],
  );
});

test('lilac flush waits for a submission another process is sending, and sends it when that process gives it back', async () => {
  const builder = await server.createBuilder('waits');
  const spoolDir = path.join(tempDir('spool'), 'spool');
  const name = new Spool(spoolDir).add({ drvHash, submissions: [signedSubmission(info, builder.secretKey, 'post-build-hook')], spooledAt: new Date().toISOString(), reason: 'test' });
  // A live process holds the claim, as a background sender does while its request is under way.
  const sender = spawn('sleep', ['600'], { stdio: 'ignore' });
  try {
    renameSync(path.join(spoolDir, name), path.join(spoolDir, `${name}.claimed-${sender.pid}`));
    const flushing = run(LILAC_BIN, ['flush'], { ...process.env, LILAC_ENV_FILE: '', LILAC_SERVER: server.url, LILAC_TOKEN: builder.token, LILAC_SPOOL_DIR: spoolDir, LILAC_TIMEOUT_MS: '60000' });
    // Give flush time to find the claim before the sender dies (a late start passes as well: the claim is then stale).
    await new Promise((resolve) => setTimeout(resolve, 2000));
    sender.kill();
    const flush = await flushing;
    assert.equal(flush.status, 0, flush.stderr);
    assert.match(flush.stdout, /delivered 1, rejected 0, left .*: 0/);
  } finally {
    sender.kill();
  }
  assert.equal(await server.context.models.Attestation.countDocuments({ builder: 'waits' }), 1);
});
