import type { Migration } from './migration.ts';

/** MongoDB's (and FerretDB's) code for a collection that does not exist. */
const NAMESPACE_NOT_FOUND = 26;
/** Stands for every process of the earlier lilac: never written again, it is taken for a dead one's 30 s later, counted from and deleted. */
const EARLIER_PROCESSES = 'before-checkpoints';
/** The earlier processes stamped their attestations by their own hosts' clocks. */
const EARLIER_CLOCKS_MARGIN_MS = 60_000;

/**
 * Ingest wrote an intent per request (`ingest_intents`) before its
 * attestations and deleted it once they were counted: a store round trip on
 * every group's way. A process's checkpoint (`ingest_checkpoints`) now says
 * the same for all its requests at once. The earlier processes get one
 * checkpoint at the oldest open intent's time (an intent was opened at the
 * time its attestations were stored with), or now: start-up counts every
 * attestation stored since, and so does the sweep that finds it dead 30 s
 * later, which covers what an earlier process still running stored until
 * then; earlier processes must be stopped by then, as for every migration.
 */
export const ingestCheckpoints: Migration = {
  version: 11,
  name: 'ingest intents become a checkpoint of the processes before',
  async up(db) {
    // Taken before the intents are read: one opened meanwhile is no older than this, less the margin for another host's clock.
    const now = new Date(Date.now() - EARLIER_CLOCKS_MARGIN_MS);
    const intents = db.collection<{ openedAt: Date }>('ingest_intents');
    let oldest: Date | null = null;
    for await (const intent of intents.find({}, { projection: { openedAt: 1 } })) {
      if (oldest === null || intent.openedAt < oldest) oldest = intent.openedAt;
    }
    // A store without attestations (a new one) has nothing an earlier process left uncounted.
    const attested = (await db.collection('attestations').findOne({}, { projection: { _id: 1 } })) !== null;
    if (attested) {
      await db
        .collection<{ _id: string; settledBefore: Date; seenAt: Date }>('ingest_checkpoints')
        .updateOne({ _id: EARLIER_PROCESSES }, { $set: { settledBefore: oldest !== null && oldest < now ? oldest : now, seenAt: new Date() } }, { upsert: true });
    }
    try {
      await intents.drop();
    } catch (error) {
      // Never there (a store created after the change), or already dropped: what the migration wants either way.
      if ((error as { code?: unknown }).code !== NAMESPACE_NOT_FOUND) throw error;
    }
  },
};
