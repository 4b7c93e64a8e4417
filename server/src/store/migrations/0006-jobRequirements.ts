import type { Migration } from './migration.ts';

/**
 * Jobs say what they need: `system` (null: not said, any worker) and
 * `requiredSystemFeatures`. Jobs written before have neither and become
 * `system: null` with no features, so every worker may still take them; the
 * claim path reads both fields without defaults.
 */
export const jobRequirements: Migration = {
  version: 6,
  name: 'jobs carry system and requiredSystemFeatures',
  async up(db) {
    if ((await db.listCollections({ name: 'pool_jobs' }, { nameOnly: true }).toArray()).length === 0) return;
    const jobs = db.collection('pool_jobs');
    await jobs.updateMany({ system: { $exists: false } }, { $set: { system: null } });
    await jobs.updateMany({ requiredSystemFeatures: { $exists: false } }, { $set: { requiredSystemFeatures: [] } });
  },
};
