import type { JobState, PoolOutlook, PoolStats, PoolView, PoolWorkerView } from '@lilac/common';
import { toPoolJobView, type StoredJob } from './jobViews.ts';
import type { PoolContext } from './poolContext.ts';

export async function poolStats(pool: PoolContext): Promise<PoolStats> {
  const groups = await pool.models.Job.aggregate<{ _id: JobState; count: number }>([{ $group: { _id: '$state', count: { $sum: 1 } } }]);
  const stats: PoolStats = { queued: 0, claimed: 0, done: 0, failed: 0 };
  for (const group of groups) stats[group._id] = group.count;
  return stats;
}

/**
 * What the monitor shows: claimed jobs, the latest failures, the head of the
 * queue, and who works on what. `localWorkers` (socket id → builder) are the
 * connections to this process; those of other processes show through the jobs they hold.
 */
export async function poolView(pool: PoolContext, limit: number, localWorkers: ReadonlyMap<string, string>): Promise<PoolView> {
  const { Job } = pool.models;
  const [stats, claimed, failed, queued] = await Promise.all([
    poolStats(pool),
    Job.find({ state: 'claimed' }).sort({ since: 1 }).limit(limit).lean<StoredJob[]>(),
    Job.find({ state: 'failed' }).sort({ since: -1 }).limit(limit).lean<StoredJob[]>(),
    Job.find({ state: 'queued' }).sort({ verifiedBuilders: 1, seq: 1 }).limit(limit).lean<StoredJob[]>(),
  ]);
  const workers = new Map<string, PoolWorkerView>();
  for (const [socketId, builder] of localWorkers) workers.set(socketId, { builder, socketId, jobs: [] });
  for (const job of claimed) {
    if (!job.socketId || !job.claimedBy) continue;
    const worker = workers.get(job.socketId) ?? { builder: job.claimedBy, socketId: job.socketId, jobs: [] };
    worker.jobs.push(String(job._id));
    workers.set(job.socketId, worker);
  }
  return {
    stats,
    jobs: [...claimed, ...failed, ...queued].map(toPoolJobView),
    workers: [...workers.values()].sort((a, b) => a.builder.localeCompare(b.builder) || a.socketId.localeCompare(b.socketId)),
  };
}

/**
 * The jobs `builder` may take, by where they are, from the hints on the jobs
 * (a claim checks the records themselves). Asked only by a worker that found
 * nothing to claim, so its counts may scan the pool.
 */
export async function poolOutlook(pool: PoolContext, builder: string): Promise<PoolOutlook> {
  const now = pool.now();
  const mayTake = { attestedBy: { $nin: [builder] }, triedBy: { $nin: [builder] } };
  const count = (filter: Record<string, unknown>) => pool.models.Job.countDocuments({ ...filter, ...mayTake });
  const [claimable, backingOff, held, lapsed] = await Promise.all([
    count({ state: 'queued', notBefore: { $lte: now } }),
    count({ state: 'queued', notBefore: { $gt: now } }),
    count({ state: 'claimed', leaseExpiresAt: { $gte: now } }),
    count({ state: 'claimed', leaseExpiresAt: { $lt: now } }),
  ]);
  return { claimable, backingOff, held, lapsed };
}
