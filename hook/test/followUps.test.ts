import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { AttestationResult, AttestationSubmission } from '@lilac/common';
import { readHookConfig } from '../src/config.ts';
import { reclaimAbandonedFollowUps, runFollowUps, saveFollowUp, saveWantedListings } from '../src/listings/followUps.ts';
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

test('a follow-up whose sender was killed holding it goes back for another try; one a live sender holds stays', async () => {
  const spoolDir = tempDir('follow-ups');
  const dir = path.join(spoolDir, 'follow-ups');
  const dead = spawnSync('/bin/true').pid as number;
  const alive = spawn('/bin/sleep', ['60']);
  try {
    const outPath = (name: string) => `/nix/store/${DIGEST}-${name}`;
    const hold = (name: string, tries: number, pid: number) => {
      saveFollowUp(spoolDir, { outPath: outPath(name), copies: [{ path: outPath(name), narHash: 'sha256:aaa' }], diffoscope: false }, tries);
      const file = readdirSync(dir).find((candidate) => candidate.endsWith('.json') && readFileSync(path.join(dir, candidate), 'utf8').includes(outPath(name))) as string;
      renameSync(path.join(dir, file), path.join(dir, `${file}.taken-${pid}`));
    };
    hold('killed-once', 0, dead);
    hold('killed-twice', 1, dead);
    hold('being-sent', 0, alive.pid as number);
    assert.equal(reclaimAbandonedFollowUps(spoolDir), 1);
    assert.deepEqual(followUps(spoolDir), [{ outPath: outPath('killed-once'), copies: [{ path: outPath('killed-once'), narHash: 'sha256:aaa' }], diffoscope: false, tries: 1 }]);
    assert.deepEqual(
      readdirSync(dir).filter((name) => name.includes('.taken-')).map((name) => name.slice(name.indexOf('.taken-'))),
      [`.taken-${alive.pid}`],
    );
  } finally {
    alive.kill();
  }
});
