import type { PoolJobView } from '@lilac/common';
import { JobControlError, jobId } from './jobControlError.ts';
import { toJobView, toPoolJobView, type StoredJob } from './jobViews.ts';
import { historyOf } from './attempts.ts';
import type { PoolContext } from './poolContext.ts';

/** A maintainer (`by`) sets a job's priority (checked by the caller); claims take higher first from the next read of the queue. */
export async function prioritise(pool: PoolContext, id: string, priority: number, by: string): Promise<PoolJobView> {
  const job = await pool.models.Job.findOneAndUpdate({ _id: jobId(id) }, { $set: { priority } }, { new: true }).lean<StoredJob>();
  if (!job) throw new JobControlError('not-found', `no job ${id}`);
  pool.events.publish('job:priority', { job: toJobView(job), priority, by });
  pool.queueChanged();
  const lease = await pool.models.Lease.findById(id).lean();
  return toPoolJobView(job, job.state === 'queued' ? lease : null, false, await historyOf(pool, job));
}
