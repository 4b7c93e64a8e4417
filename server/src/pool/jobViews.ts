import type { JobView, PoolJobView, RebuildOutcome } from '@lilac/common';
import type { Types } from 'mongoose';
import type { JobRecord } from './jobModel.ts';

export type StoredJob = JobRecord & { _id: Types.ObjectId };

export function toJobView(job: StoredJob): JobView {
  return {
    id: String(job._id),
    drvPath: job.drvPath,
    output: job.output,
    outPath: job.outPath,
    leaseExpiresAt: job.leaseExpiresAt ? job.leaseExpiresAt.toISOString() : null,
  };
}

export function toPoolJobView(job: StoredJob): PoolJobView {
  return {
    ...toJobView(job),
    state: job.state,
    builder: job.claimedBy ?? null,
    since: job.since.toISOString(),
    error: job.lastError ?? null,
    attempts: job.attempts,
    verifiedBuilders: job.verifiedBuilders,
    outcome: (job.lastOutcome as RebuildOutcome | null | undefined) ?? null,
  };
}

/** The fields that put a job back in the queue, unheld. */
export function unclaimed(now: Date) {
  return { state: 'queued' as const, claimedBy: null, socketId: null, leaseExpiresAt: null, since: now };
}
