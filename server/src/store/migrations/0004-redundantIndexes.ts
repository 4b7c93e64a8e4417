import type { mongo } from 'mongoose';
import type { Migration } from './migration.ts';

/**
 * Indexes older lilacs built that no query needs: each was kept up to date on
 * every ingest write, about 1 ms per attestation on the embedded store. The
 * unique ones repeat `_id`, which is already the same natural key
 * (`keyedBy`); every attestation lookup goes by `_id`.
 */
const REDUNDANT: readonly { collection: string; key: Record<string, 1> }[] = [
  { collection: 'attestations', key: { outPath: 1, builder: 1, narHash: 1 } },
  { collection: 'attestations', key: { builder: 1, outPath: 1 } },
  { collection: 'attestations', key: { drvPath: 1 } },
  { collection: 'output_summaries', key: { outPath: 1 } },
  { collection: 'derivations', key: { drvPath: 1 } },
];

function sameKey(a: mongo.Document, b: mongo.Document): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export const redundantIndexes: Migration = {
  version: 4,
  name: 'drop the ingest indexes that repeat _id or serve no query',
  async up(db) {
    const existing = new Set((await db.listCollections({}, { nameOnly: true }).toArray()).map((collection) => collection.name));
    for (const { collection, key } of REDUNDANT) {
      if (!existing.has(collection)) continue;
      for (const index of await db.collection(collection).indexes()) {
        if (index.name !== undefined && sameKey(index.key, key)) await db.collection(collection).dropIndex(index.name);
      }
    }
  },
};
