import { isUnbuiltOutcome, REBUILD_OUTCOME_KINDS, RETRIED_OUTCOME_KINDS, type AttemptView, type RebuildOutcome, type ReportRebuilds } from '@lilac/common';
import { isDuplicateKeyError } from '../store/duplicateKey.ts';
import { jobIdFor } from './jobModel.ts';
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

/**
 * How many of a job's attempts failed or timed out since it was last asked
 * for again: those count toward `maxAttempts`. Read by key, as `attemptsOf`.
 */
export async function retriedAttemptCount(pool: PoolContext, job: { _id: unknown; triedBy: readonly string[]; attemptsSince?: Date | null }, builder: string): Promise<number> {
  const ids = [...new Set([...job.triedBy, builder])].map((tried) => attemptId(String(job._id), tried));
  const since = job.attemptsSince ?? new Date(0);
  return pool.models.JobAttempt.countDocuments({ _id: { $in: ids }, outcome: { $in: RETRIED_OUTCOME_KINDS }, at: { $gte: since } });
}

function attemptView(attempt: StoredAttempt): AttemptView {
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

/** One job's attempts, oldest first. */
export async function historyOf(pool: PoolContext, job: { _id: unknown; triedBy: readonly string[] }): Promise<AttemptView[]> {
  return (await attemptsOf(pool, [job])).get(String(job._id)) ?? [];
}

/** The pool's attempts at rebuilding `outPath`, oldest first; none when it was never enqueued. */
export async function attemptsAt(pool: PoolContext, outPath: string): Promise<AttemptView[]> {
  const job = await pool.models.Job.findOne({ outPath }, { triedBy: 1 }).lean();
  return job ? historyOf(pool, job) : [];
}

/** Outputs looked up in one read: the store's bound on an `$in` of keys is far above. */
const OUTCOMES_CHUNK = 1000;
/** The most not-reproduced rebuilds a report lists; the counts cover all. */
const MAX_LISTED = 500;

/**
 * How the last rebuild of each of `outPaths` ended, read by key (a job's id
 * comes from its output): counts by ending, and the outputs it did not reproduce.
 */
export async function lastRebuildsOf(pool: PoolContext, outPaths: readonly string[]): Promise<ReportRebuilds> {
  const counts = Object.fromEntries(REBUILD_OUTCOME_KINDS.map((kind) => [kind, 0])) as ReportRebuilds['counts'];
  const notReproduced: ReportRebuilds['notReproduced'] = [];
  const unique = [...new Set(outPaths)];
  for (let start = 0; start < unique.length; start += OUTCOMES_CHUNK) {
    const ids = unique.slice(start, start + OUTCOMES_CHUNK).map(jobIdFor);
    const jobs = await pool.models.Job.find({ _id: { $in: ids }, lastOutcome: { $ne: null } }, { outPath: 1, lastOutcome: 1 }).lean();
    for (const job of jobs) {
      const outcome = job.lastOutcome as RebuildOutcome;
      counts[outcome.kind] += 1;
      if ((outcome.kind === 'differs' || isUnbuiltOutcome(outcome.kind)) && notReproduced.length < MAX_LISTED) notReproduced.push({ outPath: job.outPath, outcome });
    }
  }
  notReproduced.sort((a, b) => a.outPath.localeCompare(b.outPath));
  return { counts, notReproduced };
}
