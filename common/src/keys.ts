import nacl from 'tweetnacl';
import { publicKeyRefusal, signatureRefusal } from './ed25519Rules.ts';

/**
 * Nix signing keys and signatures are `<key name>:<base64>`: a 64-byte ed25519
 * secret key (seed + public key, as tweetnacl holds it), a 32-byte public key,
 * or a 64-byte detached signature.
 */
export interface NamedKey {
  readonly name: string;
  readonly bytes: Uint8Array;
}

export class InvalidKeyError extends Error {
  override name = 'InvalidKeyError';
}

const KEY_NAME_PATTERN = /^[A-Za-z0-9._+-]{1,128}$/;

function parseNamed(text: string, byteLength: number, what: string): NamedKey {
  const colon = text.indexOf(':');
  if (colon < 1) throw new InvalidKeyError(`${what} must look like <key name>:<base64>`);
  const name = text.slice(0, colon);
  const base64 = text.slice(colon + 1).trim();
  if (!KEY_NAME_PATTERN.test(name)) throw new InvalidKeyError(`${what} has an invalid key name: ${JSON.stringify(name)}`);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) throw new InvalidKeyError(`${what} is not base64`);
  const bytes = new Uint8Array(Buffer.from(base64, 'base64'));
  if (bytes.length !== byteLength) {
    throw new InvalidKeyError(`${what} must hold ${byteLength} bytes, found ${bytes.length}`);
  }
  return { name, bytes };
}

/** A public key libsodium could ever verify a signature with; others are refused with the reason. */
export function parsePublicKey(text: string): NamedKey {
  const key = parseNamed(text.trim(), nacl.sign.publicKeyLength, 'public key');
  const refusal = publicKeyRefusal(key.bytes);
  if (refusal) throw new InvalidKeyError(`${key.name}: ${refusal}`);
  return key;
}

export function parseSecretKey(text: string): NamedKey {
  return parseNamed(text.trim(), nacl.sign.secretKeyLength, 'secret key');
}

export function parseSignature(text: string): NamedKey {
  return parseNamed(text.trim(), nacl.sign.signatureLength, 'signature');
}

export function formatKey(key: NamedKey): string {
  return `${key.name}:${Buffer.from(key.bytes).toString('base64')}`;
}

export function publicKeyOf(secretKey: NamedKey): NamedKey {
  return { name: secretKey.name, bytes: nacl.sign.keyPair.fromSecretKey(secretKey.bytes).publicKey };
}

export function generateKeyPair(name: string): { secretKey: NamedKey; publicKey: NamedKey } {
  const pair = nacl.sign.keyPair();
  return { secretKey: { name, bytes: pair.secretKey }, publicKey: { name, bytes: pair.publicKey } };
}

/** Signs the fingerprint as `nix store sign` does, returning `<key name>:<base64>`. */
export function signFingerprint(secretKey: NamedKey, fingerprint: string): string {
  const signature = nacl.sign.detached(Buffer.from(fingerprint, 'utf8'), secretKey.bytes);
  return formatKey({ name: secretKey.name, bytes: signature });
}

export type SignatureCheck =
  | { readonly valid: true; readonly keyName: string }
  | { readonly valid: false; readonly reason: string };

/** The registered key a `<key name>:<base64>` signature names, or why it names none. */
export type SignatureKeyMatch =
  | { readonly found: true; readonly key: NamedKey; readonly signature: Uint8Array }
  | { readonly found: false; readonly check: SignatureCheck };

export function matchSignatureKey(signature: string, publicKeys: readonly NamedKey[]): SignatureKeyMatch {
  let parsed: NamedKey;
  try {
    parsed = parseSignature(signature);
  } catch (error) {
    return { found: false, check: { valid: false, reason: `malformed signature: ${(error as Error).message}` } };
  }
  const key = publicKeys.find((candidate) => candidate.name === parsed.name);
  if (!key) return { found: false, check: { valid: false, reason: `unknown key ${JSON.stringify(parsed.name)}` } };
  return { found: true, key, signature: parsed.bytes };
}

/** The outcome of checking a signature with the key it named. */
export function signatureCheckOf(key: NamedKey, valid: boolean): SignatureCheck {
  return valid ? { valid: true, keyName: key.name } : { valid: false, reason: `signature does not match key ${JSON.stringify(key.name)}` };
}

/**
 * Checks a `<key name>:<base64>` signature against the keys a builder registered, with tweetnacl
 * held to libsodium's rules (for the browser and the hook; the server uses Node's crypto).
 */
export function verifyFingerprintSignature(fingerprint: string, signature: string, publicKeys: readonly NamedKey[]): SignatureCheck {
  return verifySignedMessage(new TextEncoder().encode(fingerprint), signature, publicKeys);
}

export function verifySignedMessage(message: Uint8Array, signature: string, publicKeys: readonly NamedKey[]): SignatureCheck {
  const match = matchSignatureKey(signature, publicKeys);
  if (!match.found) return match.check;
  const refusal = signatureRefusal(match.signature, match.key.bytes);
  if (refusal) return { valid: false, reason: refusal };
  return signatureCheckOf(match.key, nacl.sign.detached.verify(message, match.signature, match.key.bytes));
}
