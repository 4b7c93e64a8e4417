/**
 * What differs, from the builder side, with real Nix: listings and diffoscope
 * output reach the server when an output has more than one hash.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { OutputDetail, OutputDiff } from '@lilac/common';
import type { TestServer } from '@lilac/server/testing';
import { findDiffoscope } from '../src/listings/diffoscope.ts';
import { LILAC_BIN, serverWithTwoMachines, type BuilderMachine } from './support/builderSetup.ts';
import { derivationFile, nix, nixBuild, nixEnv, nonce, tempDir } from './support/nix.ts';
import { run } from './support/run.ts';
import { waitFor } from './support/waitFor.ts';

let server: TestServer;
let alice: BuilderMachine;
let bob: BuilderMachine;
let aliceToken: string;

before(async () => ({ server, alice, bob, aliceToken } = await serverWithTwoMachines()));
after(() => server.close());

function baseName(outPath: string): string {
  return outPath.slice('/nix/store/'.length);
}

async function verdict(outPath: string): Promise<string | null> {
  const response = await server.request(`/api/v1/outputs/${baseName(outPath)}`);
  return response.status === 200 ? ((await response.json()) as OutputDetail).verdict : null;
}

/** Two fixed files and one of random bytes: only `random` can differ between two builds. */
function twoFixedOneRandom(name: string): string {
  const script = `/bin/mkdir -p $out/share; echo fixed > $out/fixed; echo ${name} > $out/share/also-fixed; /usr/bin/head -c 16 /dev/urandom > $out/random`;
  return derivationFile(tempDir('drv'), name, script);
}

/** Every `{path, change}` the diff answer holds, wherever its shape puts them. */
function differingPaths(answer: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(answer)) {
    for (const item of answer) differingPaths(item, found);
  } else if (typeof answer === 'object' && answer !== null) {
    const record = answer as Record<string, unknown>;
    if (typeof record.path === 'string' && typeof record.change === 'string') found.add(record.path);
    for (const value of Object.values(record)) differingPaths(value, found);
  }
  return found;
}

/** Values under keys naming diffoscope (a link to its output, or the output itself). */
function diffoscopeMentions(answer: unknown, found: unknown[] = []): unknown[] {
  if (Array.isArray(answer)) {
    for (const item of answer) diffoscopeMentions(item, found);
  } else if (typeof answer === 'object' && answer !== null) {
    for (const [key, value] of Object.entries(answer)) {
      const empty = value === null || value === undefined || value === false || (Array.isArray(value) && value.length === 0);
      if (/diffoscope/i.test(key) && !empty) found.push(value);
      diffoscopeMentions(value, found);
    }
  }
  return found;
}

/** Lines bob's background senders wrote about `outPath`. */
function deliveryLog(machine: BuilderMachine, outPath: string): string[] {
  try {
    return readFileSync(path.join(machine.spoolDir, 'delivery.log'), 'utf8')
      .split('\n')
      .filter((line) => line.includes(outPath));
  } catch {
    return [];
  }
}

/** A derivation with two fixed files and a random one, built on Alice's machine with her post-build-hook, once the server has her attestation. */
async function builtByAlice(prefix: string) {
  const file = twoFixedOneRandom(`${prefix}-${nonce()}`);
  const drvPath = nix(['nix-instantiate', file]).trim();
  const first = await nixBuild(file, [['post-build-hook', alice.postBuildHook]]);
  assert.equal(first.status, 0, first.log);
  const outPath = first.outPath;
  await waitFor(`alice's attestation of ${outPath}`, async () => (await verdict(outPath)) === 'one-build');
  return { drvPath, outPath };
}

test('built with the hook, rebuilt by `lilac rebuild`: the diff API names exactly the random file, and diffoscope output arrives', async () => {
  const { drvPath, outPath } = await builtByAlice('lilac-listing');

  // Bob's machine has no copy: his rebuild builds it (his post-build-hook attests that build, and is asked for its listing), then --check builds it again.
  nix(['nix-store', '--delete', outPath]);
  const enqueued = await server.request('/api/v1/jobs', { method: 'POST', token: aliceToken, json: [{ drvPath, output: 'out', outPath }] });
  assert.equal(enqueued.status, 200);
  const bobsNix = { ...bob.env, NIX_CONFIG: nixEnv([`post-build-hook = ${bob.postBuildHook}`]).NIX_CONFIG };
  const rebuilt = await run(LILAC_BIN, ['rebuild', '--until-empty', '--poll-ms', '200'], bobsNix);
  assert.equal(rebuilt.status, 0, rebuilt.stderr);
  assert.match(rebuilt.stderr, new RegExp(`listing of ${outPath}\\.check \\(sha256:\\w+, 5 entries\\) (sent|was already on the server)`), rebuilt.stderr);
  assert.equal(await verdict(outPath), 'nondeterministic');

  const diff = await waitFor('the diff of two listed copies', async () => {
    const answer: unknown = await (await server.request(`/api/v1/outputs/${baseName(outPath)}/diff`)).json();
    return differingPaths(answer).size > 0 && answer;
  });
  assert.deepEqual([...differingPaths(diff)], ['random'], JSON.stringify(diff));

  // Bob's hook attested his first build when alice's hash was there already: the answer asked for its listing.
  await waitFor(`bob's background sender to upload the listing asked for`, () =>
    deliveryLog(bob, outPath).some((line) => new RegExp(`listing of ${outPath} \\(sha256:\\w+, 5 entries\\) (sent|was already on the server)`).test(line)),
  );

  if (findDiffoscope() === null) {
    assert.match(rebuilt.stderr, /diffoscope is not installed/);
    return;
  }
  const withDiffoscope = await waitFor('diffoscope output in the diff', async () => {
    const answer: unknown = await (await server.request(`/api/v1/outputs/${baseName(outPath)}/diff`)).json();
    return diffoscopeMentions(answer).length > 0 && answer;
  });
  const link = diffoscopeMentions(withDiffoscope).find((value): value is string => typeof value === 'string' && value.startsWith('/'));
  if (link !== undefined) {
    const output = await server.request(link);
    assert.equal(output.status, 200, link);
    assert.match(await output.text(), /random/);
  }
});

