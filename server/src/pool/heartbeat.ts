import type { HeartbeatAck } from '@lilac/common';
import { later, type PoolContext } from './poolContext.ts';

/** Extends the leases of every job this connection holds; the lease is the only record of a claim, so nothing else is written. */
export async function heartbeat(pool: PoolContext, socketId: string): Promise<HeartbeatAck> {
  const { Lease } = pool.models;
  const now = pool.now();
  const leaseExpiresAt = later(pool, pool.config.leaseMs);
  // A lease that already ran out may be someone else's by now: it is not revived.
  await Lease.updateMany({ socketId, expiresAt: { $gte: now } }, { $set: { expiresAt: leaseExpiresAt } });
  const held = await Lease.find({ socketId, expiresAt: { $gte: now } }, { _id: 1 }).lean();
  return { jobs: held.map((lease) => lease._id), leaseExpiresAt: leaseExpiresAt.toISOString() };
}
