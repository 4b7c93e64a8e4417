import { mongo } from 'mongoose';
import { decideRebuildOutcome } from '../../pool/rebuildOutcome.ts';
import type { Migration } from './migration.ts';

interface OldAttempt {
  _id: string;
  job: string;
  builder: string;
  outcome: string;
  error?: string | null;
}

interface StoredHashGroup {
  narHash: string;
  verifiedBuilders: string[];
  unverifiedBuilders?: string[];
}

/**
 * Attempts say how they ended (`reproduced`, `differs`, `unmatched`,
 * `failed`, …) where they said `done` or `failed`, keep their log as `log`,
 * and know when they started (`startedAt`, null before). A `done` attempt's
 * ending is decided again from the output's summary as it is now, by the
 * hash its builder attested; an attempt whose builder's hash is no longer
 * there (its attestation gone) is `unmatched`, with an empty hash.
 */
export const attemptOutcomes: Migration = {
  version: 7,
  name: 'rebuild attempts record their outcome, log and start',
  async up(db) {
    if ((await db.listCollections({ name: 'pool_attempts' }, { nameOnly: true }).toArray()).length === 0) return;
    const attempts = db.collection<OldAttempt>('pool_attempts');
    await attempts.updateMany({ error: { $exists: true } }, { $rename: { error: 'log' } });
    await attempts.updateMany({ startedAt: { $exists: false } }, { $set: { startedAt: null } });
    await attempts.updateMany({ outcome: 'failed', narHash: { $exists: false } }, { $set: { narHash: null } });
    const jobs = db.collection<{ _id: mongo.ObjectId; outPath: string }>('pool_jobs');
    const summaries = db.collection<{ outPath: string; hashes: StoredHashGroup[] }>('output_summaries');
    for await (const attempt of attempts.find({ outcome: 'done' })) {
      const job = mongo.ObjectId.isValid(attempt.job) ? await jobs.findOne({ _id: new mongo.ObjectId(attempt.job) }) : null;
      const summary = job ? await summaries.findOne({ outPath: job.outPath }) : null;
      const hashes = summary?.hashes ?? [];
      const own = hashes.find((group) => group.verifiedBuilders.includes(attempt.builder) || (group.unverifiedBuilders ?? []).includes(attempt.builder));
      const outcome = own ? decideRebuildOutcome(attempt.builder, own.narHash, hashes) : { kind: 'unmatched' as const, narHash: '' };
      const others = outcome.kind === 'differs' ? { others: outcome.others } : {};
      await attempts.updateOne({ _id: attempt._id, outcome: 'done' }, { $set: { outcome: outcome.kind, narHash: outcome.narHash, log: null, ...others } });
    }
  },
};
