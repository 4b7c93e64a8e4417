import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { AttestationResult, AttestationSubmission } from '@lilac/common';
import { readHookConfig } from '../src/config.ts';
import { runFollowUps, saveWantedListings } from '../src/listings/followUps.ts';
import { tempDir } from './support/nix.ts';

const DIGEST = '0123456789abcdfghijklmnpqrsvwxyz';

function submission(name: string, narHash: string): AttestationSubmission {
  return { output_digest: DIGEST, output_name: name, output_hash: narHash, output_sig: '' };
}

function result(name: string, listingWanted: boolean): AttestationResult {
  return { outPath: `/nix/store/${DIGEST}-${name}`, verdict: 'nondeterministic', signature: { status: 'valid', reason: null }, ...(listingWanted && { listingWanted }) };
}

function followUps(spoolDir: string): unknown[] {
  const dir = path.join(spoolDir, 'follow-ups');
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .map((name) => JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as unknown);
}

test('a listing the answer asks for is kept to upload: the store copy, under the hash that was attested', () => {
  const spoolDir = tempDir('follow-ups');
  const submissions = [submission('wanted', 'sha256:aaa'), submission('not-wanted', 'sha256:bbb')];
  assert.equal(saveWantedListings(spoolDir, submissions, [result('wanted', true), result('not-wanted', false), result('unknown', true)]), 1);
  const outPath = `/nix/store/${DIGEST}-wanted`;
  assert.deepEqual(followUps(spoolDir), [{ outPath, copies: [{ path: outPath, narHash: 'sha256:aaa' }], diffoscope: false, tries: 0 }]);
});

test('a follow-up that cannot be sent is tried once more by the next flush, then dropped', async () => {
  const spoolDir = tempDir('follow-ups');
  // No server configured: nothing can be sent, which may pass.
  const { config } = readHookConfig({ LILAC_ENV_FILE: '', LILAC_SPOOL_DIR: spoolDir });
  saveWantedListings(spoolDir, [submission('wanted', 'sha256:aaa')], [result('wanted', true)]);
  await runFollowUps(config);
  assert.deepEqual(
    followUps(spoolDir).map((followUp) => (followUp as { tries: number }).tries),
    [1],
  );
  await runFollowUps(config);
  assert.deepEqual(followUps(spoolDir), []);
});
