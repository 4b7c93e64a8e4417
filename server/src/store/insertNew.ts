import type { Collection } from 'mongoose';
import { isDuplicateKeyError } from './duplicateKey.ts';

/**
 * Inserts the documents in one round trip, unordered, and returns the
 * positions of those refused because their key is taken (they were there
 * already, or another writer got there first). Any other refusal throws.
 * Documents go to the driver as given: every field, `_id` and timestamps
 * included, is the caller's to set.
 */
export async function insertNew(collection: Collection, documents: readonly object[]): Promise<Set<number>> {
  const taken = new Set<number>();
  if (documents.length === 0) return taken;
  try {
    await collection.insertMany(documents as never[], { ordered: false });
  } catch (error) {
    const writeErrors = (error as { writeErrors?: unknown }).writeErrors;
    const refusals = (Array.isArray(writeErrors) ? writeErrors : writeErrors ? [writeErrors] : []) as { index: number; code?: number; err?: { code?: number } }[];
    if (refusals.length === 0 || refusals.some((refusal) => !isDuplicateKeyError({ code: refusal.code ?? refusal.err?.code }))) throw error;
    for (const refusal of refusals) taken.add(refusal.index);
  }
  return taken;
}
