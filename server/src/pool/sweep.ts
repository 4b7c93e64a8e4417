import type { PoolContext } from './poolContext.ts';

/** Returns jobs whose lease ran out, whichever process handed them out (it may have died). */
export async function sweep(pool: PoolContext): Promise<number> {
  const { Lease } = pool.models;
  const now = pool.now();
  const expired = await Lease.find({ expiresAt: { $lt: now } }, { _id: 1 }).lean();
  let returned = 0;
  for (const lease of expired) {
    // One by one, each checked again: a heartbeat may have extended it since the read.
    const deleted = await Lease.deleteOne({ _id: lease._id, expiresAt: { $lt: now } });
    returned += deleted.deletedCount;
    if (deleted.deletedCount > 0) pool.held.remove([lease._id]);
  }
  if (returned > 0) {
    pool.log.info({ returned }, 'returned jobs with expired leases');
    pool.queueChanged();
  }
  return returned;
}
