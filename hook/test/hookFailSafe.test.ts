import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { AttestationView } from '@lilac/common';
import { startTestServer, type TestServer } from '@lilac/server/testing';
import type { SpooledSubmission } from '../src/delivery/spool.ts';
import { buildBundle, builderMachine, hookCheckout, hookScripts, LILAC_BIN } from './support/builderSetup.ts';
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
  const [entry] = spooledEntries(machine.spoolDir);
  assert.deepEqual(entry?.submissions.map((submission) => submission.output_sig), ['']);

  const flush = await run(LILAC_BIN, ['flush'], { ...process.env, LILAC_ENV_FILE: machine.envFile });
  assert.equal(flush.status, 0, flush.stderr);
  assert.deepEqual(await attested(build.outPath), [['no-env-file', 'valid', 'post-build-hook']]);
});

test('bad settings are named in one line and left out: the rest still attests, or spools when nothing can be sent', async () => {
  const machine = builderMachine(await server.createBuilder('bad-settings'), server.url);
  const goodLines = readFileSync(machine.envFile, 'utf8');
  const dir = tempDir('bad-settings');

  const badTimeout = path.join(dir, 'bad-timeout.env');
  writeFileSync(badTimeout, `${goodLines}LILAC_TIMEOUT_MS=soon\nthis is not an assignment\n`);
  const first = await nixBuild(derivation('lilac-bad-timeout'), [['post-build-hook', hookScripts(dir, { LILAC_ENV_FILE: badTimeout }).postBuildHook]]);
  assert.equal(first.status, 0, first.log);
  assert.equal(linesOf(first.log, /lilac: settings:/).length, 1, first.log);
  assert.match(first.log, /line 7 is not KEY=value: this is not an assignment; timeout must be a positive number of milliseconds, not "soon"/);
  assert.deepEqual(await attestedEventually(first.outPath), [['bad-settings', 'valid', 'post-build-hook']]);

  const garbageKey = path.join(dir, 'garbage.secret');
  writeFileSync(garbageKey, 'not a key\n');
  const badServerAndKey = path.join(dir, 'bad-server-and-key.env');
  writeFileSync(badServerAndKey, `${goodLines}LILAC_SERVER=not a url\nLILAC_SECRET_KEY_FILE=${garbageKey}\n`);
  const second = await nixBuild(derivation('lilac-bad-server'), [['post-build-hook', hookScripts(dir, { LILAC_ENV_FILE: badServerAndKey }).postBuildHook]]);
  assert.equal(second.status, 0, second.log);
  assert.equal(linesOf(second.log, /lilac: settings:/).length, 1, second.log);
  assert.match(second.log, /server is not a URL: not a url; the secret key is not a Nix secret key/);
  assert.match(second.log, /spooled attestations/);
  assert.equal(spooledEntries(machine.spoolDir).length, 1);
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

test('a hook that crashes, or cannot start at all, leaves the build successful with one line saying why', async () => {
  const machine = builderMachine(await server.createBuilder('crash'), server.url);
  const crashing = hookCheckout({ bundle: "throw new Error('simulated crash at start-up');\n", nodeModules: true });
  const unusable = hookCheckout({ bundle: null, nodeModules: false });
  for (const [binDir, cause] of [
    [crashing, /Error: simulated crash at start-up/],
    [unusable, /Cannot find package 'tsx'/],
  ] as const) {
    const scripts = hookScripts(tempDir('scripts'), { LILAC_ENV_FILE: machine.envFile }, binDir);
    const build = await nixBuild(derivation('lilac-crash'), [['post-build-hook', scripts.postBuildHook]]);
    assert.equal(build.status, 0, build.log);
    const said = linesOf(build.log, /lilac: post-build-hook failed/);
    assert.equal(said.length, 1, build.log);
    assert.match(said[0]!, cause);
    assert.deepEqual(linesOf(build.log, /^\s+at /), [], 'no stack trace in the build log');

    const outPath = build.outPath;
    const diff = await run(scripts.diffHook, [outPath, outPath, '/nix/store/00000000000000000000000000000000-x.drv', '/tmp'], process.env);
    assert.equal(diff.status, 0, diff.stderr);
    assert.equal(diff.stderr.trim().split('\n').length, 1, diff.stderr);
    assert.match(diff.stderr, cause);
  }
});
