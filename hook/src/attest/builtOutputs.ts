import type { AttestationSubmission, NamedKey } from '@lilac/common';
import { queryPathInfo } from '../store/pathInfo.ts';
import { signSubmission, unsignedSubmission } from './submission.ts';

/**
 * The post-build-hook's attestations of outputs Nix built: NAR hash, size and
 * references from the Nix database, signed when there is a key (else signed
 * by the flush that sends them). One place for `lilac post-build-hook` and
 * for the flush attesting the builds the wrapper recorded.
 */
export async function builtOutputSubmissions(outPaths: readonly string[], secretKey: NamedKey | null, builtAt: Date): Promise<AttestationSubmission[]> {
  return (await queryPathInfo(outPaths)).map((info) => {
    const submission = unsignedSubmission(info, 'post-build-hook', builtAt);
    return secretKey === null ? submission : signSubmission(submission, secretKey);
  });
}
