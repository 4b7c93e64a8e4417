import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { AttestationView } from '@lilac/common';
import { startTestServer, type TestServer } from '@lilac/server/testing';
import type { SpooledSubmission } from '../src/delivery/spool.ts';
import { backgroundIdle } from './support/background.ts';
import { buildBundle, builderMachine, HOOK_BIN_DIR, hookCheckout, hookScripts, LILAC_BIN } from './support/builderSetup.ts';
import { derivationFile, nixBuild, nonce, tempDir } from './support/nix.ts';
import { run } from './support/run.ts';
import { waitFor } from './support/waitFor.ts';

let server: TestServer;

before(async () => {
  buildBundle();
  server = await startTestServer();
});
after(() => server.close());

function derivation(name: string): string {
  return derivationFile(tempDir('drv'), name, `echo ${name} ${nonce()} > $out`);
}

async function attested(outPath: string): Promise<string[][]> {
  const response = await server.request(`/attestations/by-output/${outPath.slice('/nix/store/'.length)}`);
  const views = (await response.json()) as AttestationView[];
  return views.map((view) => [view.builder, view.signature.status, view.source]);
}

/** What the server holds for `outPath` once `count` statements have arrived (the hooks send in the background). */
function attestedEventually(outPath: string, count = 1): Promise<string[][]> {
  return waitFor(`${count} statement(s) about ${outPath}`, async () => {
    const statements = await attested(outPath);
    return statements.length >= count && statements;
  });
}

function spooledEntries(spoolDir: string): SpooledSubmission[] {
  return readdirSync(spoolDir)
    .filter((name) => name.endsWith('.json'))
    .map((name) => JSON.parse(readFileSync(path.join(spoolDir, name), 'utf8')) as SpooledSubmission);
}

/** The line the background flush left for the wrapper to print in the next builds' logs, once it says `what`. */
function attentionSays(spoolDir: string, what: RegExp): Promise<string> {
  return waitFor(`${spoolDir}/attention to match ${what}`, () => {
    try {
      const line = readFileSync(path.join(spoolDir, 'attention'), 'utf8');
      return what.test(line) && line;
    } catch {
      return null;
    }
  });
}

function linesOf(log: string, pattern: RegExp): string[] {
  return log.split('\n').filter((line) => pattern.test(line));
}

test('with no env file the build succeeds, the hook says so in one line and spools unsigned; flush with the env file signs and delivers', async () => {
  const machine = builderMachine(await server.createBuilder('no-env-file'), server.url);
  const missing = path.join(tempDir('missing'), 'hook.env');
  const scripts = hookScripts(tempDir('scripts'), { LILAC_ENV_FILE: missing, LILAC_SPOOL_DIR: machine.spoolDir });

  const build = await nixBuild(derivation('lilac-no-env-file'), [['post-build-hook', scripts.postBuildHook]]);
  assert.equal(build.status, 0, build.log);
  assert.equal(linesOf(build.log, /lilac: settings:/).length, 1, build.log);
  assert.match(build.log, new RegExp(`lilac: settings: no env file at ${missing}`));
  const [entry] = await waitFor('the background flush to spool the build', () => {
    const entries = spooledEntries(machine.spoolDir);
    return entries.length > 0 && entries;
  });
  assert.deepEqual(entry?.submissions.map((submission) => submission.output_sig), ['']);
  await attentionSays(machine.spoolDir, /spooled attestations wait in .* \(no server or token configured\)/);
  const next = await nixBuild(derivation('lilac-no-env-file-again'), [['post-build-hook', scripts.postBuildHook]]);
  assert.match(next.log, /lilac: spooled attestations wait in .* \(no server or token configured\); `lilac flush` sends them/);

  const flush = await run(LILAC_BIN, ['flush'], { ...process.env, LILAC_ENV_FILE: machine.envFile });
  assert.equal(flush.status, 0, flush.stderr);
  assert.deepEqual(await attested(build.outPath), [['no-env-file', 'valid', 'post-build-hook']]);
  assert.deepEqual(await attested(next.outPath), [['no-env-file', 'valid', 'post-build-hook']]);
  assert.ok(!existsSync(path.join(machine.spoolDir, 'attention')), 'a flush that sent everything clears the line');
});

