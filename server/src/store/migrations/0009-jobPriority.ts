import type { Migration } from './migration.ts';

/**
 * Jobs carry a `priority` (higher is claimed first), the first key of the
 * queue's order: jobs written before get 0, which keeps their order, and the
 * queue index that began with `verifiedBuilders` gives way to the one that
 * begins with `priority` (built by `ensureIndexes` after the migrations).
 */
export const jobPriority: Migration = {
  version: 9,
  name: 'jobs carry a priority',
  async up(db) {
    if ((await db.listCollections({ name: 'pool_jobs' }, { nameOnly: true }).toArray()).length === 0) return;
    const jobs = db.collection('pool_jobs');
    await jobs.updateMany({ priority: { $exists: false } }, { $set: { priority: 0 } });
    for (const index of await jobs.indexes()) {
      if (index.name !== undefined && JSON.stringify(index.key) === JSON.stringify({ state: 1, verifiedBuilders: 1, seq: 1 })) await jobs.dropIndex(index.name);
    }
  },
};
