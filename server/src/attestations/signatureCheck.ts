import { narinfoFingerprint, type NamedKey, type SignatureCheck } from '@lilac/common';
import type { SignatureVerifier } from './signatureVerifier.ts';

export const MISSING_FIELDS_REASON = 'no NAR size/references submitted: the signed fingerprint cannot be rebuilt, signature not checked';

export interface SignedStatement {
  readonly outPath: string;
  readonly narHash: string;
  readonly narSize: number | null;
  readonly references: readonly string[] | null;
  readonly signature: string;
}

/** Checks a builder's signature over the exact fingerprint Nix signs, with that builder's registered keys only. */
export function checkSignature(statement: SignedStatement, keys: readonly NamedKey[], verifier: SignatureVerifier): SignatureCheck {
  if (statement.narSize === null || statement.references === null) return { valid: false, reason: MISSING_FIELDS_REASON };
  if (keys.length === 0) return { valid: false, reason: 'builder has no registered public key' };
  const fingerprint = narinfoFingerprint({
    outPath: statement.outPath,
    narHash: statement.narHash,
    narSize: statement.narSize,
    references: statement.references,
  });
  return verifier.verify(fingerprint, statement.signature, keys);
}
