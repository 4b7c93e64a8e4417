import { mongo } from 'mongoose';
import { attestationId } from '../../attestations/attestationModel.ts';
import { jobIdFor } from '../../pool/jobModel.ts';
import type { Migration } from './migration.ts';
import { dropUniqueIndexes, insertIgnoringDuplicates, moveDocuments, rekeyObjectIds, type StoredDocument } from './rekey.ts';

function field(document: StoredDocument, name: string, collection: string): string {
  const value = document[name];
  if (typeof value !== 'string') throw new Error(`${collection} document ${String(document._id)} has no ${name}: it cannot be keyed`);
  return value;
}

/** The keys each model's `keyedBy` declares, as they apply to documents stored with an ObjectId. */
const KEYED_COLLECTIONS: readonly { name: string; keyOf: (document: StoredDocument) => string }[] = [
  { name: 'builders', keyOf: (document) => field(document, 'name', 'builders') },
  { name: 'builder_tokens', keyOf: (document) => field(document, 'hash', 'builder_tokens') },
  {
    name: 'attestations',
    keyOf: (document) => attestationId(field(document, 'outPath', 'attestations'), field(document, 'builder', 'attestations'), field(document, 'narHash', 'attestations')),
  },
  { name: 'output_summaries', keyOf: (document) => field(document, 'outPath', 'output_summaries') },
  { name: 'derivations', keyOf: (document) => field(document, 'drvPath', 'derivations') },
  { name: 'divergences', keyOf: (document) => field(document, 'outPath', 'divergences') },
];

/**
 * Jobs are keyed by `jobIdFor(outPath)`, an ObjectId too, and both leases
 * (`_id` = job id) and attempts (`job`, and `_id` = `job:builder`) name
 * them. New jobs are inserted first, the leases and attempts then point at
 * them, and only then are the old jobs deleted: a run cut short still finds
 * the old ids it has to translate.
 */
async function rekeyPool(db: mongo.Db): Promise<void> {
  const jobs = db.collection<StoredDocument>('pool_jobs');
  const renamed = new Map<string, mongo.ObjectId>();
  for (const job of await jobs.find({}, { projection: { _id: 1, outPath: 1 } }).toArray()) {
    const key = jobIdFor(field(job, 'outPath', 'pool_jobs'));
    if (!(job._id instanceof mongo.ObjectId && job._id.equals(key))) renamed.set(String(job._id), key);
  }
  if (renamed.size > 0) {
    await dropUniqueIndexes(jobs);
    const oldIds = [...renamed.keys()].map((id) => new mongo.ObjectId(id));
    const stored = await jobs.find({ _id: { $in: oldIds } }).toArray();
    // Copied, not moved: the old jobs are deleted last.
    await insertIgnoringDuplicates(jobs, stored.flatMap((job) => {
      const key = renamed.get(String(job._id));
      return key ? [{ ...job, _id: key }] : [];
    }));
  }

  const attempts = db.collection<StoredDocument>('pool_attempts');
  const attemptMoves = (await attempts.find({}).toArray()).flatMap((attempt) => {
    const job = field(attempt, 'job', 'pool_attempts');
    const newJob = renamed.get(job)?.toHexString() ?? job;
    const key = `${newJob}:${field(attempt, 'builder', 'pool_attempts')}`;
    return attempt._id === key ? [] : [{ from: attempt, to: { ...attempt, _id: key, job: newJob } }];
  });
  if (attemptMoves.length > 0) await dropUniqueIndexes(attempts);
  await moveDocuments(attempts, attemptMoves);

  const leases = db.collection<StoredDocument>('pool_leases');
  const leaseMoves = (await leases.find({ _id: { $in: [...renamed.keys()] } }).toArray()).flatMap((lease) => {
    const key = renamed.get(String(lease._id));
    return key ? [{ from: lease, to: { ...lease, _id: key.toHexString() } }] : [];
  });
  await moveDocuments(leases, leaseMoves);

  if (renamed.size > 0) await jobs.deleteMany({ _id: { $in: [...renamed.keys()].map((id) => new mongo.ObjectId(id)) } });
}

/**
 * Commit 49e95e4 (and 8e038c0 for builders and tokens) began storing each
 * document under its natural key (`keyedBy`), and every read since looks
 * documents up by that key; documents written before kept the ObjectId the
 * driver gave them, so lilac no longer found them: attestations, verdicts,
 * derivations, builders and tokens of an older store were invisible.
 */
export const naturalKeyIds: Migration = {
  version: 1,
  name: 'key documents written before 49e95e4 by their natural key in _id',
  async up(db, log) {
    for (const { name, keyOf } of KEYED_COLLECTIONS) {
      const moved = await rekeyObjectIds(db, name, keyOf);
      if (moved > 0) log.info({ collection: name, documents: moved }, 'keyed by natural key');
    }
    await rekeyPool(db);
  },
};