test('bad settings are named in one line of the following builds\' logs and left out: the rest still attests, or spools when nothing can be sent', async () => {
  const machine = builderMachine(await server.createBuilder('bad-settings'), server.url);
  const goodLines = readFileSync(machine.envFile, 'utf8');
  const dir = tempDir('bad-settings');

  const badTimeout = path.join(dir, 'bad-timeout.env');
  writeFileSync(badTimeout, `${goodLines}LILAC_TIMEOUT_MS=soon\nthis is not an assignment\n`);
  const hook = hookScripts(dir, { LILAC_ENV_FILE: badTimeout }).postBuildHook;
  const first = await nixBuild(derivation('lilac-bad-timeout'), [['post-build-hook', hook]]);
  assert.equal(first.status, 0, first.log);
  assert.deepEqual(await attestedEventually(first.outPath), [['bad-settings', 'valid', 'post-build-hook']]);
  await attentionSays(machine.spoolDir, /timeout/);
  const second = await nixBuild(derivation('lilac-bad-timeout-again'), [['post-build-hook', hook]]);
  assert.equal(second.status, 0, second.log);
  assert.equal(linesOf(second.log, /lilac: /).length, 1, second.log);
  assert.match(second.log, /lilac: settings: .*line 7 is not KEY=value: this is not an assignment; timeout must be a positive number of milliseconds, not "soon"/);
  assert.deepEqual(await attestedEventually(second.outPath), [['bad-settings', 'valid', 'post-build-hook']]);

  // A running background flush serves later builds of the same spool with its own settings: let it end first.
  await waitFor('the background flush to end', () => backgroundIdle(machine.spoolDir));
  const garbageKey = path.join(dir, 'garbage.secret');
  writeFileSync(garbageKey, 'not a key\n');
  const badServerAndKey = path.join(dir, 'bad-server-and-key.env');
  writeFileSync(badServerAndKey, `${goodLines}LILAC_SERVER=not a url\nLILAC_SECRET_KEY_FILE=${garbageKey}\n`);
  const badServerHook = hookScripts(dir, { LILAC_ENV_FILE: badServerAndKey }).postBuildHook;
  const third = await nixBuild(derivation('lilac-bad-server'), [['post-build-hook', badServerHook]]);
  assert.equal(third.status, 0, third.log);
  await attentionSays(machine.spoolDir, /server is not a URL/);
  const fourth = await nixBuild(derivation('lilac-bad-server-again'), [['post-build-hook', badServerHook]]);
  assert.equal(fourth.status, 0, fourth.log);
  assert.equal(linesOf(fourth.log, /lilac: /).length, 1, fourth.log);
  assert.match(fourth.log, /lilac: settings: server is not a URL: not a url; the secret key is not a Nix secret key.*; spooled attestations wait in /);
  await waitFor('both builds spooled unsigned', () => spooledEntries(machine.spoolDir).length === 2);
  assert.ok(spooledEntries(machine.spoolDir).every((entry) => entry.submissions.every((submission) => submission.output_sig === '')));
});

test('without the bundle the hook runs the sources, says so, and attests', async () => {
  const machine = builderMachine(await server.createBuilder('no-bundle'), server.url);
  const binDir = hookCheckout({ bundle: null, nodeModules: true });
  const scripts = hookScripts(tempDir('scripts'), { LILAC_ENV_FILE: machine.envFile }, binDir);
  const build = await nixBuild(derivation('lilac-no-bundle'), [['post-build-hook', scripts.postBuildHook]]);
  assert.equal(build.status, 0, build.log);
  assert.equal(linesOf(build.log, /lilac: no bundle at .*dist\/lilac\.mjs, running the sources/).length, 1, build.log);
  assert.deepEqual(await attestedEventually(build.outPath), [['no-bundle', 'valid', 'post-build-hook']]);
});

