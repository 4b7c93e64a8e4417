import type { PoolOutlook, WorkerCapabilities } from '@lilac/common';
import { buildableBy } from './claimant.ts';
import type { PoolContext } from './poolContext.ts';

/**
 * The jobs `builder` may take, with a worker that announced `capabilities`, by where they are, from the hints on the jobs
 * (a claim checks the records themselves). Asked only by a worker that found
 * nothing to claim, so it may read the whole queue.
 */
export async function poolOutlook(pool: PoolContext, builder: string, capabilities: WorkerCapabilities | null): Promise<PoolOutlook> {
  const now = pool.now();
  const [queued, leases] = await Promise.all([
    pool.models.Job.find({ state: 'queued', attestedBy: { $nin: [builder] }, triedBy: { $nin: [builder] }, ...(await buildableBy(pool, capabilities)) }, { _id: 1, notBefore: 1 }).lean(),
    pool.models.Lease.find({}, { _id: 1, expiresAt: 1 }).lean(),
  ]);
  const leaseEnds = new Map(leases.map((lease) => [lease._id, lease.expiresAt]));
  const outlook: PoolOutlook = { claimable: 0, backingOff: 0, held: 0, lapsed: 0 };
  for (const job of queued) {
    const end = leaseEnds.get(String(job._id));
    if (end) outlook[end >= now ? 'held' : 'lapsed'] += 1;
    else outlook[job.notBefore > now ? 'backingOff' : 'claimable'] += 1;
  }
  return outlook;
}
