import type { Migration } from './migration.ts';

/**
 * Listing chunks say when they were written (`writtenAt`), so chunks an
 * interrupted upload left without a header can be told from an upload under
 * way and swept. Chunks written before have no time: they get the
 * migration's, so an orphan among them goes one sweep bound later.
 */
export const listingChunkTimes: Migration = {
  version: 8,
  name: 'listing chunks carry writtenAt',
  async up(db) {
    if ((await db.listCollections({ name: 'listing_chunks' }, { nameOnly: true }).toArray()).length === 0) return;
    await db.collection('listing_chunks').updateMany({ writtenAt: { $exists: false } }, { $set: { writtenAt: new Date() } });
  },
};
