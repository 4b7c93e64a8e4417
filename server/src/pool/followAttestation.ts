import type { AttestationView } from '@lilac/common';
import type { PoolContext } from './poolContext.ts';

/** Keeps the job's picture of who attested its output current, and retires it once enough independent builders back it. */
export async function followAttestation(pool: PoolContext, attestation: AttestationView): Promise<void> {
  const outPath = attestation.output_path;
  const { Job, Lease, OutputSummary } = pool.models;
  const job = await Job.findOne({ outPath }, { _id: 1, state: 1, attestedBy: 1, verifiedBuilders: 1 }).lean();
  if (!job) return;
  // A held job is settled by its holder's complete, or by the next claim's checks.
  if (await Lease.exists({ _id: String(job._id) })) return;
  const summary = await OutputSummary.findOne({ outPath }, { verifiedBuilderCount: 1 }).lean();
  const verified = summary?.verifiedBuilderCount ?? 0;
  const retire = verified >= pool.config.targetBuilders && job.state !== 'done';
  if (!retire && job.attestedBy.includes(attestation.builder) && job.verifiedBuilders === verified) return;
  await Job.updateOne(
    { _id: job._id },
    { $set: { verifiedBuilders: verified, ...(retire && { state: 'done', since: pool.now() }) }, $addToSet: { attestedBy: attestation.builder } },
  );
  if (retire) pool.statsChanged();
}
