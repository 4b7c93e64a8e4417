import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  formatKey,
  narHashToSri,
  narinfoFingerprint,
  normaliseNarHash,
  parsePublicKey,
  parseSecretKey,
  publicKeyOf,
  signFingerprint,
  verifyFingerprintSignature,
} from '../src/index.ts';

// Made with Nix 2.8: `nix-store --generate-binary-cache-key test-1 sk pk`,
// `nix-store --add vec.txt`, `nix store sign --key-file sk`, `nix path-info --json --sigs`.
const secretKey = 'test-1:7VPdgWhv6rkVXtn2zdSloE6N572K9p8V28J5QMLIK8YYQl90gYwvzrmAiwN0ZzrWpJK0e3CBhkwIkJf5Bk1qmA==';
const publicKey = 'test-1:GEJfdIGML865gIsDdGc61qSStHtwgYZMCJCX+QZNapg=';
const outPath = '/nix/store/c35shi5ngx898rna4g5nazmj89hhw6bh-vec.txt';
const sriHash = 'sha256-T+ZOTLQPP62Qrggkg0EkAShg6Jke7lI7j0EU+HPDxRc=';
const nixSignature = 'test-1:h/EmlGOhRJ91rCKMaYEE/WVmcS0/jw7PWXDB2NF3fo9hrsVm06Xlws/lNzSmu5brHmUsIBOi1AF+kgwBf12KAA==';
const info = { outPath, narHash: sriHash, narSize: 136, references: [] };

test('NAR hashes normalise between SRI, nix base32 and hex', () => {
  const base32 = normaliseNarHash(sriHash);
  assert.match(base32, /^sha256:[0-9a-df-np-sv-z]{52}$/);
  assert.equal(normaliseNarHash(base32), base32);
  assert.equal(narHashToSri(base32), sriHash);
  const hex = `sha256:${Buffer.from(sriHash.slice(7), 'base64').toString('hex')}`;
  assert.equal(normaliseNarHash(hex), base32);
  assert.throws(() => normaliseNarHash('md5:abc'), { name: 'InvalidNarHashError' });
  assert.throws(() => normaliseNarHash('sha256-short='), { name: 'InvalidNarHashError' });
});

test('signs the fingerprint to the exact signature Nix wrote', () => {
  const fingerprint = narinfoFingerprint(info);
  assert.equal(fingerprint, `1;${outPath};${normaliseNarHash(sriHash)};136;`);
  assert.equal(signFingerprint(parseSecretKey(secretKey), fingerprint), nixSignature);
  assert.equal(formatKey(publicKeyOf(parseSecretKey(secretKey))), publicKey);
});

test('verifies a Nix signature and names what is wrong with a bad one', () => {
  const keys = [parsePublicKey(publicKey)];
  const fingerprint = narinfoFingerprint(info);
  assert.deepEqual(verifyFingerprintSignature(fingerprint, nixSignature, keys), { valid: true, keyName: 'test-1' });

  const tampered = narinfoFingerprint({ ...info, narSize: 137 });
  const wrong = verifyFingerprintSignature(tampered, nixSignature, keys);
  assert.equal(wrong.valid, false);
  assert.match(!wrong.valid ? wrong.reason : '', /does not match/);

  const unknown = verifyFingerprintSignature(fingerprint, nixSignature.replace('test-1', 'other-1'), keys);
  assert.match(!unknown.valid ? unknown.reason : '', /unknown key "other-1"/);

  const garbage = verifyFingerprintSignature(fingerprint, 'test-1:not base64!', keys);
  assert.match(!garbage.valid ? garbage.reason : '', /malformed/);
});

test('fingerprint sorts references by bytes and keeps full paths', () => {
  const a = '/nix/store/0a35shi5ngx898rna4g5nazmj89hhw6b-zlib';
  const b = '/nix/store/c35shi5ngx898rna4g5nazmj89hhw6bh-vec.txt';
  const fingerprint = narinfoFingerprint({ ...info, references: [b, a] });
  assert.ok(fingerprint.endsWith(`;${a},${b}`));
});

test('keys of the wrong length are refused', () => {
  assert.throws(() => parsePublicKey('k:AAAA'), /32 bytes/);
  assert.throws(() => parseSecretKey(publicKey), /64 bytes/);
  assert.throws(() => parsePublicKey('no-colon'), /<key name>:<base64>/);
});

test('public keys libsodium could never verify with are refused with the reason', () => {
  const encode = (bytes: number[]) => `bad-1:${Buffer.from(bytes).toString('base64')}`;
  assert.throws(() => parsePublicKey(encode(Array<number>(32).fill(0))), /bad-1: public key is a point of small order/);
  // y = p + 1: a non-canonical spelling of the identity.
  assert.throws(() => parsePublicKey(encode([0xee, ...Array<number>(30).fill(0xff), 0x7f])), /bad-1: public key is not a canonical point encoding/);
  assert.equal(parsePublicKey(publicKey).name, 'test-1');
});
