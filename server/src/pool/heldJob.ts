import type { PoolContext } from './poolContext.ts';
import { PoolError } from './poolError.ts';
import type { StoredJob } from './jobViews.ts';

/** The job `id` if this connection holds its lease; a worker acts only on its own claims. */
export async function heldJob(pool: PoolContext, id: string, socketId: string): Promise<StoredJob> {
  if (!/^[0-9a-f]{24}$/.test(id)) throw new PoolError(`not a job id: ${JSON.stringify(id)}`);
  const [lease, job] = await Promise.all([pool.models.Lease.exists({ _id: id, socketId }), pool.models.Job.findById(id).lean<StoredJob>()]);
  if (!lease || !job) throw new PoolError(`job ${id} is not held by this connection`);
  return job;
}
