import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { DivergenceView, OutputDetail, PoolView } from '@lilac/common';
import { startTestServer, type TestServer } from '@lilac/server/testing';
import { buildBundle, builderMachine, LILAC_BIN, type BuilderMachine } from './support/builderSetup.ts';
import { derivationFile, nix, nixEnv, nonce, tempDir } from './support/nix.ts';
import { run } from './support/run.ts';
import { waitFor } from './support/waitFor.ts';

let server: TestServer;
let alice: BuilderMachine;
let bob: BuilderMachine;
let aliceToken: string;

before(async () => {
  buildBundle();
  server = await startTestServer();
  const aliceBuilder = await server.createBuilder('alice');
  aliceToken = aliceBuilder.token;
  alice = builderMachine(aliceBuilder, server.url);
  bob = builderMachine(await server.createBuilder('bob'), server.url);
});
after(() => server.close());

async function output(outPath: string): Promise<OutputDetail> {
  const response = await server.request(`/api/v1/outputs/${outPath.slice('/nix/store/'.length)}`);
  assert.equal(response.status, 200, await response.clone().text());
  return (await response.json()) as OutputDetail;
}

async function divergences(): Promise<string[]> {
  return ((await (await server.request('/api/v1/divergences')).json()) as DivergenceView[]).map((divergence) => divergence.outPath).sort();
}

async function enqueue(drvPath: string, outPath: string): Promise<void> {
  const enqueued = await server.request('/api/v1/jobs', { method: 'POST', token: aliceToken, json: [{ drvPath, output: 'out', outPath }] });
  assert.equal(enqueued.status, 200, await enqueued.clone().text());
}

/** Processes whose command line contains `text`, but for the `pgrep` asking. */
function processesWith(text: string): string[] {
  try {
    return execFileSync('pgrep', ['-af', text], { encoding: 'utf8' }).split('\n').filter((line) => line.trim() !== '');
  } catch {
    return [];
  }
}

test('a derivation that fails when rebuilt ends as FAIL with its log tail, and its verdict and the divergences are unchanged', async () => {
  const run_ = nonce();
  // Outside the store: the first build leaves it, so the rebuild finds it and fails.
  const marker = path.join(tempDir('marker'), `built-${run_}`);
  const file = derivationFile(
    tempDir('drv'),
    `lilac-rebuild-fails-${run_}`,
    `if [ -e ${marker} ]; then echo "refusing to build twice (${run_})" >&2; exit 3; fi; echo > ${marker}; echo once ${run_} > $out`,
  );
  const drvPath = nix(['nix-instantiate', file]).trim();
  const built = await run('nix-build', [file, '--no-out-link', '--option', 'post-build-hook', alice.postBuildHook], nixEnv());
  assert.equal(built.status, 0, built.stderr);
  const outPath = built.stdout.trim();
  assert.ok(existsSync(marker));
  // The hook delivers in the background once the build is over.
  await waitFor(`alice's attestation of ${outPath}`, async () => (await server.request(`/api/v1/outputs/${outPath.slice('/nix/store/'.length)}`)).status === 200);
  const before = await output(outPath);
  const divergencesBefore = await divergences();
  await enqueue(drvPath, outPath);

  const bobRun = await run(LILAC_BIN, ['rebuild', '--until-empty', '--poll-ms', '200'], { ...nixEnv(), ...bob.env });
  assert.equal(bobRun.status, 0, bobRun.stderr);
  assert.match(bobRun.stderr, new RegExp(`${outPath}: failed to build \\([^)]*exit code 3[^)]*\\); the job is now queued`));

  const after = await output(outPath);
  assert.deepEqual([after.verdict, after.hashes], [before.verdict, before.hashes]);
  assert.equal(after.verdict, 'one-build');
  assert.deepEqual(await divergences(), divergencesBefore);
  assert.deepEqual(after.rebuilds.map((attempt) => [attempt.builder, attempt.outcome.kind]), [['bob', 'failed']]);
  const [attempt] = after.rebuilds;
  assert.ok(attempt?.outcome.kind === 'failed');
  assert.match(attempt.outcome.log, new RegExp(`refusing to build twice \\(${run_}\\)`));
  assert.match(attempt.outcome.log, /^nix-store --realise --check /);
  assert.ok(attempt.durationMs !== null && attempt.durationMs >= 0);
  const pool = (await (await server.request('/api/v1/pool')).json()) as PoolView;
  const shown = pool.jobs.find((job) => job.outPath === outPath);
  assert.deepEqual([shown?.state, shown?.outcome?.kind, shown?.attempts], ['queued', 'failed', 1]);
  rmSync(marker, { force: true });
});

test('`lilac rebuild --max-build-seconds` stops a sleeping build, its whole process group: the attempt timed out, with its log tail', async () => {
  const run_ = nonce();
  // A sleep no other process runs, so what is left of it can be looked for.
  const seconds = `3${parseInt(run_.slice(0, 6), 16) % 100_000}`;
  const file = derivationFile(tempDir('drv'), `lilac-rebuild-sleeps-${run_}`, `echo "going to sleep ${run_}"; /bin/sleep ${seconds}; echo ${run_} > $out`);
  const drvPath = nix(['nix-instantiate', file]).trim();
  const outPath = nix(['nix-store', '--query', '--outputs', drvPath]).trim();
  await enqueue(drvPath, outPath);

  const bobRun = await run(LILAC_BIN, ['rebuild', '--until-empty', '--poll-ms', '200', '--max-build-seconds', '2'], { ...nixEnv(), ...bob.env });
  assert.equal(bobRun.status, 0, bobRun.stderr);
  assert.match(bobRun.stderr, new RegExp(`${outPath}: timed out \\(`));

  const pool = (await (await server.request('/api/v1/pool')).json()) as PoolView;
  const shown = pool.jobs.find((job) => job.outPath === outPath);
  assert.deepEqual(shown?.history.map((attempt) => [attempt.builder, attempt.outcome.kind]), [['bob', 'timed-out']]);
  const outcome = shown?.history[0]?.outcome;
  assert.ok(outcome?.kind === 'timed-out');
  assert.match(outcome.log, /stopped after 2 s \(--max-build-seconds\)/);
  assert.match(outcome.log, new RegExp(`going to sleep ${run_}`));
  // A timeout is retried by another builder, as a failure is.
  assert.deepEqual([shown?.state, shown?.attempts], ['queued', 1]);
  assert.ok(!existsSync(outPath));
  // Neither the builder's sleep nor its nix-store outlives the worker.
  await waitFor(`no process left of ${drvPath}`, () => processesWith(`sleep ${seconds}`).length + processesWith(drvPath).length === 0, 30_000).catch(() => {
    throw new Error(`left running: ${[...processesWith(`sleep ${seconds}`), ...processesWith(drvPath)].join('; ')}`);
  });
});

test('`lilac rebuild --max-build-seconds` refuses what is not a positive number of seconds, before connecting', async () => {
  for (const value of ['0', '-5', 'soon', '']) {
    const refused = await run(LILAC_BIN, ['rebuild', `--max-build-seconds=${value}`], { ...nixEnv(), ...bob.env });
    assert.equal(refused.status, 2, refused.stderr);
    assert.match(refused.stderr, /--max-build-seconds must be a positive number of seconds/);
    assert.doesNotMatch(refused.stderr, /connected/);
  }
});
