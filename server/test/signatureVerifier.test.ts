import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { generateKeyPair, signFingerprint } from '@lilac/common';
import { SignatureVerifier } from '../src/attestations/signatureVerifier.ts';

const verifier = new SignatureVerifier(2);
after(() => verifier.close());

test('checks answered out of order across threads each get their own answer', async () => {
  const { secretKey, publicKey } = generateKeyPair('cache.example.org-1');
  const other = generateKeyPair('cache.example.org-1');
  const fingerprints = Array.from({ length: 24 }, (_, index) => `1;/nix/store/${String(index).padStart(32, '0')}-x;sha256:0;${index};`);
  const checks = await Promise.all(
    fingerprints.map((fingerprint, index) => {
      // Every third is signed by another key of the same name, so a mixed-up answer shows.
      const signer = index % 3 === 0 ? other.secretKey : secretKey;
      return verifier.verify(fingerprint, signFingerprint(signer, fingerprint), [publicKey]);
    }),
  );
  checks.forEach((check, index) => assert.equal(check.valid, index % 3 !== 0, `check ${index}: ${JSON.stringify(check)}`));
});

test('malformed signatures and unknown key names are reasons, not errors', async () => {
  const { publicKey } = generateKeyPair('cache.example.org-1');
  const malformed = await verifier.verify('1;x', 'no-colon-here', [publicKey]);
  assert.ok(!malformed.valid && malformed.reason.startsWith('malformed signature'), JSON.stringify(malformed));
  const unknown = await verifier.verify('1;x', `other-1:${Buffer.alloc(64).toString('base64')}`, [publicKey]);
  assert.deepEqual(unknown, { valid: false, reason: 'unknown key "other-1"' });
});
