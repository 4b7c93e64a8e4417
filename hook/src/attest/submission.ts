import {
  narinfoFingerprint,
  normaliseNarHash,
  parseStorePath,
  STORE_DIR,
  type AttestationSource,
  type AttestationSubmission,
  type NamedKey,
  type PathInfo,
} from '@lilac/common';
import { signFingerprintFast } from './fingerprintSigner.ts';

/**
 * The body item for one output, before signing (`output_sig` empty). `builtAt`
 * is when the build ended, kept through the spool so a late delivery does not
 * pass for the build's time.
 */
export function unsignedSubmission(info: PathInfo, source: AttestationSource, builtAt: Date): AttestationSubmission {
  const { digest, name } = parseStorePath(info.outPath);
  return {
    output_digest: digest,
    output_name: name,
    output_hash: normaliseNarHash(info.narHash),
    output_sig: '',
    nar_size: info.narSize,
    references: [...info.references].sort(),
    source,
    built_at: builtAt.toISOString(),
  };
}

/** The store path a lila-shaped submission is about. */
export function submissionOutPath(submission: Pick<AttestationSubmission, 'output_digest' | 'output_name'>): string {
  return `${STORE_DIR}/${submission.output_digest}-${submission.output_name}`;
}

/** Signs the submission's narinfo fingerprint as `nix store sign` would. */
export function signSubmission(submission: AttestationSubmission, secretKey: NamedKey): AttestationSubmission {
  const info: PathInfo = {
    outPath: submissionOutPath(submission),
    narHash: submission.output_hash,
    narSize: submission.nar_size ?? Number.NaN,
    references: submission.references ?? [],
  };
  return { ...submission, output_sig: signFingerprintFast(secretKey, narinfoFingerprint(info)) };
}

export function isSigned(submission: AttestationSubmission): boolean {
  return submission.output_sig !== '';
}

export function signedSubmission(info: PathInfo, secretKey: NamedKey, source: AttestationSource, builtAt: Date = new Date()): AttestationSubmission {
  return signSubmission(unsignedSubmission(info, source, builtAt), secretKey);
}
