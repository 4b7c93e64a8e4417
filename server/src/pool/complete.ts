import type { JobOutcomeAck } from '@lilac/common';
import type { AttestationIngest } from '../attestations/ingestService.ts';
import { batchSubmissions, SubmissionError, type AttestationInput } from '../attestations/submissions.ts';
import type { Builder } from '../builders/builderService.ts';
import { recordAttempt } from './attempts.ts';
import { heldJob } from './heldJob.ts';
import { backInQueue, toJobView, type StoredJob } from './jobViews.ts';
import type { PoolContext } from './poolContext.ts';
import { PoolError } from './poolError.ts';
import { decideRebuildOutcome } from './rebuildOutcome.ts';

/** The one door attestations enter by; the pool only submits. */
export type Ingest = Pick<AttestationIngest, 'submit'>;

/** A worker's `complete` message: the job's id and its attestations, in the batch shape of `POST /api/v1/attestations`. */
export function completion(payload: unknown): { id: string; attestations: AttestationInput[] } {
  if (typeof payload !== 'object' || payload === null || typeof (payload as { id?: unknown }).id !== 'string') {
    throw new PoolError('complete needs { id, attestations }');
  }
  const { id, attestations } = payload as { id: string; attestations?: unknown };
  try {
    return { id, attestations: batchSubmissions({ attestations }) };
  } catch (error) {
    if (error instanceof SubmissionError) throw new PoolError(error.message);
    throw error;
  }
}

/**
 * The worker rebuilt the job it holds: its attestations (of outputs of the
 * job's derivation, the job's output among them) are ingested, the job
 * retires when enough independent builders now back the output, else it goes
 * back to the queue for another builder. Nothing is written on bad input.
 */
export async function complete(pool: PoolContext, ingest: Ingest, builder: Builder, socketId: string, payload: unknown): Promise<JobOutcomeAck> {
  const { id, attestations } = completion(payload);
  const { job, lease } = await heldJob(pool, id, socketId);
  if (attestations.some((input) => input.drvPath !== job.drvPath)) throw new PoolError(`attestations must be of outputs of ${job.drvPath}`);
  const rebuilt = attestations.find((input) => input.outPath === job.outPath);
  if (!rebuilt) throw new PoolError(`attestations must include ${job.outPath}`);
  const results = await ingest.submit(builder, attestations);
  const summary = await pool.models.OutputSummary.findOne({ outPath: job.outPath }, { verifiedBuilderCount: 1, attestedBy: 1, hashes: 1 }).lean();
  const outcome = decideRebuildOutcome(builder.name, rebuilt.narHash, summary?.hashes ?? []);
  await recordAttempt(pool, id, builder.name, outcome, lease.claimedAt);
  const verified = summary?.verifiedBuilderCount ?? 0;
  const state = verified >= pool.config.targetBuilders ? 'done' : 'queued';
  const now = pool.now();
  const updated = await pool.models.Job.findOneAndUpdate(
    { _id: job._id },
    {
      $set: { ...backInQueue(now), state, verifiedBuilders: verified, notBefore: now, lastOutcome: outcome },
      $addToSet: { triedBy: builder.name, attestedBy: { $each: [builder.name, ...(summary?.attestedBy ?? [])] } },
    },
    { new: true },
  ).lean<StoredJob>();
  await pool.models.Lease.deleteOne({ _id: id, socketId });
  pool.held.remove([id]);
  pool.events.publish('job:done', { job: toJobView(updated ?? job), builder: builder.name, outcome });
  if (state === 'queued') pool.queueChanged();
  else pool.statsChanged();
  const listingWanted = results.filter((result) => result.listingWanted === true).map((result) => result.outPath);
  return { state, outcome, ...(listingWanted.length > 0 && { listingWanted }) };
}
