/**
 * What libsodium's `crypto_sign_verify_detached` refuses before it does any
 * curve arithmetic. Nix verifies signatures with libsodium, so lilac accepts
 * exactly what it accepts; other Ed25519 verifiers disagree at the edges
 * (tweetnacl takes a non-canonical S, OpenSSL small-order keys and R: see
 * "Taming the Many EdDSAs", Chalkias, Garillot, Nikolaenko, 2020). These checks
 * run first, then any RFC 8032 verifier settles the rest.
 */

/** Encodings of the points of order 1, 2, 4 and 8, compared with the sign bit of the last byte cleared, as libsodium does. */
const SMALL_ORDER_ENCODINGS: readonly (readonly number[])[] = [
  // 0 (order 4)
  [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00],
  // 1 (order 1)
  [0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00],
  // order 8
  [0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05],
  // order 8
  [0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a],
  // p-1 (order 2)
  [0xec, ...Array<number>(30).fill(0xff), 0x7f],
  // p, a non-canonical 0 (order 4)
  [0xed, ...Array<number>(30).fill(0xff), 0x7f],
  // p+1, a non-canonical 1 (order 1)
  [0xee, ...Array<number>(30).fill(0xff), 0x7f],
];

/** The group order L = 2^252 + 27742317777372353535851937790883648493, little-endian. */
const GROUP_ORDER = [
  0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
];

export function hasSmallOrder(point: Uint8Array): boolean {
  return SMALL_ORDER_ENCODINGS.some((encoding) => encoding.every((byte, index) => (index === 31 ? point[index]! & 0x7f : point[index]) === byte));
}

/** A point's y coordinate is below p = 2^255 - 19 (the sign bit aside). */
export function isCanonicalPoint(point: Uint8Array): boolean {
  if ((point[31]! & 0x7f) !== 0x7f) return true;
  for (let index = 30; index > 0; index--) if (point[index] !== 0xff) return true;
  return point[0]! < 0xed;
}

/** A scalar is below the group order L. */
export function isCanonicalScalar(scalar: Uint8Array): boolean {
  for (let index = 31; index >= 0; index--) {
    if (scalar[index]! !== GROUP_ORDER[index]) return scalar[index]! < GROUP_ORDER[index]!;
  }
  return false;
}

/** Why libsodium would never accept a signature by this public key, or null. */
export function publicKeyRefusal(publicKey: Uint8Array): string | null {
  if (!isCanonicalPoint(publicKey)) return 'public key is not a canonical point encoding (libsodium refuses it)';
  if (hasSmallOrder(publicKey)) return 'public key is a point of small order (libsodium refuses it)';
  return null;
}

/** Why libsodium refuses this signature by this key before checking it, or null. */
export function signatureRefusal(signature: Uint8Array, publicKey: Uint8Array): string | null {
  if (!isCanonicalScalar(signature.subarray(32, 64))) return 'signature S is not below the group order (libsodium refuses it)';
  if (hasSmallOrder(signature.subarray(0, 32))) return 'signature R is a point of small order (libsodium refuses it)';
  return publicKeyRefusal(publicKey);
}
