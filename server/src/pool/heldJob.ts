import { JOB_ID } from './jobModel.ts';
import type { PoolContext } from './poolContext.ts';
import { PoolError } from './poolError.ts';
import type { StoredJob, StoredLease } from './jobViews.ts';

/** The job `id` and its lease, if this connection holds it; a worker acts only on its own claims. */
export async function heldJob(pool: PoolContext, id: string, socketId: string): Promise<{ job: StoredJob; lease: StoredLease }> {
  if (!JOB_ID.test(id)) throw new PoolError(`not a job id: ${JSON.stringify(id)}`);
  const [lease, job] = await Promise.all([pool.models.Lease.findOne({ _id: id, socketId }).lean<StoredLease>(), pool.models.Job.findById(id).lean<StoredJob>()]);
  if (!lease || !job) throw new PoolError(`job ${id} is not held by this connection`);
  return { job, lease };
}
