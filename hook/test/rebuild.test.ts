import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import type { OutputDetail, PoolView } from '@lilac/common';
import { startTestServer, type TestServer } from '@lilac/server/testing';
import { buildBundle, builderMachine, LILAC_BIN, type BuilderMachine } from './support/builderSetup.ts';
import { derivationFile, nix, nixEnv, nonce, tempDir } from './support/nix.ts';
import { run } from './support/run.ts';

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
  assert.equal(await verdict(outPath), 'one-build');
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
  assert.deepEqual(await enqueued.json(), { added: 3, requeued: 0, unchanged: 0, satisfied: 0 });

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
  assert.deepEqual(pool.stats, { queued: 0, claimed: 0, done: 3, failed: 0 });
  assert.deepEqual(pool.jobs, []);
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
  assert.deepEqual(
    pool.jobs.map((job) => [job.outPath, job.state]),
    [[outPath, 'queued']],
  );
});
