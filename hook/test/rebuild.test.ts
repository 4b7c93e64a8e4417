import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { AttestationView, OutputDetail, PoolView } from '@lilac/common';
import type { TestServer } from '@lilac/server/testing';
import { LILAC_BIN, serverWithTwoMachines, type BuilderMachine } from './support/builderSetup.ts';
import { derivationFile, nix, nixEnv, nonce, tempDir } from './support/nix.ts';
import { run } from './support/run.ts';
import { waitFor } from './support/waitFor.ts';

let server: TestServer;
let alice: BuilderMachine;
let bob: BuilderMachine;
let aliceToken: string;

before(async () => ({ server, alice, bob, aliceToken } = await serverWithTwoMachines()));
after(() => server.close());

async function verdict(outPath: string): Promise<string> {
  const response = await server.request(`/api/v1/outputs/${outPath.slice('/nix/store/'.length)}`);
  return ((await response.json()) as OutputDetail).verdict;
}

/** Builds a derivation as alice, whose post-build-hook attests it: the first, independent build. */
async function builtByAlice(name: string, script: string): Promise<{ drvPath: string; outPath: string }> {
  const file = derivationFile(tempDir('drv'), name, script);
  const drvPath = nix(['nix-instantiate', file]).trim();
  const built = await run('nix-build', [file, '--no-out-link', '--option', 'post-build-hook', alice.postBuildHook], nixEnv());
  assert.equal(built.status, 0, built.stderr);
  const outPath = built.stdout.trim();
  // The hook delivers in the background once the build is over.
  await waitFor(`alice's attestation of ${outPath}`, async () => (await verdict(outPath)) === 'one-build');
  return { drvPath, outPath };
}

function sbom(outputs: { drvPath: string; outPath: string }[]): unknown {
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    metadata: { component: { 'bom-ref': 'root', name: 'rebuild-test', type: 'application' } },
    components: outputs.map(({ drvPath, outPath }) => ({
      'bom-ref': outPath,
      name: outPath.slice('/nix/store/'.length + 33),
      type: 'application',
      properties: [
        { name: 'nix:drv_path', value: drvPath },
        { name: 'nix:output', value: 'out' },
      ],
    })),
    dependencies: [{ ref: 'root', dependsOn: outputs.map(({ outPath }) => outPath) }],
  };
}

test('a report enqueued for rebuilding is rebuilt by `lilac rebuild` with real Nix: reproduced, nondeterministic, pool empty', async () => {
  const run_ = nonce();
  const plain = await builtByAlice(`lilac-rebuild-plain-${run_}`, `echo plain ${run_} > $out`);
  const tree = await builtByAlice(`lilac-rebuild-tree-${run_}`, `/bin/mkdir -p $out/bin; echo '#!/bin/sh' > $out/bin/hello; /bin/ln -s hello $out/bin/hi`);
  const random = await builtByAlice(`lilac-rebuild-random-${run_}`, `/usr/bin/head -c 16 /dev/urandom > $out`);
  const outputs = [plain, tree, random];

  const put = await server.request(`/reports/rebuild-${run_}`, { method: 'PUT', token: aliceToken, json: sbom(outputs) });
  assert.equal(put.status, 201, await put.clone().text());
  const enqueued = await server.request(`/api/v1/reports/rebuild-${run_}/enqueue`, { method: 'POST', token: aliceToken });
  assert.deepEqual(await enqueued.json(), {
    added: 3,
    requeued: 0,
    unchanged: 0,
    satisfied: 0,
    skipped: [{ count: 1, reason: '1 component has no output path (no nix:out_path, and its bom-ref is not one)' }],
  });

  // Alice attested everything, so the pool offers her nothing: her worker finds the pool empty.
  const aliceRun = await run(LILAC_BIN, ['rebuild', '--until-empty', '--poll-ms', '200'], { ...nixEnv(), ...alice.env });
  assert.equal(aliceRun.status, 0, aliceRun.stderr);
  assert.doesNotMatch(aliceRun.stderr, /rebuilding/);

  const bobRun = await run(LILAC_BIN, ['rebuild', '--until-empty', '--jobs', '2', '--poll-ms', '200'], { ...nixEnv(), ...bob.env });
  assert.equal(bobRun.status, 0, bobRun.stderr);
  assert.equal(await verdict(plain.outPath), 'reproduced');
  assert.equal(await verdict(tree.outPath), 'reproduced');
  assert.equal(await verdict(random.outPath), 'nondeterministic');

  const pool = (await (await server.request('/api/v1/pool')).json()) as PoolView;
  assert.deepEqual(pool.stats, { queued: 0, claimed: 0, done: 3, failed: 0, cancelled: 0 });
  assert.deepEqual(pool.jobs, []);
});

