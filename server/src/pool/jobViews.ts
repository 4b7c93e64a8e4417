import type { AttemptView, JobView, PoolJobView, RebuildOutcome } from '@lilac/common';
import type { Types } from 'mongoose';
import type { JobRecord } from './jobModel.ts';
import type { LeaseRecord } from './leaseModel.ts';

export type StoredJob = JobRecord & { _id: Types.ObjectId };
export type StoredLease = LeaseRecord & { _id: string };

/** The job as its holder sees it; `lease` is the holder's, if any. */
export function toJobView(job: Pick<StoredJob, '_id' | 'drvPath' | 'output' | 'outPath' | 'system' | 'requiredSystemFeatures'>, lease: Pick<StoredLease, 'expiresAt'> | null = null): JobView {
  return {
    id: String(job._id),
    drvPath: job.drvPath,
    output: job.output,
    outPath: job.outPath,
    system: job.system ?? null,
    requiredSystemFeatures: job.requiredSystemFeatures,
    leaseExpiresAt: lease ? lease.expiresAt.toISOString() : null,
  };
}

/** A queued job with a lease shows as claimed, by the lease's builder since the claim; `unroutable`: no connected worker can build it. */
export function toPoolJobView(job: StoredJob, lease: StoredLease | null, unroutable: boolean, history: AttemptView[]): PoolJobView {
  const held = job.state === 'queued' && lease !== null;
  return {
    ...toJobView(job, held ? lease : null),
    state: held ? 'claimed' : job.state,
    builder: held ? lease.builder : null,
    since: (held ? lease.claimedAt : job.since).toISOString(),
    error: job.lastError ?? null,
    attempts: job.attempts,
    priority: job.priority,
    verifiedBuilders: job.verifiedBuilders,
    outcome: (job.lastOutcome as RebuildOutcome | null | undefined) ?? null,
    history,
    system: job.system ?? null,
    requiredSystemFeatures: job.requiredSystemFeatures,
    waitingForCapableWorker: unroutable,
  };
}

/** The fields that put a job back in the queue. */
export function backInQueue(now: Date) {
  return { state: 'queued' as const, since: now };
}
