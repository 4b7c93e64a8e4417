import { isDuplicateKeyError } from './duplicateKey.ts';

/**
 * Runs an upsert on a unique key (`_id` or a unique index), once more if it
 * lost a race: two upserts of one new key at once insert one document and
 * refuse the other with E11000 (MongoDB retries that itself only in some
 * cases, FerretDB never). Run again, the loser finds the document and
 * updates it.
 */
export async function withUpsertRetry<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (!isDuplicateKeyError(error)) throw error;
    return write();
  }
}
