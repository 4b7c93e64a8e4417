import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Verdict } from '@lilac/common';
import { withStatement } from '../src/attestations/hashGroups.ts';
import { decideVerdict } from '../src/attestations/verdict.ts';

// Each row: who reported which hash (valid signatures only), and the verdict docs/design.md's table gives.
const table: { case: string; hashes: Record<string, string[]>; verdict: Verdict }[] = [
  { case: 'nobody built it', hashes: {}, verdict: 'no-builds' },
  { case: 'one builder, one hash', hashes: { h1: ['alice'] }, verdict: 'one-build' },
  { case: 'two builders agree', hashes: { h1: ['alice', 'bob'] }, verdict: 'reproduced' },
  { case: 'three builders agree', hashes: { h1: ['alice', 'bob', 'carol'] }, verdict: 'reproduced' },
  { case: 'two agree, a third differs', hashes: { h1: ['alice', 'bob'], h2: ['carol'] }, verdict: 'partially-reproduced' },
  { case: 'two builders, two hashes', hashes: { h1: ['alice'], h2: ['bob'] }, verdict: 'nondeterministic' },
  { case: 'three builders, three hashes', hashes: { h1: ['alice'], h2: ['bob'], h3: ['carol'] }, verdict: 'nondeterministic' },
  { case: "one builder whose own --check rebuild differed", hashes: { h1: ['alice'], h2: ['alice'] }, verdict: 'nondeterministic' },
  { case: 'a builder agrees with another and also differs from itself', hashes: { h1: ['alice', 'bob'], h2: ['alice'] }, verdict: 'partially-reproduced' },
  { case: 'a hash nobody verified does not count', hashes: { h1: ['alice'], h2: [] }, verdict: 'one-build' },
];

for (const row of table) {
  test(`verdict: ${row.case} → ${row.verdict}`, () => {
    const hashes = Object.entries(row.hashes).map(([narHash, verifiedBuilders]) => ({ narHash, verifiedBuilders }));
    assert.equal(decideVerdict(hashes), row.verdict);
  });
}

test('an unverified statement is shown but never counted, and a later verified one lifts it', () => {
  const unverified = withStatement([], { builder: 'alice', narHash: 'h1', verified: false });
  assert.deepEqual(unverified, [{ narHash: 'h1', verifiedBuilders: [], unverifiedBuilders: ['alice'] }]);
  assert.equal(decideVerdict(unverified ?? []), 'no-builds');
  const verified = withStatement(unverified ?? [], { builder: 'alice', narHash: 'h1', verified: true });
  assert.deepEqual(verified, [{ narHash: 'h1', verifiedBuilders: ['alice'], unverifiedBuilders: [] }]);
  assert.equal(withStatement(verified ?? [], { builder: 'alice', narHash: 'h1', verified: false }), null);
  assert.equal(withStatement(verified ?? [], { builder: 'alice', narHash: 'h1', verified: true }), null);
});
