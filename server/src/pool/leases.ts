import type { HeartbeatAck } from '@lilac/common';
import { unclaimed, type StoredJob } from './jobViews.ts';
import { later, type PoolContext } from './poolContext.ts';
import { PoolError } from './poolError.ts';

/** Extends the leases of every job this connection holds. */
export async function heartbeat(pool: PoolContext, socketId: string): Promise<HeartbeatAck> {
  const { Lease, Job } = pool.models;
  const now = pool.now();
  const leaseExpiresAt = later(pool, pool.config.leaseMs);
  // A lease that already ran out may be someone else's by now: it is not revived.
  await Lease.updateMany({ socketId, expiresAt: { $gte: now } }, { $set: { expiresAt: leaseExpiresAt } });
  const held = await Lease.find({ socketId, expiresAt: { $gte: now } }, { _id: 1 }).lean();
  const ids = held.map((lease) => lease._id);
  if (ids.length > 0) await Job.updateMany({ _id: { $in: ids }, state: 'claimed', socketId }, { $set: { leaseExpiresAt } });
  return { jobs: ids, leaseExpiresAt: leaseExpiresAt.toISOString() };
}

/** Returns every job this connection holds to the pool (shutdown or disconnect); not counted as tried. */
export async function release(pool: PoolContext, socketId: string): Promise<number> {
  const { Lease, Job } = pool.models;
  const held = await Lease.find({ socketId }, { _id: 1 }).lean();
  if (held.length === 0) return 0;
  const ids = held.map((lease) => lease._id);
  await Job.updateMany({ _id: { $in: ids }, state: 'claimed', socketId }, { $set: unclaimed(pool.now()) });
  const released = await Lease.deleteMany({ socketId });
  pool.queueChanged();
  return released.deletedCount;
}

/** Returns jobs whose lease ran out, whichever process handed them out (it may have died). */
export async function sweep(pool: PoolContext): Promise<number> {
  const { Lease, Job } = pool.models;
  const now = pool.now();
  const expired = await Lease.find({ expiresAt: { $lt: now } }, { _id: 1, socketId: 1 }).lean();
  let returned = 0;
  for (const lease of expired) {
    const deleted = await Lease.deleteOne({ _id: lease._id, expiresAt: { $lt: now } });
    if (deleted.deletedCount === 0) continue;
    await Job.updateOne({ _id: lease._id, state: 'claimed', socketId: lease.socketId }, { $set: unclaimed(now) });
    returned += 1;
  }
  // Jobs still marked claimed past their lease, whether or not their lease was found above.
  const stale = await Job.updateMany({ state: 'claimed', leaseExpiresAt: { $lt: now } }, { $set: unclaimed(now) });
  if (returned + stale.modifiedCount > 0) {
    pool.log.info({ returned }, 'returned jobs with expired leases');
    pool.queueChanged();
  }
  return returned;
}

/** The job `id` if this connection holds its lease; a worker acts only on its own claims. */
export async function heldJob(pool: PoolContext, id: string, socketId: string): Promise<StoredJob> {
  if (!/^[0-9a-f]{24}$/.test(id)) throw new PoolError(`not a job id: ${JSON.stringify(id)}`);
  const [lease, job] = await Promise.all([pool.models.Lease.exists({ _id: id, socketId }), pool.models.Job.findById(id).lean<StoredJob>()]);
  if (!lease || !job) throw new PoolError(`job ${id} is not held by this connection`);
  return job;
}