test('a hook that crashes, or cannot start at all, leaves the build successful, keeps the build, and says why in one line of the next build\'s log', async () => {
  const machine = builderMachine(await server.createBuilder('crash'), server.url);
  const crashing = hookCheckout({ bundle: "throw new Error('simulated crash at start-up');\n", nodeModules: true });
  const unusable = hookCheckout({ bundle: null, nodeModules: false });
  for (const [binDir, cause] of [
    [crashing, /Error: simulated crash at start-up/],
    [unusable, /Cannot find package 'tsx'/],
  ] as const) {
    const spoolDir = path.join(tempDir('crash'), 'spool');
    const scripts = hookScripts(tempDir('scripts'), { LILAC_ENV_FILE: machine.envFile, LILAC_SPOOL_DIR: spoolDir }, binDir);
    const first = await nixBuild(derivation('lilac-crash'), [['post-build-hook', scripts.postBuildHook]]);
    assert.equal(first.status, 0, first.log);
    await attentionSays(spoolDir, cause);
    const build = await nixBuild(derivation('lilac-crash-again'), [['post-build-hook', scripts.postBuildHook]]);
    assert.equal(build.status, 0, build.log);
    const said = linesOf(build.log, /lilac: the background flush failed/);
    assert.equal(said.length, 1, build.log);
    assert.match(said[0]!, cause);
    assert.deepEqual(linesOf(build.log, /^\s+at /), [], 'no stack trace in the build log');
    await waitFor('the second background flush to fail too', () => (readFileSync(path.join(spoolDir, 'delivery.log'), 'utf8').match(/lilac: the background flush failed/g) ?? []).length === 2);
    assert.equal(readdirSync(path.join(spoolDir, 'built')).filter((name) => name.endsWith('.json')).length, 2, 'both builds wait for a flush that works');

    const outPath = build.outPath;
    const diff = await run(scripts.diffHook, [outPath, outPath, '/nix/store/00000000000000000000000000000000-x.drv', '/tmp'], process.env);
    assert.equal(diff.status, 0, diff.stderr);
    assert.equal(diff.stderr.trim().split('\n').length, 1, diff.stderr);
    assert.match(diff.stderr, cause);
  }
});

test('under a real nix-build --check the diff hook fails nothing with no env file, bad settings, no bundle or a crash, and says what is wrong in one line', async () => {
  const machine = builderMachine(await server.createBuilder('diff-hook-broken'), server.url);
  const dir = tempDir('diff-hook-broken');
  const missing = path.join(dir, 'missing.env');
  const missingSpool = path.join(dir, 'spool-no-env-file');
  const badSpool = path.join(dir, 'spool-bad-settings');
  const badSettings = path.join(dir, 'bad.env');
  writeFileSync(badSettings, `${readFileSync(machine.envFile, 'utf8')}LILAC_SERVER=not a url\nLILAC_SPOOL_DIR=${badSpool}\n`);
  const setups: { name: string; variables: Record<string, string>; binDir: string; says: RegExp; spool: string | null }[] = [
    { name: 'no env file', variables: { LILAC_ENV_FILE: missing, LILAC_SPOOL_DIR: missingSpool }, binDir: HOOK_BIN_DIR, says: new RegExp(`lilac: settings: no env file at ${missing}`), spool: missingSpool },
    { name: 'bad settings', variables: { LILAC_ENV_FILE: badSettings }, binDir: HOOK_BIN_DIR, says: /lilac: settings: server is not a URL: not a url/, spool: badSpool },
    { name: 'no bundle', variables: { LILAC_ENV_FILE: machine.envFile }, binDir: hookCheckout({ bundle: null, nodeModules: true }), says: /lilac: no bundle at .*dist\/lilac\.mjs, running the sources/, spool: null },
    { name: 'a crash', variables: { LILAC_ENV_FILE: machine.envFile }, binDir: hookCheckout({ bundle: "throw new Error('simulated crash at start-up');\n", nodeModules: true }), says: /lilac: diff-hook failed \(exit 1\), nothing attested, the build goes on: Error: simulated crash at start-up/, spool: null },
  ];
  const file = derivationFile(dir, 'lilac-random-broken-diff-hook', `echo ${nonce()} > /dev/null; /usr/bin/head -c 16 /dev/urandom > $out`);
  const first = await nixBuild(file, []);
  assert.equal(first.status, 0, first.log);

  for (const setup of setups) {
    const scripts = hookScripts(tempDir('scripts'), setup.variables, setup.binDir);
    const check = await nixBuild(file, [['run-diff-hook', 'true'], ['diff-hook', scripts.diffHook]], ['--check']);
    assert.match(check.log, /may not be deterministic: output .* differs from/, `${setup.name}: Nix ran the check to its end\n${check.log}`);
    assert.doesNotMatch(check.log, /diff hook execution failed/, `${setup.name}: Nix saw the diff hook fail\n${check.log}`);
    assert.equal(linesOf(check.log, setup.says).length, 1, `${setup.name}: one line says what is wrong\n${check.log}`);
    assert.deepEqual(linesOf(check.log, /^\s+at /), [], `${setup.name}: no stack trace in the build log`);
    if (setup.spool !== null) {
      const spool = setup.spool;
      await waitFor(`${setup.name}: the rebuilt hash spooled in ${spool}`, () => existsSync(spool) && spooledEntries(spool).length > 0);
    }
  }
  await waitFor('the rebuilt hash of the run without a bundle delivered, signed', async () =>
    (await attested(first.outPath)).some(([builder, status, source]) => builder === 'diff-hook-broken' && status === 'valid' && source === 'diff-hook'),
  );
});
