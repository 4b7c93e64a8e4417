import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { generateKeyPair, parseSecretKey, signFingerprint } from '@lilac/common';
import { signFingerprintFast } from '../src/attest/fingerprintSigner.ts';
import { signedSubmission } from '../src/attest/submission.ts';
import { parsePathInfoJson, queryPathInfo } from '../src/store/pathInfo.ts';
import { nix, nixKeyPair, nonce, tempDir } from './support/nix.ts';

test('the signature lilac computes for a store path equals the one nix store sign writes', async () => {
  const dir = tempDir('sign');
  const dependency = path.join(dir, `dep-${nonce()}`);
  writeFileSync(dependency, 'dependency\n');
  const dependencyPath = nix(['nix-store', '--add', dependency]).trim();
  // A path with a reference, so the fingerprint's reference list is exercised.
  const file = path.join(dir, 'refers');
  writeFileSync(file, `points at ${dependencyPath}\n`);
  const storePath = nix(['nix-store', '--add', file]).trim();
  // `nix-store --add` does not scan for references; a text-hashed path via `builtins.toFile` does.
  const withRefs = nix(['nix-instantiate', '--eval', '--read-write-mode', '--expr', `builtins.toFile "lilac-refs-${nonce()}" "points at \${builtins.storePath ${JSON.stringify(dependencyPath)}}"`])
    .trim()
    .replace(/^"|"$/g, '');
  const key = nixKeyPair(dir, `lilac-test-${nonce()}`);

  for (const target of [storePath, withRefs]) {
    nix(['nix', 'store', 'sign', '--key-file', key.secretFile, target]);
    const [info] = await queryPathInfo([target]);
    const nixSignature = info!.signatures.find((sig) => sig.startsWith(`${key.publicKey.split(':')[0]}:`));
    assert.ok(nixSignature, `nix path-info --sigs shows no signature by our key for ${target}`);
    const ours = signedSubmission(info!, parseSecretKey(key.secretKey), 'post-build-hook');
    assert.equal(ours.output_sig, nixSignature);
  }
  const [refsInfo] = await queryPathInfo([withRefs]);
  assert.deepEqual(refsInfo!.references, [dependencyPath]);
});

test('path info is read from both shapes nix path-info --json has printed', () => {
  const outPath = '/nix/store/cln58z4668miq76i6lpb6vx4419n1dqz-probe';
  const dep = '/nix/store/bfsm8yfiplgqi07w1ii0fywqy0xzp41g-dep';
  const nix28 = JSON.stringify([
    { path: outPath, narHash: 'sha256-S8XSFZSNRlgQYShPKinP3ZxPjCq1iTxXHfkreHfX8CI=', narSize: 128, references: [dep], signatures: ['k:sig'] },
  ]);
  const nix2_19 = JSON.stringify({
    [outPath]: { narHash: 'sha256:08phsxvphazr3mbkr2dm5a64z76xrwljlkr8c485hildjhax5iab', narSize: 128, references: ['bfsm8yfiplgqi07w1ii0fywqy0xzp41g-dep'], signatures: ['k:sig'] },
  });
  const [a] = parsePathInfoJson(nix28);
  const [b] = parsePathInfoJson(nix2_19);
  assert.equal(a!.narHash, 'sha256:08phsxvphazr3mbkr2dm5a64z76xrwljlkr8c485hildjhax5iab');
  assert.deepEqual(b, a && { ...a, deriver: null });
  assert.throws(() => parsePathInfoJson(JSON.stringify({ [outPath]: null })), /not a valid path/);
});

test('signing through OpenSSL gives the bytes tweetnacl gives, for any key and fingerprint', () => {
  for (let index = 0; index < 50; index++) {
    const { secretKey } = generateKeyPair(`key-${index}`);
    const fingerprint = `1;/nix/store/cln58z4668miq76i6lpb6vx4419n1dqz-${nonce()};sha256:08phsxvphazr3mbkr2dm5a64z76xrwljlkr8c485hildjhax5iab;${index};`;
    assert.equal(signFingerprintFast(secretKey, fingerprint), signFingerprint(secretKey, fingerprint));
  }
});
