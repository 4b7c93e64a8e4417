import type { PoolJobView, RebuildOutcome } from '@lilac/common';
import { JobControlError, jobId } from './jobControlError.ts';
import { toJobView, toPoolJobView, type StoredJob, type StoredLease } from './jobViews.ts';
import type { PoolContext } from './poolContext.ts';
import { historyOf, recordAttempt } from './attempts.ts';

/**
 * A maintainer (`by`) cancels a job: a queued one leaves the queue, a claimed
 * one also loses its lease, so its worker's late `complete` or `fail` is
 * refused (the worker then delivers its attestations as any other build's) and
 * `job:cancelled` names the connection that held it, which the `/rebuilders`
 * namespace tells to stop. A cancelled job is not retried; enqueueing it again
 * brings it back. Cancelling a cancelled job changes nothing.
 */
export async function cancel(pool: PoolContext, id: string, by: string): Promise<PoolJobView> {
  const { Job, Lease } = pool.models;
  const outcome: RebuildOutcome = { kind: 'cancelled', log: '', by };
  const cancelled = await Job.findOneAndUpdate({ _id: jobId(id), state: 'queued' }, { $set: { state: 'cancelled', since: pool.now(), lastOutcome: outcome } }, { new: true }).lean<StoredJob>();
  if (!cancelled) {
    const job = await Job.findById(id).lean<StoredJob>();
    if (!job) throw new JobControlError('not-found', `no job ${id}`);
    if (job.state === 'cancelled') return toPoolJobView(job, null, false, await historyOf(pool, job));
    throw new JobControlError('conflict', `job ${id} is ${job.state}: only a queued or claimed job can be cancelled`);
  }
  const lease = await Lease.findOneAndDelete({ _id: id }).lean<StoredLease>();
  pool.held.remove([id]);
  if (lease) {
    // Its holder's go at it ends here: kept in the job's history like any other attempt.
    await recordAttempt(pool, id, lease.builder, outcome, lease.claimedAt);
    await Job.updateOne({ _id: cancelled._id }, { $addToSet: { triedBy: lease.builder } });
    cancelled.triedBy = [...new Set([...cancelled.triedBy, lease.builder])];
  }
  pool.events.publish('job:cancelled', { job: toJobView(cancelled), by, holder: lease ? { builder: lease.builder, socketId: lease.socketId } : null });
  pool.statsChanged();
  return toPoolJobView(cancelled, null, false, await historyOf(pool, cancelled));
}
