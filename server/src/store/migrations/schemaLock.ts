import type { mongo } from 'mongoose';
import { isDuplicateKeyError } from '../duplicateKey.ts';

/** `store_schema` holds the version document and these locks, one per migration run. */
interface LockDocument {
  _id: string;
  kind: 'lock';
  epoch: number;
  holder: string;
  expiresAt: Date;
  releasedAt?: Date;
}

export interface SchemaLockTiming {
  /** A holder that stops renewing its lock for this long is taken for dead, and its lock taken over. */
  readonly ttlMs: number;
  readonly now: () => Date;
}

export interface HeldSchemaLock {
  /** False once another process took the lock over (this one was taken for dead). */
  stillHeld(): Promise<boolean>;
  release(): Promise<void>;
}

/**
 * The right to migrate the store: inserting the lock of the next epoch under
 * its unique `_id`, so exactly one process wins each epoch. A lock whose holder died expires, and the next epoch takes over
 * without deleting anything another process might still be deciding on.
 * Returns null when another process holds a live lock.
 */
export async function trySchemaLock(collection: mongo.Collection, holder: string, timing: SchemaLockTiming): Promise<HeldSchemaLock | null> {
  const locks = collection as unknown as mongo.Collection<LockDocument>;
  const [latest] = await locks.find({ kind: 'lock' }).sort({ epoch: -1 }).limit(1).toArray();
  if (latest && latest.releasedAt === undefined && latest.expiresAt > timing.now()) return null;
  const epoch = (latest?.epoch ?? 0) + 1;
  const _id = `lock-${epoch}`;
  const expiry = () => new Date(timing.now().getTime() + timing.ttlMs);
  try {
    await locks.insertOne({ _id, kind: 'lock', epoch, holder, expiresAt: expiry() });
  } catch (error) {
    if (isDuplicateKeyError(error)) return null;
    throw error;
  }
  const renewal = setInterval(() => {
    locks.updateOne({ _id }, { $set: { expiresAt: expiry() } }).catch(() => undefined);
  }, timing.ttlMs / 4);
  renewal.unref();
  return {
    async stillHeld() {
      return (await locks.countDocuments({ kind: 'lock', epoch: { $gt: epoch } })) === 0;
    },
    async release() {
      clearInterval(renewal);
      await locks.updateOne({ _id }, { $set: { releasedAt: timing.now() } });
    },
  };
}
