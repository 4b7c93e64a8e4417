import type { Migration } from './migration.ts';

/**
 * Ingest wrote every derivation it saw to `derivations`, one more store round
 * trip per group commit, only for the store catalog to list them. The catalog
 * now finds them in the attestations it already groups per builder, each of
 * which names its derivation, so the collection is read by nothing.
 */
export const dropDerivations: Migration = {
  version: 10,
  name: 'drop the derivations collection, read from the attestations now',
  async up(db) {
    if ((await db.listCollections({ name: 'derivations' }, { nameOnly: true }).toArray()).length === 0) return;
    await db.collection('derivations').drop();
  },
};
