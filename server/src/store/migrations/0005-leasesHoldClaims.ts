import type { Migration } from './migration.ts';

/** The indexes the jobs' claim fields had: nothing reads them now. */
const DROPPED_INDEX_KEYS = [['socketId'], ['state', 'leaseExpiresAt']];

/**
 * Jobs no longer say who holds them: a claim writes only its lease, which
 * was already the authority on who holds a job, and a queued job with a lease
 * is what the monitor shows as claimed. Jobs written as `claimed` become
 * `queued` (their lease, if it is still there, still holds them; one whose
 * lease is gone was the sweeper's to return anyway) and lose `claimedBy`,
 * `socketId` and `leaseExpiresAt`.
 */
export const leasesHoldClaims: Migration = {
  version: 5,
  name: 'a claim is its lease alone: jobs lose state claimed, claimedBy, socketId and leaseExpiresAt',
  async up(db, log) {
    if ((await db.listCollections({ name: 'pool_jobs' }, { nameOnly: true }).toArray()).length === 0) return;
    const jobs = db.collection('pool_jobs');
    const requeued = await jobs.updateMany({ state: 'claimed' }, { $set: { state: 'queued' } });
    await jobs.updateMany(
      { $or: [{ claimedBy: { $exists: true } }, { socketId: { $exists: true } }, { leaseExpiresAt: { $exists: true } }] },
      { $unset: { claimedBy: '', socketId: '', leaseExpiresAt: '' } },
    );
    for (const index of await jobs.indexes()) {
      const fields = Object.keys(index.key);
      if (index.name && DROPPED_INDEX_KEYS.some((keys) => keys.join() === fields.join())) await jobs.dropIndex(index.name);
    }
    if (requeued.modifiedCount > 0) log.info({ jobs: requeued.modifiedCount }, 'claimed jobs left to their leases');
  },
};
