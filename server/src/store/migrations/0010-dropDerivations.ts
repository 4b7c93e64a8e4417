import type { Migration } from './migration.ts';

/** MongoDB's (and FerretDB's) code for a collection that does not exist. */
const NAMESPACE_NOT_FOUND = 26;

/**
 * Ingest wrote every derivation it saw to `derivations`, one more store round
 * trip per group commit, only for the store catalog to list them. The catalog
 * now finds them in the attestations it already reads for its totals, each
 * of which names its derivation, so the collection is read by nothing.
 */
export const dropDerivations: Migration = {
  version: 10,
  name: 'drop the derivations collection, read from the attestations now',
  async up(db) {
    try {
      await db.collection('derivations').drop();
    } catch (error) {
      // Never there (a store created after the change), or already dropped: what the migration wants either way.
      if ((error as { code?: unknown }).code !== NAMESPACE_NOT_FOUND) throw error;
    }
  },
};
