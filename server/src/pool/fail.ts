import type { FailPayload, JobOutcomeAck, RebuildOutcome } from '@lilac/common';
import { recordAttempt } from './attempts.ts';
import { heldJob } from './heldJob.ts';
import { backInQueue, toJobView, type StoredJob } from './jobViews.ts';
import { later, type PoolContext } from './poolContext.ts';
import { PoolError } from './poolError.ts';

/** The longest failure message kept: a build log's tail, not the whole log. */
const MAX_ERROR_LENGTH = 16 * 1024;

/** A worker's `fail` message. */
export function failure(payload: unknown): FailPayload {
  const { id, error } = (typeof payload === 'object' && payload !== null ? payload : {}) as { id?: unknown; error?: unknown };
  if (typeof id !== 'string' || typeof error !== 'string') throw new PoolError('fail needs { id, error }');
  return { id, error };
}

/** A failed rebuild: retried by another builder after a backoff, or failed for good after `maxAttempts`. */
export async function fail(pool: PoolContext, builder: string, socketId: string, payload: unknown): Promise<JobOutcomeAck> {
  const { id, error: message } = failure(payload);
  const error = message.slice(-MAX_ERROR_LENGTH);
  const job = await heldJob(pool, id, socketId);
  await recordAttempt(pool, id, builder, 'failed', error);
  const attempts = await pool.models.JobAttempt.countDocuments({ job: id, outcome: 'failed' });
  const final = attempts >= pool.config.maxAttempts;
  const state = final ? 'failed' : 'queued';
  const outcome: RebuildOutcome = { kind: 'failed', log: error };
  const updated = await pool.models.Job.findOneAndUpdate(
    { _id: job._id },
    {
      $set: {
        ...backInQueue(pool.now()),
        state,
        attempts,
        lastError: error,
        lastOutcome: outcome,
        notBefore: later(pool, pool.config.retryBaseMs * 2 ** (attempts - 1)),
      },
      $addToSet: { triedBy: builder },
    },
    { new: true },
  ).lean<StoredJob>();
  await pool.models.Lease.deleteOne({ _id: id, socketId });
  pool.events.publish('job:failed', { job: toJobView(updated ?? job), builder, error, final, outcome });
  if (final) pool.statsChanged();
  else pool.queueChanged();
  return { state, outcome };
}
