import type { AttestationView } from '@lilac/common';
import type { PoolContext } from './poolContext.ts';
import type { StoredJob } from './jobViews.ts';

/**
 * Keeps the pictures of who attested their outputs current for the jobs of these attestations, and
 * retires those that enough independent builders back. Attestations come by the thousand a second
 * and rarely concern a job: one read looks for all their jobs at once.
 */
export async function followAttestations(pool: PoolContext, attestations: readonly AttestationView[]): Promise<void> {
  const buildersOf = new Map<string, Set<string>>();
  for (const { output_path: outPath, builder } of attestations) {
    const builders = buildersOf.get(outPath);
    if (builders) builders.add(builder);
    else buildersOf.set(outPath, new Set([builder]));
  }
  const jobs = await pool.models.Job.find({ outPath: { $in: [...buildersOf.keys()] } }, { _id: 1, outPath: 1, state: 1, attestedBy: 1, verifiedBuilders: 1 }).lean<StoredJob[]>();
  await Promise.all(jobs.map((job) => followJob(pool, job, [...(buildersOf.get(job.outPath) ?? [])])));
}

async function followJob(
  pool: PoolContext,
  job: Pick<StoredJob, '_id' | 'outPath' | 'state' | 'attestedBy' | 'verifiedBuilders'>,
  builders: readonly string[],
): Promise<void> {
  const { Job, Lease, OutputSummary } = pool.models;
  // A held job is settled by its holder's complete, or by the next claim's checks.
  if (await Lease.exists({ _id: String(job._id) })) return;
  const summary = await OutputSummary.findOne({ outPath: job.outPath }, { verifiedBuilderCount: 1 }).lean();
  const verified = summary?.verifiedBuilderCount ?? 0;
  const retire = verified >= pool.config.targetBuilders && job.state !== 'done';
  if (!retire && builders.every((builder) => job.attestedBy.includes(builder)) && job.verifiedBuilders === verified) return;
  await Job.updateOne(
    { _id: job._id },
    { $set: { verifiedBuilders: verified, ...(retire && { state: 'done', since: pool.now() }) }, $addToSet: { attestedBy: { $each: [...builders] } } },
  );
  if (retire) pool.statsChanged();
}
