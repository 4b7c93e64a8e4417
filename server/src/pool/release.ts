import type { PoolContext } from './poolContext.ts';

/** Returns every job this connection holds to the pool (shutdown or disconnect); not counted as tried. */
export async function release(pool: PoolContext, socketId: string): Promise<number> {
  const released = await pool.models.Lease.deleteMany({ socketId });
  if (released.deletedCount > 0) {
    pool.held.invalidate();
    pool.queueChanged();
  }
  return released.deletedCount;
}