test('the diff hook leaves both listings and a diffoscope run to the background sender, after the attestation', async () => {
  const name = `lilac-listing-diff-hook-${nonce()}`;
  const file = twoFixedOneRandom(name);
  const first = await nixBuild(file, [['post-build-hook', alice.postBuildHook]]);
  assert.equal(first.status, 0, first.log);
  const outPath = first.outPath;
  await waitFor(`alice's attestation of ${outPath}`, async () => (await verdict(outPath)) === 'one-build');

  const check = await nixBuild(file, [['run-diff-hook', 'true'], ['diff-hook', bob.diffHook], ['post-build-hook', bob.postBuildHook]], ['--check']);
  assert.notEqual(check.status, 0, 'a --check of random output must fail');
  await waitFor(`${outPath} to be nondeterministic`, async () => (await verdict(outPath)) === 'nondeterministic');
  // Each copy's listing is tried (the server takes the registered copy's only from a builder that attested it).
  const lines = await waitFor('the listings of both copies tried', () => {
    const logged = deliveryLog(bob, outPath);
    const tried = (copy: string) => logged.some((line) => line.includes(`listing of ${copy} (sha256:`));
    return tried(outPath) && tried(`${outPath}.check`) && logged;
  });
  if (findDiffoscope() !== null) {
    await waitFor('diffoscope run and its output tried', () => deliveryLog(bob, outPath).some((line) => line.includes(`diffoscope text output for ${outPath}`)));
  }
  assert.ok(lines.every((line) => !/no listing of/.test(line)), lines.join('\n'));
});

/** The copies a machine's background sender noted as attested (`<spool>/attested/`). */
function journalled(machine: BuilderMachine): string[] {
  const dir = path.join(machine.spoolDir, 'attested');
  try {
    return readdirSync(dir)
      .filter((name) => name.endsWith('.json'))
      .map((name) => readFileSync(path.join(dir, name), 'utf8'));
  } catch {
    return [];
  }
}

test('built with the hook before any other hash: once another builder differs, the next flush uploads the listing asked for', async () => {
  const { drvPath, outPath } = await builtByAlice('lilac-listing-later');
  // Her background sender noted the copy once delivered; only then can a later flush ask about it.
  await waitFor(`alice's note of her copy of ${outPath}`, () => journalled(alice).some((line) => line.includes(outPath)));

  // Bob rebuilds with the store's copy in place: --check differs, he attests his `.check` copy and lists it; alice's copy stays hers.
  const enqueued = await server.request('/api/v1/jobs', { method: 'POST', token: aliceToken, json: [{ drvPath, output: 'out', outPath }] });
  assert.equal(enqueued.status, 200);
  const rebuilt = await run(LILAC_BIN, ['rebuild', '--until-empty', '--poll-ms', '200'], bob.env);
  assert.equal(rebuilt.status, 0, rebuilt.stderr);
  assert.equal(await verdict(outPath), 'nondeterministic');
  const before = (await (await server.request(`/api/v1/outputs/${baseName(outPath)}/diff`)).json()) as OutputDiff;
  assert.deepEqual(before.pairs[0]?.waitingFor, ['alice'], JSON.stringify(before));

  const flushed = await run(LILAC_BIN, ['flush'], alice.env);
  assert.equal(flushed.status, 0, flushed.stderr);
  assert.match(flushed.stderr, new RegExp(`listing of ${outPath} \\(sha256:\\w+, 5 entries\\) sent`), flushed.stderr);
  const diff = (await (await server.request(`/api/v1/outputs/${baseName(outPath)}/diff`)).json()) as OutputDiff;
  assert.deepEqual(diff.pairs[0]?.listingsMissing, [], JSON.stringify(diff));
  assert.deepEqual([...differingPaths(diff)], ['random'], JSON.stringify(diff));
});