/** A running `lilac rebuild` as bob, its stderr collected as it comes. */
function bobsWorker(args: string[]) {
  const worker = spawn(LILAC_BIN, ['rebuild', ...args], { env: { ...nixEnv(), ...bob.env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  worker.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => worker.once('close', resolve));
  let done = false;
  void exited.then(() => (done = true));
  return {
    exited,
    /** SIGTERM, as a shutdown; resolves with the exit code. */
    stop: () => {
      if (!done) worker.kill('SIGTERM');
      return exited;
    },
    stderr: () => stderr,
    /** Resolves true once stderr matches, false if the worker exited first. */
    async says(pattern: RegExp): Promise<boolean> {
      while (!pattern.test(stderr)) {
        if (done) return false;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return true;
    },
  };
}

async function enqueueOutput(drvPath: string, outPath: string): Promise<string> {
  const enqueued = await server.request('/api/v1/jobs', { method: 'POST', token: aliceToken, json: [{ drvPath, output: 'out', outPath }] });
  assert.equal(enqueued.status, 200);
  const job = await server.context.models.Job.findOne({ outPath }).lean();
  assert.ok(job);
  return String(job._id);
}

/** The job's lease runs out, as when the server or worker holding it died. */
async function lapseLease(id: string): Promise<void> {
  const past = new Date(Date.now() - 1000);
  await server.context.models.Lease.updateOne({ _id: id }, { $set: { expiresAt: past } });
}

test('`lilac rebuild --until-empty` waits for a job held by a lease that ran out, rebuilds it, then says why it stops', async () => {
  const run_ = nonce();
  const { drvPath, outPath } = await builtByAlice(`lilac-rebuild-lapsed-${run_}`, `echo lapsed ${run_} > $out`);
  const id = await enqueueOutput(drvPath, outPath);
  // A worker of a server that died holds it; the sweeper stays still until the test lets it run.
  server.context.pool.stop();
  assert.equal((await server.context.pool.claim('ghost', 'socket-of-a-dead-server'))?.outPath, outPath);
  await lapseLease(id);
  const worker = bobsWorker(['--until-empty', '--poll-ms', '200']);
  try {
    assert.ok(await worker.says(/coming back \(0 queued and 1 held by leases that ran out\); waiting/), worker.stderr());
  } finally {
    assert.equal(await server.context.pool.sweep(), 1);
    server.context.pool.start();
  }
  assert.equal(await worker.exited, 0, worker.stderr());
  assert.match(worker.stderr(), new RegExp(`${outPath}: reproduced; the job is now done`));
  assert.match(worker.stderr(), /stopping: the pool holds nothing this builder may take\n/);
  assert.equal(await verdict(outPath), 'reproduced');
});

test('a rebuild whose claim was lost meanwhile is still delivered: the attestations are never dropped', async () => {
  const run_ = nonce();
  const gate = path.join(tempDir('gate'), 'open');
  // The build waits (at most a minute) until the test opens the gate, so the claim can be lost while it runs.
  const script = `i=0; while [ ! -e ${gate} ] && [ $i -lt 600 ]; do /bin/sleep 0.1; i=$((i+1)); done; echo gated ${run_} > $out`;
  writeFileSync(gate, '');
  const { drvPath, outPath } = await builtByAlice(`lilac-rebuild-lost-${run_}`, script);
  rmSync(gate);
  const id = await enqueueOutput(drvPath, outPath);
  const worker = bobsWorker(['--until-empty', '--poll-ms', '200']);
  assert.ok(await worker.says(/rebuilding/), worker.stderr());
  // The server's own sweeper could return the lapsed lease first; this test's sweep is the one that must.
  server.context.pool.stop();
  try {
    await lapseLease(id);
    assert.equal(await server.context.pool.sweep(), 1);
  } finally {
    server.context.pool.start();
  }
  writeFileSync(gate, '');
  assert.equal(await worker.exited, 0, worker.stderr());
  assert.match(worker.stderr(), /the job could not be completed \(refused: job \w+ is not held by this connection\); attestations delivered instead/);
  assert.equal(await verdict(outPath), 'reproduced');
  const attestations = (await (await server.request(`/attestations/by-output/${outPath.slice('/nix/store/'.length)}`)).json()) as AttestationView[];
  assert.deepEqual(
    attestations.map((attestation) => [attestation.builder, attestation.source, attestation.signature.status]).sort(),
    [
      ['alice', 'post-build-hook', 'valid'],
      ['bob', 'rebuild', 'valid'],
    ],
  );
});

test('`lilac rebuild` releases its claims on SIGTERM', async () => {
  const run_ = nonce();
  const slow = derivationFile(tempDir('drv'), `lilac-rebuild-slow-${run_}`, `/bin/sleep 30; echo ${run_} > $out`);
  const drvPath = nix(['nix-instantiate', slow]).trim();
  const outPath = nix(['nix-store', '--query', '--outputs', drvPath]).trim();
  const enqueued = await server.request('/api/v1/jobs', { method: 'POST', token: aliceToken, json: [{ drvPath, output: 'out', outPath }] });
  assert.equal(enqueued.status, 200);
  const worker = spawn(LILAC_BIN, ['rebuild', '--poll-ms', '200'], { env: { ...nixEnv(), ...bob.env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  worker.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  while (!/rebuilding/.test(stderr)) await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(((await (await server.request('/api/v1/pool')).json()) as PoolView).stats.claimed, 1);
  const exited = new Promise<number | null>((resolve) => worker.once('close', resolve));
  worker.kill('SIGTERM');
  assert.equal(await exited, 0, stderr);
  assert.match(stderr, /released 1 claims/);
  const pool = (await (await server.request('/api/v1/pool')).json()) as PoolView;
  assert.equal(pool.stats.claimed, 0);
  // Only this test's job: an earlier test's job, satisfied by attestations delivered outside `complete`, may still be listed.
  assert.deepEqual(
    pool.jobs.filter((job) => job.outPath === outPath).map((job) => job.state),
    ['queued'],
  );
});

/** Processes whose command line holds `marker`: what is left of a build. */
function processesMentioning(marker: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((entry) => /^[0-9]+$/.test(entry))) {
    try {
      const commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (commandLine.includes(marker)) found.push(`${pid}: ${commandLine}`);
    } catch {
      // It ended while we looked.
    }
  }
  return found;
}

test('a maintainer cancels a claimed job: `lilac rebuild` stops the build, leaves no process, and the job ends cancelled, not retried', async () => {
  const run_ = nonce();
  // A sleep of its own length, so its process can be told apart from any other test's.
  const seconds = `300.${parseInt(run_.slice(0, 6), 16)}`;
  const slow = derivationFile(tempDir('drv'), `lilac-rebuild-cancel-${run_}`, `/bin/sleep ${seconds}; echo ${run_} > $out`);
  const drvPath = nix(['nix-instantiate', slow]).trim();
  const outPath = nix(['nix-store', '--query', '--outputs', drvPath]).trim();
  const id = await enqueueOutput(drvPath, outPath);
  const worker = bobsWorker(['--poll-ms', '200']);
  try {
    assert.ok(await worker.says(new RegExp(`rebuilding ${drvPath}`)), worker.stderr());
    await waitFor(`the build's sleep ${seconds} to run`, () => processesMentioning(`sleep ${seconds}`).length > 0);
    const maintainer = await server.createMember(`maya-${run_}`, 'maintainer');
    const cancelled = await server.request(`/api/v1/jobs/${id}/cancel`, { method: 'POST', token: maintainer });
    assert.equal(cancelled.status, 200, await cancelled.clone().text());
    assert.ok(await worker.says(new RegExp(`${outPath}: cancelled by maya-${run_}; build stopped`)), worker.stderr());
    await waitFor('no process of the cancelled build left', () => [...processesMentioning(`sleep ${seconds}`), ...processesMentioning(drvPath)].length === 0);
    const job = await server.context.models.Job.findById(id).lean();
    assert.deepEqual([job?.state, job?.attempts, job?.lastOutcome], ['cancelled', 0, { kind: 'cancelled', log: '', by: `maya-${run_}` }]);
    assert.equal(await server.context.models.Lease.exists({ _id: id }), null);
    const attempt = await server.context.models.JobAttempt.findOne({ job: id }).lean();
    assert.deepEqual([attempt?.builder, attempt?.outcome], ['bob', 'cancelled'], 'the stopped build is in the job\'s history');
    assert.doesNotMatch(worker.stderr(), /failed/);
    // The worker goes on: it claims again (nothing is left) until stopped.
    assert.equal(await worker.stop(), 0, worker.stderr());
  } finally {
    await worker.stop();
  }
});

test('a job for riscv64-linux is never handed to this x86_64 worker while its x86_64 jobs are done', async () => {
  const run_ = nonce();
  const system = nix(['nix-instantiate', '--eval', '--expr', 'builtins.currentSystem']).trim().replaceAll('"', '');
  assert.notEqual(system, 'riscv64-linux');
  const native = await builtByAlice(`lilac-rebuild-native-${run_}`, `echo native ${run_} > $out`);
  // `lilac enqueue` reads the system from the .drv on the machine that enqueues.
  const badPriority = await run(LILAC_BIN, ['enqueue', '--priority', 'high', native.drvPath], { ...nixEnv(), ...alice.env });
  assert.equal(badPriority.status, 1, badPriority.stderr);
  assert.match(badPriority.stderr, /priority must be an integer/);
  const enqueued = await run(LILAC_BIN, ['enqueue', '--priority', '7', native.drvPath], { ...nixEnv(), ...alice.env });
  assert.equal(enqueued.status, 0, enqueued.stderr);
  const nativeJob = await server.context.models.Job.findOne({ outPath: native.outPath }).lean();
  assert.deepEqual([nativeJob?.system, nativeJob?.requiredSystemFeatures, nativeJob?.priority], [system, [], 7]);
  // Never built: a name Nix could give, for a machine nobody here is.
  const digest = 'riscv'.padEnd(32, '0');
  const riscv = { drvPath: `/nix/store/${digest}-riscv-${run_}.drv`, output: 'out', outPath: `/nix/store/${digest}-riscv-${run_}`, system: 'riscv64-linux' };
  const posted = await server.request('/api/v1/jobs', { method: 'POST', token: aliceToken, json: [riscv] });
  assert.equal(posted.status, 200, await posted.clone().text());

  // Bob's worker announces what its Nix builds; it finishes the native job and stops with the riscv one still queued.
  const worker = bobsWorker(['--until-empty', '--poll-ms', '200']);
  assert.equal(await worker.exited, 0, worker.stderr());
  assert.match(worker.stderr(), new RegExp(`building for [^\\n]*${system}`));
  assert.match(worker.stderr(), new RegExp(`${native.outPath}: reproduced; the job is now done`));
  assert.doesNotMatch(worker.stderr(), /riscv/);
  assert.equal(await verdict(native.outPath), 'reproduced');
  const riscvJob = await server.context.models.Job.findOne({ outPath: riscv.outPath }).lean();
  assert.deepEqual([riscvJob?.state, riscvJob?.attempts, riscvJob?.triedBy], ['queued', 0, []]);
  const pool = (await (await server.request('/api/v1/pool')).json()) as PoolView;
  const shown = pool.jobs.find((job) => job.outPath === riscv.outPath);
  assert.deepEqual([shown?.state, shown?.system, shown?.waitingForCapableWorker], ['queued', 'riscv64-linux', true]);
});
