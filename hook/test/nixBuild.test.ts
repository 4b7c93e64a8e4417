import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { formatKey, generateKeyPair, type AttestationView, type DivergenceView, type OutputDetail } from '@lilac/common';
import { startTestServer, type TestServer } from '@lilac/server/testing';
import { backgroundIdle } from './support/background.ts';
import { buildBundle, builderMachine, LILAC_BIN, type BuilderMachine } from './support/builderSetup.ts';
import { derivationFile, nixBuild, nonce, tempDir } from './support/nix.ts';
import { run } from './support/run.ts';
import { waitFor } from './support/waitFor.ts';

let server: TestServer;
let alice: BuilderMachine;
let bob: BuilderMachine;

before(async () => {
  buildBundle();
  server = await startTestServer();
  alice = builderMachine(await server.createBuilder('alice'), server.url);
  bob = builderMachine(await server.createBuilder('bob'), server.url);
});
after(() => server.close());

async function attestations(outPath: string): Promise<AttestationView[]> {
  return (await (await server.request(`/attestations/by-output/${outPath.slice('/nix/store/'.length)}`)).json()) as AttestationView[];
}

/** The hooks send in the background: waits until the output's verdict is `verdict`. */
function verdictBecomes(outPath: string, verdict: OutputDetail['verdict']): Promise<OutputDetail> {
  return waitFor(`${outPath} to be ${verdict}`, async () => {
    const response = await server.request(`/api/v1/outputs/${outPath.slice('/nix/store/'.length)}`);
    const detail = response.status === 200 ? ((await response.json()) as OutputDetail) : null;
    return detail?.verdict === verdict && detail;
  });
}

/** Lines the background senders wrote, one per run (builds in a burst share one). */
function backgroundRuns(machine: BuilderMachine): string[] {
  try {
    return readFileSync(path.join(machine.spoolDir, 'delivery.log'), 'utf8').split('\n').filter((line) => line.includes('lilac: background flush:'));
  } catch {
    return [];
  }
}

test('a deterministic derivation built by two builders (the second by nix-build --check) is reproduced', async () => {
  const file = derivationFile(tempDir('drv'), 'lilac-deterministic', `echo deterministic ${nonce()} > $out`);
  const first = await nixBuild(file, [['post-build-hook', alice.postBuildHook]]);
  assert.equal(first.status, 0, first.log);
  assert.doesNotMatch(first.log, /lilac:/, 'the hook says nothing when all goes well');
  await verdictBecomes(first.outPath, 'one-build');

  const check = await nixBuild(file, [['post-build-hook', bob.postBuildHook]], ['--check']);
  assert.equal(check.status, 0, check.log);
  await verdictBecomes(first.outPath, 'reproduced');
  const views = await attestations(first.outPath);
  assert.deepEqual(views.map((view) => [view.builder, view.signature.status, view.source]).sort(), [
    ['alice', 'valid', 'post-build-hook'],
    ['bob', 'valid', 'post-build-hook'],
  ]);
  assert.equal(new Set(views.map((view) => view.output_hash)).size, 1);
});

test('a derivation writing random bytes ends nondeterministic through the diff hook, with a divergence', async () => {
  const file = derivationFile(tempDir('drv'), 'lilac-random', `echo ${nonce()} > /dev/null; /usr/bin/head -c 16 /dev/urandom > $out`);
  const first = await nixBuild(file, [['post-build-hook', alice.postBuildHook]]);
  assert.equal(first.status, 0, first.log);
  await verdictBecomes(first.outPath, 'one-build');

  const check = await nixBuild(file, [['run-diff-hook', 'true'], ['diff-hook', bob.diffHook], ['post-build-hook', bob.postBuildHook]], ['--check']);
  assert.notEqual(check.status, 0, 'a --check of random output must fail');
  await verdictBecomes(first.outPath, 'nondeterministic');
  const views = await attestations(first.outPath);
  assert.deepEqual(views.map((view) => [view.builder, view.signature.status, view.source]).sort(), [
    ['alice', 'valid', 'post-build-hook'],
    ['bob', 'valid', 'diff-hook'],
  ]);
  const divergences = (await (await server.request('/api/v1/divergences')).json()) as DivergenceView[] | { divergences: DivergenceView[] };
  const list = Array.isArray(divergences) ? divergences : divergences.divergences;
  assert.ok(list.some((divergence) => divergence.outPath === first.outPath), 'divergence recorded');
});

