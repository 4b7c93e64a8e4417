import { drvHashOf, narinfoFingerprint, signFingerprint, type BatchAttestation, type JobView, type NamedKey, type PathInfo } from '@lilac/common';
import { signedSubmission } from '../attest/submission.ts';
import type { HookConfig } from '../config.ts';
import { deliverWithSpool, type SubmitOutcome } from '../delivery/deliver.ts';

/** A job's rebuilt outputs as `complete` carries them: each signed over its narinfo fingerprint. */
export function rebuildAttestations(job: JobView, outputs: readonly PathInfo[], secretKey: NamedKey, builtAt: string): BatchAttestation[] {
  return outputs.map((info) => ({
    drvPath: job.drvPath,
    ...(info.outPath === job.outPath && { output: job.output }),
    outPath: info.outPath,
    narHash: info.narHash,
    narSize: info.narSize,
    references: [...info.references],
    signature: signFingerprint(secretKey, narinfoFingerprint(info)),
    source: 'rebuild',
    builtAt,
  }));
}

/**
 * Delivers a rebuild whose `complete` the pool refused (the claim was lost:
 * the connection dropped, the lease ran out, the server restarted) the way the
 * post-build-hook delivers a build, or spools it: the attestations are signed
 * statements about a real build and are never dropped.
 */
export function deliverRebuild(config: HookConfig, job: JobView, outputs: readonly PathInfo[], secretKey: NamedKey, builtAt: string): Promise<SubmitOutcome> {
  const submissions = outputs.map((info) => ({ ...signedSubmission(info, secretKey, 'rebuild'), built_at: builtAt }));
  return deliverWithSpool(config, drvHashOf(job.drvPath), submissions);
}
