import { canBuild, type JobRequirements } from '@lilac/common';
import { Types } from 'mongoose';
import type { Claimant } from './claimant.ts';
import type { StoredJob } from './jobViews.ts';
import type { PoolContext } from './poolContext.ts';

/** A lease just inserted: the claimant holds the job, if the records agree it may. */
export interface Won {
  readonly claimant: Claimant;
  readonly jobId: string;
  readonly outPath: string;
}

type CheckedJob = Pick<StoredJob, '_id' | 'drvPath' | 'output' | 'outPath' | 'state' | 'notBefore' | 'attempts'> & JobRequirements;

/**
 * Checks the records the claim window's hints mirror, for every lease one
 * claim round won, in three reads by key at once however many there are: the job is
 * still queued and past its backoff, the builder neither attested its output
 * nor tried it, it has not failed too often, and not enough builders back its
 * output yet. Returns the jobs that pass, by id; corrects a job whose hint was
 * stale, so the window does not offer it again.
 */
export async function checkWon(pool: PoolContext, won: readonly Won[]): Promise<Map<string, CheckedJob>> {
  const { Job, JobAttempt, OutputSummary } = pool.models;
  const { config } = pool;
  // All three at once: the window named each job's output, which never changes (the job's id is derived from it).
  const [jobs, tried, summaries] = await Promise.all([
    Job.find({ _id: { $in: won.map(({ jobId }) => new Types.ObjectId(jobId)) } }, { drvPath: 1, output: 1, outPath: 1, state: 1, notBefore: 1, attempts: 1, system: 1, requiredSystemFeatures: 1 }).lean<CheckedJob[]>(),
    // `fail` writes the attempt before it gives up the lease a claimer now holds.
    JobAttempt.find({ _id: { $in: won.map(({ jobId, claimant }) => `${jobId}:${claimant.builder}`) } }, { _id: 1 }).lean(),
    OutputSummary.find({ outPath: { $in: won.map(({ outPath }) => outPath) } }, { outPath: 1, verifiedBuilderCount: 1, attestedBy: 1 }).lean(),
  ]);
  const jobOf = new Map(jobs.map((job) => [String(job._id), job]));
  const triedIds = new Set(tried.map((attempt) => String(attempt._id)));
  const summaryOf = new Map(summaries.map((summary) => [summary.outPath, summary]));
  const now = pool.now();
  const passed = new Map<string, CheckedJob>();
  for (const { jobId, claimant } of won) {
    const job = jobOf.get(jobId);
    // A claim window may be older than the job's last change: done, failed, backing off or enqueued again for another system since.
    if (!job || job.state !== 'queued' || job.notBefore > now || !canBuild(claimant.capabilities, job)) continue;
    const summary = summaryOf.get(job.outPath);
    const verified = summary?.verifiedBuilderCount ?? 0;
    const attested = summary?.attestedBy.includes(claimant.builder) ?? false;
    const triedIt = triedIds.has(`${jobId}:${claimant.builder}`);
    if (verified >= config.targetBuilders) {
      await Job.updateOne({ _id: job._id }, { $set: { state: 'done', since: now, verifiedBuilders: verified } });
    } else if (job.attempts >= config.maxAttempts) {
      await Job.updateOne({ _id: job._id }, { $set: { state: 'failed', since: now } });
    } else if (attested || triedIt) {
      await Job.updateOne({ _id: job._id }, { $addToSet: attested ? { attestedBy: claimant.builder } : { triedBy: claimant.builder } });
    } else {
      passed.set(jobId, job);
    }
  }
  return passed;
}
