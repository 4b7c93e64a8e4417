import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { generateKeyPair, signFingerprint, verifySignedMessage, type NamedKey } from '@lilac/common';
import sodium from 'libsodium-wrappers';
import { SignatureVerifier } from '../src/attestations/signatureVerifier.ts';

/**
 * The edge cases of "Taming the Many EdDSAs" (Chalkias, Garillot, Nikolaenko, 2020), `cases.json` of
 * novifinancial/ed25519-speccheck: small-order keys and R, non-canonical S and encodings.
 */
const speccheckCases = JSON.parse(readFileSync(new URL('./fixtures/ed25519-speccheck-cases.json', import.meta.url), 'utf8')) as {
  message: string;
  pub_key: string;
  signature: string;
}[];

const verifier = new SignatureVerifier();

function namedKey(hex: string): NamedKey {
  return { name: 'speccheck-1', bytes: new Uint8Array(Buffer.from(hex, 'hex')) };
}

test('every speccheck vector gets the verdict libsodium (what Nix verifies with) gives it', async () => {
  await sodium.ready;
  const disagreements: string[] = [];
  const libsodiumAccepted: number[] = [];
  speccheckCases.forEach((vector, index) => {
    const message = Buffer.from(vector.message, 'hex');
    const signature = Buffer.from(vector.signature, 'hex');
    const libsodium = sodium.crypto_sign_verify_detached(signature, message, Buffer.from(vector.pub_key, 'hex'));
    if (libsodium) libsodiumAccepted.push(index);
    const check = verifier.verifyMessage(message, `speccheck-1:${signature.toString('base64')}`, [namedKey(vector.pub_key)]);
    if (check.valid !== libsodium) disagreements.push(`case ${index}: libsodium ${libsodium}, lilac ${JSON.stringify(check)}`);
  });
  assert.deepEqual(disagreements, []);
  // The oracle must tell cases apart, or agreeing with it would prove nothing.
  assert.ok(libsodiumAccepted.length > 0 && libsodiumAccepted.length < speccheckCases.length, `libsodium accepted ${libsodiumAccepted.join(',')}`);
});

test('the browser and hook verifier (tweetnacl) agrees with libsodium on the speccheck vectors too', async () => {
  await sodium.ready;
  speccheckCases.forEach((vector, index) => {
    const message = Buffer.from(vector.message, 'hex');
    const signature = Buffer.from(vector.signature, 'hex');
    const libsodium = sodium.crypto_sign_verify_detached(signature, message, Buffer.from(vector.pub_key, 'hex'));
    const check = verifySignedMessage(message, `speccheck-1:${signature.toString('base64')}`, [namedKey(vector.pub_key)]);
    assert.equal(check.valid, libsodium, `case ${index}: ${JSON.stringify(check)}`);
  });
});

test('a signature by the key it names verifies, and one by another key of the same name does not', () => {
  const { secretKey, publicKey } = generateKeyPair('cache.example.org-1');
  const impostor = generateKeyPair('cache.example.org-1');
  const fingerprint = `1;/nix/store/${'0'.repeat(32)}-x;sha256:${'0'.repeat(52)};1;`;
  assert.deepEqual(verifier.verify(fingerprint, signFingerprint(secretKey, fingerprint), [publicKey]), { valid: true, keyName: 'cache.example.org-1' });
  const forged = verifier.verify(fingerprint, signFingerprint(impostor.secretKey, fingerprint), [publicKey]);
  assert.deepEqual(forged, { valid: false, reason: 'signature does not match key "cache.example.org-1"' });
  assert.equal(verifier.verify(`${fingerprint}x`, signFingerprint(secretKey, fingerprint), [publicKey]).valid, false);
});

test('malformed signatures and unknown key names are reasons, not errors', () => {
  const { publicKey } = generateKeyPair('cache.example.org-1');
  const malformed = verifier.verify('1;x', 'no-colon-here', [publicKey]);
  assert.ok(!malformed.valid && malformed.reason.startsWith('malformed signature'), JSON.stringify(malformed));
  const unknown = verifier.verify('1;x', `other-1:${Buffer.alloc(64).toString('base64')}`, [publicKey]);
  assert.deepEqual(unknown, { valid: false, reason: 'unknown key "other-1"' });
});
