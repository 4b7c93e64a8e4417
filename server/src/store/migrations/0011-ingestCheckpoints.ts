import type { Migration } from './migration.ts';

/** MongoDB's (and FerretDB's) code for a collection that does not exist. */
const NAMESPACE_NOT_FOUND = 26;
/** Stands for every process of the earlier lilac: as never seen, it is dead, so the first sweep counts from it and deletes it. */
const EARLIER_PROCESSES = 'before-checkpoints';

/**
 * Ingest wrote an intent per request (`ingest_intents`) before its
 * attestations and deleted it once they were counted: a store round trip on
 * every group's way. A process's checkpoint (`ingest_checkpoints`) now says
 * the same for all its requests at once. An intent still open becomes a
 * checkpoint at the oldest one's time, of a process long gone: the first
 * sweep counts every attestation stored since (an intent was opened at the
 * time its attestations were stored with), then removes it.
 */
export const ingestCheckpoints: Migration = {
  version: 11,
  name: 'ingest intents become a checkpoint of the processes before',
  async up(db) {
    const intents = db.collection<{ openedAt: Date }>('ingest_intents');
    let oldest: Date | null = null;
    for await (const intent of intents.find({}, { projection: { openedAt: 1 } })) {
      if (oldest === null || intent.openedAt < oldest) oldest = intent.openedAt;
    }
    if (oldest !== null) {
      await db
        .collection<{ _id: string; settledBefore: Date; seenAt: Date }>('ingest_checkpoints')
        .updateOne({ _id: EARLIER_PROCESSES }, { $set: { settledBefore: oldest, seenAt: new Date(0) } }, { upsert: true });
    }
    try {
      await intents.drop();
    } catch (error) {
      // Never there (a store created after the change), or already dropped: what the migration wants either way.
      if ((error as { code?: unknown }).code !== NAMESPACE_NOT_FOUND) throw error;
    }
  },
};
