import type { AttemptView, RebuildOutcome } from '@lilac/common';
import { isDuplicateKeyError } from '../store/duplicateKey.ts';
import { attemptId, type AttemptRecord } from './leaseModel.ts';
import type { PoolContext } from './poolContext.ts';

type StoredAttempt = AttemptRecord & { _id: string };

/** The longest log tail an attempt keeps: enough to see why a build stopped, bounded so a job's history stays small. */
export const MAX_ATTEMPT_LOG = 16 * 1024;

/** The outcome's fields as an attempt stores them. */
function outcomeFields(outcome: RebuildOutcome) {
  switch (outcome.kind) {
    case 'reproduced':
    case 'unmatched':
      return { outcome: outcome.kind, narHash: outcome.narHash };
    case 'differs':
      return { outcome: outcome.kind, narHash: outcome.narHash, others: outcome.others };
    default:
      return { outcome: outcome.kind, log: outcome.log.slice(-MAX_ATTEMPT_LOG) };
  }
}

function storedOutcome(attempt: StoredAttempt): RebuildOutcome {
  switch (attempt.outcome) {
    case 'reproduced':
    case 'unmatched':
      return { kind: attempt.outcome, narHash: attempt.narHash ?? '' };
    case 'differs':
      return { kind: 'differs', narHash: attempt.narHash ?? '', others: attempt.others ?? [] };
    default:
      return { kind: attempt.outcome, log: attempt.log ?? '' };
  }
}

/**
 * Records one builder's finished go at a job, from `startedAt` (its claim) to
 * now; a repeat of the same message records nothing more.
 */
export async function recordAttempt(pool: PoolContext, job: string, builder: string, outcome: RebuildOutcome, startedAt: Date | null): Promise<void> {
  try {
    await pool.models.JobAttempt.create({ job, builder, ...outcomeFields(outcome), startedAt, at: pool.now() });
  } catch (cause) {
    if (!isDuplicateKeyError(cause)) throw cause;
  }
}

export function attemptView(attempt: StoredAttempt): AttemptView {
  const startedAt = attempt.startedAt ?? null;
  return {
    builder: attempt.builder,
    outcome: storedOutcome(attempt),
    startedAt: startedAt?.toISOString() ?? null,
    finishedAt: attempt.at.toISOString(),
    durationMs: startedAt ? attempt.at.getTime() - startedAt.getTime() : null,
  };
}

/**
 * The attempts at each of `jobs`, oldest first, by job id. Every builder that
 * finished a go at a job is in its `triedBy`, so they are read by key.
 */
export async function attemptsOf(pool: PoolContext, jobs: readonly { _id: unknown; triedBy: readonly string[] }[]): Promise<Map<string, AttemptView[]>> {
  const ids = jobs.flatMap((job) => job.triedBy.map((builder) => attemptId(String(job._id), builder)));
  const found = ids.length === 0 ? [] : await pool.models.JobAttempt.find({ _id: { $in: ids } }).sort({ at: 1 }).lean<StoredAttempt[]>();
  const byJob = new Map<string, AttemptView[]>(jobs.map((job) => [String(job._id), []]));
  for (const attempt of found) byJob.get(attempt.job)?.push(attemptView(attempt));
  return byJob;
}

/** The pool's attempts at rebuilding `outPath`, oldest first; none when it was never enqueued. */
export async function attemptsAt(pool: PoolContext, outPath: string): Promise<AttemptView[]> {
  const job = await pool.models.Job.findOne({ outPath }, { triedBy: 1 }).lean();
  if (!job) return [];
  return (await attemptsOf(pool, [job])).get(String(job._id)) ?? [];
}
