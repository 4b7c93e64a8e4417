import type { PoolStats } from '@lilac/common';
import { Types } from 'mongoose';
import type { JOB_STATES } from './jobModel.ts';
import type { PoolContext } from './poolContext.ts';

/** The ids of the jobs held right now, lapsed leases the sweeper has not returned yet included: they still keep the job from others. */
export async function leasedJobIds(pool: PoolContext): Promise<string[]> {
  return (await pool.models.Lease.find({}, { _id: 1 }).lean()).map((lease) => lease._id);
}

/** The ids of the jobs whose lease is still running: what the monitor shows as claimed. */
export async function liveLeasedJobIds(pool: PoolContext): Promise<string[]> {
  return (await pool.models.Lease.find({ expiresAt: { $gte: pool.now() } }, { _id: 1 }).lean()).map((lease) => lease._id);
}

/** Jobs by state; a queued job with a running lease counts as claimed, one whose lease lapsed as queued (the sweeper is about to return it). */
export async function poolStats(pool: PoolContext): Promise<PoolStats> {
  const [groups, leased] = await Promise.all([
    pool.models.Job.aggregate<{ _id: (typeof JOB_STATES)[number]; count: number }>([{ $group: { _id: '$state', count: { $sum: 1 } } }]),
    liveLeasedJobIds(pool),
  ]);
  const stats: PoolStats = { queued: 0, claimed: 0, done: 0, failed: 0, cancelled: 0 };
  for (const group of groups) stats[group._id] = group.count;
  if (leased.length > 0) {
    stats.claimed = await pool.models.Job.countDocuments({ _id: { $in: leased.map((id) => new Types.ObjectId(id)) }, state: 'queued' });
    stats.queued -= stats.claimed;
  }
  return stats;
}
