import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { AttestationView } from '@lilac/common';
import { startTestServer, type TestServer } from '@lilac/server/testing';
import { loadHookConfig } from '../src/config.ts';
import { attestRecordedBuilds, type RecordedBuild } from '../src/delivery/recordedBuilds.ts';
import { backgroundIdle } from './support/background.ts';
import { buildBundle, builderMachine, hookCheckout, hookScripts, LILAC_BIN, type BuilderMachine } from './support/builderSetup.ts';
import { derivationFile, nix, nixBuild, nixEnv, nonce, tempDir } from './support/nix.ts';
import { run } from './support/run.ts';
import { waitFor } from './support/waitFor.ts';

let server: TestServer;

before(async () => {
  buildBundle();
  server = await startTestServer();
});
after(() => server.close());

function built(spoolDir: string): string[] {
  try {
    return readdirSync(path.join(spoolDir, 'built')).filter((name) => name.includes('.json'));
  } catch {
    return [];
  }
}

function spooled(spoolDir: string): string[] {
  return readdirSync(spoolDir).filter((name) => name.includes('.json'));
}

async function attested(outPath: string): Promise<AttestationView[]> {
  return (await (await server.request(`/attestations/by-output/${outPath.slice('/nix/store/'.length)}`)).json()) as AttestationView[];
}

/** Builds `count` fresh derivations without a hook; their drv and out paths. */
async function builtWithoutHook(label: string, count: number): Promise<{ drvPath: string; outPath: string }[]> {
  const dir = tempDir('drv');
  const results = [];
  for (let index = 0; index < count; index++) {
    const build = await nixBuild(derivationFile(dir, `lilac-${label}-${index}`, `echo ${label} ${index} ${nonce()} > $out`), []);
    assert.equal(build.status, 0, build.log);
    results.push({ outPath: build.outPath, drvPath: nix(['nix-store', '--query', '--deriver', build.outPath]).trim() });
  }
  return results;
}

/** Runs the post-build-hook wrapper of `binDir` as Nix runs it, with Nix's two variables. */
async function runWrapper(machine: BuilderMachine, binDir: string, variables: { DRV_PATH: string; OUT_PATHS: string }, env: NodeJS.ProcessEnv = {}): Promise<string> {
  const { postBuildHook } = hookScripts(tempDir('scripts'), { LILAC_ENV_FILE: machine.envFile }, binDir);
  const result = await run(postBuildHook, [], { ...nixEnv(), ...env, ...variables });
  assert.equal(result.status, 0, result.stderr);
  return result.stderr;
}

test('the wrapper records builds where lilac reads the env file to look; two flushes at once attest and send each exactly once', async () => {
  const machine = builderMachine(await server.createBuilder('two-flushes'), server.url);
  const spoolDir = path.join(tempDir('quoted'), 'spool dir');
  // The wrapper reads LILAC_SPOOL_DIR itself (sh), lilac with its own parser: both must find the same directory.
  writeFileSync(machine.envFile, `${readFileSync(machine.envFile, 'utf8').replace(/^LILAC_SPOOL_DIR=.*$/m, '')}  export LILAC_SPOOL_DIR = "${spoolDir}"  # quoted\n`);
  // A bundle that does nothing: the records stay for the flushes below instead of a background sender.
  const idle = hookCheckout({ bundle: '', nodeModules: false });
  const builds = await builtWithoutHook('two-flushes', 6);
  for (const [index, { drvPath, outPath }] of builds.entries()) {
    // Newer Nix sets OUT_PATHS; Nix 2.8 leaves it empty and the flush reads the .drv.
    assert.equal(await runWrapper(machine, idle, { DRV_PATH: drvPath, OUT_PATHS: index % 2 === 0 ? outPath : '' }), '');
  }
  assert.equal(built(spoolDir).length, 6);

  const env = { ...process.env, LILAC_ENV_FILE: machine.envFile };
  const [first, second] = await Promise.all([run(LILAC_BIN, ['flush'], env), run(LILAC_BIN, ['flush'], env)]);
  assert.equal(first.status, 0, first.stderr);
  assert.equal(second.status, 0, second.stderr);
  const delivered = [first, second].map((flush) => Number(/delivered (\d+)/.exec(flush.stdout)![1]));
  assert.equal(delivered[0]! + delivered[1]!, 6, `${first.stdout}${second.stdout}`);
  assert.deepEqual([built(spoolDir), spooled(spoolDir)], [[], []]);
  for (const { outPath } of builds) {
    assert.deepEqual((await attested(outPath)).map((view) => [view.builder, view.signature.status, view.source]), [['two-flushes', 'valid', 'post-build-hook']]);
  }
});

test('back to back, the wrapper stays silent and the background flushes, one at a time, send every record once', async () => {
  const machine = builderMachine(await server.createBuilder('back-to-back'), server.url);
  const [{ drvPath, outPath }] = (await builtWithoutHook('back-to-back', 1)) as [{ drvPath: string; outPath: string }];
  for (let run = 0; run < 20; run++) {
    assert.equal(await runWrapper(machine, path.dirname(LILAC_BIN), { DRV_PATH: drvPath, OUT_PATHS: outPath }), '', `run ${run}`);
  }
  await waitFor('the background flush', () => spooled(machine.spoolDir).length === 0 && backgroundIdle(machine.spoolDir));
  const runs = readFileSync(path.join(machine.spoolDir, 'delivery.log'), 'utf8').split('\n').filter((line) => line.includes('background flush:'));
  assert.equal(runs.map((line) => Number(/delivered (\d+)/.exec(line)![1])).reduce((sum, each) => sum + each, 0), 20, runs.join('\n'));
  assert.deepEqual((await attested(outPath)).map((view) => view.builder), ['back-to-back']);
});

