import { REBUILD_OUTCOME_KINDS } from '@lilac/common';
import { Schema, type InferSchemaType } from 'mongoose';
import { keyedBy } from '../store/keyedBy.ts';

/**
 * Who holds a job right now. The lease's `_id` is the job's id, so taking a
 * job is inserting its lease and the store's unique `_id` lets exactly one
 * claimer win; the job itself is not written, so a claim is one round trip.
 * Heartbeats and the sweeper change a lease only by conditional writes on
 * `expiresAt`, which both stores apply atomically to one document.
 */
export const leaseSchema = new Schema(
  {
    _id: { type: String, required: true },
    socketId: { type: String, required: true },
    builder: { type: String, required: true },
    expiresAt: { type: Date, required: true },
    claimedAt: { type: Date, required: true },
  },
  { collection: 'pool_leases', versionKey: false },
);
leaseSchema.index({ socketId: 1 });
leaseSchema.index({ expiresAt: 1 });

export type LeaseRecord = InferSchemaType<typeof leaseSchema>;

/**
 * One builder's finished go at one job, kept as the job's history; unique per
 * (job, builder) so retries and "never again" are counted exactly. The
 * outcome's fields are flat so a count of retried endings is one query.
 */
export const attemptSchema = new Schema(
  {
    _id: { type: String },
    job: { type: String, required: true },
    builder: { type: String, required: true },
    outcome: { type: String, enum: REBUILD_OUTCOME_KINDS, required: true },
    /** The rebuilt NAR hash, for the endings that built. */
    narHash: { type: String, default: null },
    /** `differs`: the other builders' hashes. */
    others: { type: [String], default: undefined },
    /** The build log's tail, for the endings that did not build. */
    log: { type: String, default: null },
    /** When the builder claimed it; null for attempts recorded before lilac kept it. */
    startedAt: { type: Date, default: null },
    at: { type: Date, required: true },
  },
  { collection: 'pool_attempts', versionKey: false },
);
/** An attempt's key; a job id is 24 hex digits, so the separator cannot occur in it and the key is unambiguous. */
export function attemptId(job: string, builder: string): string {
  return `${job}:${builder}`;
}
keyedBy(attemptSchema, ['job', 'builder'], ([job, builder]) => attemptId(job ?? '', builder ?? ''));
attemptSchema.index({ job: 1, builder: 1 }, { unique: true });

export type AttemptRecord = InferSchemaType<typeof attemptSchema>;
