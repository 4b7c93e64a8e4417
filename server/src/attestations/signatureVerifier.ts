import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { matchSignatureKey, signatureCheckOf, signatureRefusal, type NamedKey, type SignatureCheck } from '@lilac/common';

/** DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410); the 32 key bytes follow. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const MAX_CACHED_KEYS = 10_000;

/**
 * Checks Ed25519 signatures the way Nix's libsodium does: libsodium's refusals
 * first (`signatureRefusal`), then OpenSSL through Node's crypto, about 0.1 ms a
 * check, where tweetnacl took 9–16 ms of CPU and needed worker threads to keep
 * the event loop free.
 */
export class SignatureVerifier {
  /** Parsing a key into OpenSSL costs more than a check; builders use few keys. */
  private readonly keyObjects = new Map<string, KeyObject>();
  /** The same, by the parsed key's bytes (`publicKeysOf` keeps them): spares encoding the key for every check. */
  private readonly keyObjectsByBytes = new WeakMap<Uint8Array, KeyObject>();

  verify(fingerprint: string, signature: string, keys: readonly NamedKey[]): SignatureCheck {
    return this.verifyMessage(Buffer.from(fingerprint, 'utf8'), signature, keys);
  }

  verifyMessage(message: Uint8Array, signature: string, keys: readonly NamedKey[]): SignatureCheck {
    const match = matchSignatureKey(signature, keys);
    if (!match.found) return match.check;
    const refusal = signatureRefusal(match.signature, match.key.bytes);
    if (refusal) return { valid: false, reason: refusal };
    return signatureCheckOf(match.key, verify(null, message, this.keyObjectOf(match.key.bytes), match.signature));
  }

  private keyObjectOf(publicKey: Uint8Array): KeyObject {
    const known = this.keyObjectsByBytes.get(publicKey);
    if (known) return known;
    const id = Buffer.from(publicKey).toString('base64');
    let keyObject = this.keyObjects.get(id);
    if (!keyObject) {
      keyObject = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
      if (this.keyObjects.size >= MAX_CACHED_KEYS) this.keyObjects.clear();
      this.keyObjects.set(id, keyObject);
    }
    this.keyObjectsByBytes.set(publicKey, keyObject);
    return keyObject;
  }
}