test('a recorded build whose output was garbage-collected first is named in the delivery log and dropped', async () => {
  const machine = builderMachine(await server.createBuilder('collected'), server.url);
  const builds = await builtWithoutHook('collected', 2);
  for (const { outPath } of builds) nix(['nix-store', '--delete', outPath]);
  for (const [index, { drvPath, outPath }] of builds.entries()) {
    await runWrapper(machine, path.dirname(LILAC_BIN), { DRV_PATH: drvPath, OUT_PATHS: index === 0 ? outPath : '' });
  }
  await waitFor('the background flush', () => backgroundIdle(machine.spoolDir));
  const lines = readFileSync(path.join(machine.spoolDir, 'delivery.log'), 'utf8');
  for (const { outPath } of builds) assert.match(lines, new RegExp(`${outPath} \\(built by .*\\) was garbage-collected before it was attested: dropped`));
  assert.match(lines, /garbage-collected first/);
  assert.deepEqual([built(machine.spoolDir), spooled(machine.spoolDir)], [[], []]);
  for (const { outPath } of builds) assert.deepEqual(await attested(outPath), []);
});

test('a recorded build that cannot be attested now (no nix on PATH) stays, keeps its build time, and the next flush attests it', async () => {
  const builder = await server.createBuilder('nix-missing');
  const machine = builderMachine(builder, server.url);
  const [{ drvPath, outPath }] = (await builtWithoutHook('nix-missing', 1)) as [{ drvPath: string; outPath: string }];
  const builtAt = '2026-01-02T03:04:05.678Z';
  const records = path.join(machine.spoolDir, 'built');
  mkdirSync(records, { recursive: true });
  const record: RecordedBuild = { DRV_PATH: drvPath, OUT_PATHS: outPath, builtAt };
  writeFileSync(path.join(records, `${builtAt}-1.json`), `${JSON.stringify(record)}\n`);

  const config = loadHookConfig({ LILAC_ENV_FILE: machine.envFile });
  const noNix = tempDir('no-nix');
  const path_ = process.env.PATH;
  process.env.PATH = noNix;
  try {
    assert.deepEqual(await attestRecordedBuilds(config), { attested: 0, gone: 0, left: 1 });
  } finally {
    process.env.PATH = path_;
  }
  assert.deepEqual(built(machine.spoolDir), [`${builtAt}-1.json`]);

  const flush = await run(LILAC_BIN, ['flush'], { ...process.env, LILAC_ENV_FILE: machine.envFile });
  assert.equal(flush.status, 0, flush.stderr);
  assert.match(flush.stdout, /delivered 1, rejected 0/);
  assert.deepEqual(built(machine.spoolDir), []);
  assert.deepEqual((await attested(outPath)).map((view) => [view.builder, view.signature.status, view.built_at]), [['nix-missing', 'valid', builtAt]]);
});

test('a spool the wrapper cannot write is named in one line and the build still succeeds', async () => {
  const machine = builderMachine(await server.createBuilder('unwritable'), server.url);
  const notADirectory = path.join(tempDir('unwritable'), 'file');
  writeFileSync(notADirectory, '');
  chmodSync(notADirectory, 0o400);
  const scripts = hookScripts(tempDir('scripts'), { LILAC_ENV_FILE: machine.envFile, LILAC_SPOOL_DIR: path.join(notADirectory, 'spool') });
  const build = await nixBuild(derivationFile(tempDir('drv'), 'lilac-unwritable', `echo ${nonce()} > $out`), [['post-build-hook', scripts.postBuildHook]]);
  assert.equal(build.status, 0, build.log);
  const said = build.log.split('\n').filter((line) => line.includes('lilac: '));
  assert.equal(said.length, 1, build.log);
  assert.match(said[0]!, /lilac: cannot record the build in .*\/file\/spool\/built, nothing attested: .*Not a directory/);
});

test('a broken record is moved to built/rejected and does not stop the others', async () => {
  const machine = builderMachine(await server.createBuilder('broken-record'), server.url);
  const [{ drvPath, outPath }] = (await builtWithoutHook('broken-record', 1)) as [{ drvPath: string; outPath: string }];
  const records = path.join(machine.spoolDir, 'built');
  mkdirSync(records, { recursive: true });
  writeFileSync(path.join(records, '2026-01-01T00:00:00.000Z-1.json'), '{"DRV_PATH":"/etc/passwd","OUT_PATHS":"","builtAt":"x"}\n');
  writeFileSync(path.join(records, '2026-01-01T00:00:00.000Z-2.json'), 'not json\n');
  const record: RecordedBuild = { DRV_PATH: drvPath, OUT_PATHS: '', builtAt: new Date().toISOString() };
  writeFileSync(path.join(records, '2026-01-01T00:00:00.000Z-3.json'), JSON.stringify(record));

  const flush = await run(LILAC_BIN, ['flush'], { ...process.env, LILAC_ENV_FILE: machine.envFile });
  assert.equal(flush.status, 0, flush.stderr);
  assert.match(flush.stdout, /delivered 1, rejected 0/);
  assert.equal(readdirSync(path.join(records, 'rejected')).length, 2);
  assert.deepEqual((await attested(outPath)).map((view) => view.builder), ['broken-record']);
});
