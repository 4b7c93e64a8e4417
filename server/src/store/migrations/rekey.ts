import type { mongo } from 'mongoose';
import { isDuplicateKeyError } from '../duplicateKey.ts';

/** A document as stored, whatever lilac wrote it with. */
export type StoredDocument = mongo.Document & { _id: mongo.ObjectId | string };

const BATCH = 500;

/** Inserts each document unless one with its `_id` is already there (a run cut short put it there). */
export async function insertIgnoringDuplicates(collection: mongo.Collection<StoredDocument>, documents: StoredDocument[]): Promise<void> {
  if (documents.length === 0) return;
  try {
    await collection.insertMany(documents, { ordered: false });
  } catch (error) {
    const writeErrors = (error as { writeErrors?: unknown }).writeErrors;
    const failures = Array.isArray(writeErrors) ? writeErrors : [error];
    if (!failures.every(isDuplicateKeyError)) throw error;
  }
}

/**
 * Unique indexes on a natural key refuse the re-keyed copy while the original
 * still exists, and deleting the original first could lose it to a crash.
 * They are dropped here and built again by `ensureIndexes`, which runs after
 * the migrations.
 */
export async function dropUniqueIndexes(collection: mongo.Collection<StoredDocument>): Promise<void> {
  for (const index of await collection.indexes()) {
    if (index.unique && index.name !== undefined && index.name !== '_id_') await collection.dropIndex(index.name);
  }
}

/**
 * Moves every document with an ObjectId `_id` to `_id = keyOf(document)`:
 * the copy is inserted before the original is deleted, so a run cut short
 * at any point loses nothing and the next one finishes it.
 */
export async function rekeyObjectIds(db: mongo.Db, name: string, keyOf: (document: StoredDocument) => string): Promise<number> {
  const collection = db.collection<StoredDocument>(name);
  const stale = () => collection.find({ _id: { $type: 'objectId' } }).limit(BATCH).toArray();
  let batch = await stale();
  if (batch.length === 0) return 0;
  await dropUniqueIndexes(collection);
  let moved = 0;
  while (batch.length > 0) {
    await moveDocuments(collection, batch.map((document) => ({ from: document, to: { ...document, _id: keyOf(document) } })));
    moved += batch.length;
    batch = await stale();
  }
  return moved;
}

/** Inserts each `to`, then deletes each `from`; running it again after a crash is harmless. */
export async function moveDocuments(collection: mongo.Collection<StoredDocument>, moves: readonly { from: StoredDocument; to: StoredDocument }[]): Promise<void> {
  for (let start = 0; start < moves.length; start += BATCH) {
    const batch = moves.slice(start, start + BATCH);
    await insertIgnoringDuplicates(collection, batch.map((move) => move.to));
    await collection.deleteMany({ _id: { $in: batch.map((move) => move.from._id) } });
  }
}
