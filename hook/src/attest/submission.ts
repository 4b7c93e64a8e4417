import {
  narinfoFingerprint,
  normaliseNarHash,
  parseStorePath,
  signFingerprint,
  type AttestationSource,
  type AttestationSubmission,
  type NamedKey,
  type PathInfo,
} from '@lilac/common';

/** Signs an output's narinfo fingerprint as `nix store sign` would and wraps it in the body item the server verifies. */
export function signedSubmission(info: PathInfo, secretKey: NamedKey, source: AttestationSource): AttestationSubmission {
  const { digest, name } = parseStorePath(info.outPath);
  const references = [...info.references].sort();
  return {
    output_digest: digest,
    output_name: name,
    output_hash: normaliseNarHash(info.narHash),
    output_sig: signFingerprint(secretKey, narinfoFingerprint(info)),
    nar_size: info.narSize,
    references,
    source,
  };
}
