import { createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { formatKey, type NamedKey } from '@lilac/common';

/** DER prefix of an Ed25519 PKCS#8 private key (RFC 8410); the 32-byte seed follows. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

const keyObjects = new WeakMap<NamedKey, KeyObject>();

/**
 * `signFingerprint` of @lilac/common (what `nix store sign` writes), through
 * OpenSSL: the hooks sign while Nix waits, where tweetnacl spends about 10 ms
 * of CPU a signature. Ed25519 is deterministic, so both give the same bytes.
 */
export function signFingerprintFast(secretKey: NamedKey, fingerprint: string): string {
  let keyObject = keyObjects.get(secretKey);
  if (!keyObject) {
    // A Nix secret key is tweetnacl's 64 bytes: the seed, then the public key.
    keyObject = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, secretKey.bytes.subarray(0, 32)]), format: 'der', type: 'pkcs8' });
    keyObjects.set(secretKey, keyObject);
  }
  return formatKey({ name: secretKey.name, bytes: new Uint8Array(sign(null, Buffer.from(fingerprint, 'utf8'), keyObject)) });
}
