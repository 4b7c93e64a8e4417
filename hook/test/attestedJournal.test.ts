import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { AttestationSubmission } from '@lilac/common';
import { journalAttested, MAX_JOURNAL } from '../src/listings/attestedJournal.ts';
import { tempDir } from './support/nix.ts';

const DIGEST = '0123456789abcdfghijklmnpqrsvwxyz';
const HASH = 'sha256:1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s';

function submission(name: string, source?: AttestationSubmission['source']): AttestationSubmission {
  return { output_digest: DIGEST, output_name: name, output_hash: HASH, output_sig: '', ...(source !== undefined && { source }) };
}

function noted(spoolDir: string): { outPath: string; narHash: string }[] {
  const dir = path.join(spoolDir, 'attested');
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .map((name) => JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as { outPath: string; narHash: string });
}

test("delivered attestations are noted once each, but the diff hook's `.check` copies and listings already asked for", () => {
  const spoolDir = tempDir('journal');
  const results = [{ outPath: `/nix/store/${DIGEST}-asked`, verdict: 'nondeterministic' as const, signature: { status: 'valid' as const, reason: null }, listingWanted: true }];
  journalAttested(spoolDir, [submission('built'), submission('built'), submission('checked', 'diff-hook'), submission('asked')], results);
  assert.deepEqual(noted(spoolDir), [{ outPath: `/nix/store/${DIGEST}-built`, narHash: HASH }]);
});

test('the journal holds at most MAX_JOURNAL notes, forgetting the oldest', () => {
  const spoolDir = tempDir('journal');
  journalAttested(spoolDir, Array.from({ length: MAX_JOURNAL + 5 }, (_, index) => submission(`output-${index}`)));
  assert.equal(noted(spoolDir).length, MAX_JOURNAL);
});