test('builds running in parallel each have their attestations sent once, whichever background sender takes them', async () => {
  const dave = builderMachine(await server.createBuilder('dave'), server.url);
  const file = path.join(tempDir('drv'), 'parallel.nix');
  const count = 6;
  const derivations = Array.from({ length: count }, (_, index) =>
    `(builtins.derivation { system = builtins.currentSystem; builder = "/bin/sh"; args = [ "-c" "echo parallel ${index} ${nonce()} > $out" ]; name = "lilac-parallel-${index}"; })`,
  );
  writeFileSync(file, `[ ${derivations.join(' ')} ]\n`);
  const build = await nixBuild(file, [['post-build-hook', dave.postBuildHook]], ['--max-jobs', String(count)]);
  assert.equal(build.status, 0, build.log);
  const outPaths = build.outPath.split('\n');
  assert.equal(outPaths.length, count);

  await waitFor('the background senders to finish', () => spooled(dave).length === 0 && backgroundIdle(dave.spoolDir));
  const runs = backgroundRuns(dave);
  const delivered = runs.map((line) => Number(/delivered (\d+)/.exec(line)![1])).reduce((sum, each) => sum + each, 0);
  assert.equal(delivered, count, `each spooled submission sent by exactly one sender:\n${runs.join('\n')}`);
  assert.deepEqual(spooled(dave), []);
  for (const outPath of outPaths) assert.deepEqual((await attestations(outPath)).map((view) => [view.builder, view.signature.status]), [['dave', 'valid']]);
});

test('with the server down builds still succeed and spool; once it is back lilac flush (reading the hook\'s env file) delivers each attestation once, with the time it was built', async () => {
  // The machine is set up before the server exists: its port is reserved, its key and token made up front.
  const port = await freePort();
  const carolIdentity = { name: 'carol', token: `carol-${nonce()}`, ...generateKeyPair('carol-1') };
  const carol = builderMachine({ ...carolIdentity, publicKey: formatKey(carolIdentity.publicKey) }, `http://127.0.0.1:${port}`);
  const dir = tempDir('drv');
  const builds: { outPath: string; started: Date; ended: Date }[] = [];
  for (const index of [1, 2, 3]) {
    const started = new Date();
    const build = await nixBuild(derivationFile(dir, `lilac-offline-${index}`, `echo offline ${index} ${nonce()} > $out`), [['post-build-hook', carol.postBuildHook]]);
    assert.equal(build.status, 0, build.log);
    builds.push({ outPath: build.outPath, started, ended: new Date() });
  }
  await waitFor('the background senders to give up', () => spooled(carol).length === 3 && backgroundIdle(carol.spoolDir));
  assert.match(backgroundRuns(carol).join('\n'), /stopped: .*ECONNREFUSED/);
  assert.equal(spooled(carol).length, 3);

  const back = await startTestServer({ port });
  try {
    await back.context.builders.create('carol', { token: carolIdentity.token, publicKeys: [formatKey(carolIdentity.publicKey)] });
    // Only the env file names the server, as on a builder where a person runs `lilac flush`.
    const flushEnv = { ...process.env, LILAC_ENV_FILE: carol.envFile };
    const flushed = new Date();
    const flush = await run(LILAC_BIN, ['flush'], flushEnv);
    assert.equal(flush.status, 0, flush.stderr);
    assert.match(flush.stdout, /delivered 3, rejected 0, left .*: 0/);
    assert.deepEqual(spooled(carol), []);
    const again = await run(LILAC_BIN, ['flush'], flushEnv);
    assert.match(again.stdout, /delivered 0, rejected 0/);
    for (const { outPath, started, ended } of builds) {
      const response = await back.request(`/attestations/by-output/${outPath.slice('/nix/store/'.length)}`);
      const views = (await response.json()) as AttestationView[];
      assert.deepEqual(views.map((view) => [view.builder, view.signature.status]), [['carol', 'valid']]);
      const builtAt = new Date(views[0]!.built_at!);
      assert.ok(started <= builtAt && builtAt <= ended, `built_at ${views[0]!.built_at} is during the build (${started.toISOString()} to ${ended.toISOString()})`);
      assert.ok(new Date(views[0]!.created_at) >= flushed, `created_at ${views[0]!.created_at} is the delivery`);
    }
    assert.equal(await back.context.models.Attestation.countDocuments({ builder: 'carol' }), 3);
  } finally {
    await back.close();
  }
});

function spooled(machine: BuilderMachine): string[] {
  try {
    return readdirSync(machine.spoolDir).filter((name) => name.endsWith('.json'));
  } catch {
    return [];
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
