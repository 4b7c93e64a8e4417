import { createHash } from 'node:crypto';
import { Schema, Types, type InferSchemaType } from 'mongoose';
import { keyedBy } from '../store/keyedBy.ts';

/** How a job's id is written: the hex of its ObjectId. */
export const JOB_ID = /^[0-9a-f]{24}$/;

/** A job is unique per output, so its id is derived from the output path; rebuilders still see a 24-hex ObjectId. */
export function jobIdFor(outPath: string): Types.ObjectId {
  return new Types.ObjectId(createHash('sha256').update(outPath).digest().subarray(0, 12));
}

/** A job's stored states; a queued job with a lease is shown as `claimed`, the lease being the one record of who holds it. */
/** The order claims and the monitor take queued jobs in: higher priority, then fewer verified builders, then first asked. */
export const JOB_ORDER = { priority: -1, verifiedBuilders: 1, seq: 1 } as const;

export const JOB_STATES = ['queued', 'done', 'failed', 'cancelled'] as const;

/**
 * One output to rebuild. Everything a claim filters and sorts on lives on the
 * job itself, so finding the most wanted claimable job is one query.
 * `state`, `attestedBy` and `triedBy` steer that query and the monitor; the
 * lease and attempt collections are the authority on who holds and who tried
 * a job. A claim writes only the lease: a write fewer per claim on a store
 * that serialises writes.
 */
export const jobSchema = new Schema(
  {
    drvPath: { type: String, required: true },
    output: { type: String, required: true },
    outPath: { type: String, required: true, unique: true },
    state: { type: String, enum: JOB_STATES, required: true, default: 'queued' },
    /** Priority, first key: what a maintainer or the enqueuer said, higher first. */
    priority: { type: Number, required: true, default: 0 },
    /** Priority, second key: outputs with fewer independent verified builders go first. */
    verifiedBuilders: { type: Number, required: true, default: 0 },
    /** Priority, third key: the order jobs were asked for. */
    seq: { type: Number, required: true },
    /** The Nix system it is built for; null: not said, any worker may take it. */
    system: { type: String, default: null },
    /** Features a worker must announce to be offered it. */
    requiredSystemFeatures: { type: [String], default: [] },
    /** Builders that attested the output (verified or not): never offered it. */
    attestedBy: { type: [String], default: [] },
    /** Builders that completed or failed this job: never offered it again. */
    triedBy: { type: [String], default: [] },
    /** Not claimable before this (retry backoff). */
    notBefore: { type: Date, required: true },
    attempts: { type: Number, required: true, default: 0 },
    /** Failed and timed-out attempts count toward the limit from here: the last time it was asked for again (null: never). */
    attemptsSince: { type: Date, default: null },
    lastError: { type: String, default: null },
    /** How the last rebuild ended (`RebuildOutcome`), shown on the monitor. */
    lastOutcome: { type: Schema.Types.Mixed, default: null },
    /** When the job entered its current state. */
    since: { type: Date, required: true },
  },
  { collection: 'pool_jobs', versionKey: false },
);
keyedBy(jobSchema, ['outPath'], ([outPath]) => jobIdFor(outPath ?? ''));
jobSchema.index({ state: 1, ...JOB_ORDER });

export type JobRecord = InferSchemaType<typeof jobSchema>;

/** Hands out blocks of the monotonically increasing sequence that orders jobs across server processes. */
export const poolCounterSchema = new Schema({ _id: { type: String, required: true }, value: { type: Number, required: true } }, { collection: 'pool_counters', versionKey: false });
