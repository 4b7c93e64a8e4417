import { isRetriedOutcome, UNBUILT_OUTCOME_KINDS, type FailPayload, type JobOutcomeAck, type JobState, type RebuildOutcome, type UnbuiltOutcomeKind } from '@lilac/common';
import { MAX_ATTEMPT_LOG, recordAttempt, retriedAttemptCount } from './attempts.ts';
import { heldJob } from './heldJob.ts';
import { backInQueue, toJobView, type StoredJob } from './jobViews.ts';
import { later, type PoolContext } from './poolContext.ts';
import { PoolError } from './poolError.ts';

/** A worker's `fail` message; a worker that does not say how the build ended says it `failed`. */
export function failure(payload: unknown): Required<FailPayload> {
  const { id, error, kind = 'failed' } = (typeof payload === 'object' && payload !== null ? payload : {}) as { id?: unknown; error?: unknown; kind?: unknown };
  if (typeof id !== 'string' || typeof error !== 'string') throw new PoolError('fail needs { id, error }');
  if (!(UNBUILT_OUTCOME_KINDS as readonly unknown[]).includes(kind)) throw new PoolError(`fail's kind must be one of ${UNBUILT_OUTCOME_KINDS.join(', ')}`);
  return { id, error, kind: kind as UnbuiltOutcomeKind };
}

/**
 * A rebuild that did not build. One that failed or timed out is retried by
 * another builder after a backoff, and fails for good after `maxAttempts`
 * such endings; a cancelled one is not retried. None of them touches the
 * output's verdict or divergences: nothing was attested.
 */
export async function fail(pool: PoolContext, builder: string, socketId: string, payload: unknown): Promise<JobOutcomeAck> {
  const { id, error: message, kind } = failure(payload);
  const error = message.slice(-MAX_ATTEMPT_LOG);
  const { job, lease } = await heldJob(pool, id, socketId);
  const outcome = { kind, log: error } as RebuildOutcome;
  await recordAttempt(pool, id, builder, outcome, lease.claimedAt);
  const attempts = await retriedAttemptCount(pool, job, builder);
  const retried = isRetriedOutcome(kind);
  const final = !retried || attempts >= pool.config.maxAttempts;
  const state: JobState = !retried ? 'cancelled' : final ? 'failed' : 'queued';
  const updated = await pool.models.Job.findOneAndUpdate(
    { _id: job._id },
    {
      $set: {
        ...backInQueue(pool.now()),
        state,
        attempts,
        lastError: error,
        lastOutcome: outcome,
        notBefore: later(pool, pool.config.retryBaseMs * 2 ** Math.max(0, attempts - 1)),
      },
      $addToSet: { triedBy: builder },
    },
    { new: true },
  ).lean<StoredJob>();
  await pool.models.Lease.deleteOne({ _id: id, socketId });
  pool.held.remove([id]);
  pool.events.publish('job:failed', { job: toJobView(updated ?? job), builder, error, final, outcome });
  if (final) pool.statsChanged();
  else pool.queueChanged();
  return { state, outcome };
}
