import type { JobOutcomeAck, AttestationView, RebuildOutcome } from '@lilac/common';
import type { AttestationIngest } from '../attestations/ingestService.ts';
import type { AttestationInput } from '../attestations/submissions.ts';
import type { Builder } from '../builders/builderService.ts';
import { toJobView, unclaimed, type StoredJob } from './jobViews.ts';
import { heldJob } from './leases.ts';
import { isDuplicateKey, later, type PoolContext } from './poolContext.ts';
import { PoolError } from './poolError.ts';
import { decideRebuildOutcome } from './rebuildOutcome.ts';

/** The longest failure message kept: a build log's tail, not the whole log. */
const MAX_ERROR_LENGTH = 16 * 1024;

/** The one door attestations enter by; the pool only submits. */
export type Ingest = Pick<AttestationIngest, 'submit'>;

async function recordAttempt(pool: PoolContext, job: string, builder: string, outcome: 'done' | 'failed', error: string | null): Promise<void> {
  try {
    await pool.models.JobAttempt.create({ job, builder, outcome, error, at: pool.now() });
  } catch (cause) {
    if (!isDuplicateKey(cause)) throw cause;
  }
}

/**
 * The worker rebuilt the job it holds: its attestations (of outputs of the
 * job's derivation, the job's output among them) are ingested, the job
 * retires when enough independent builders now back the output, else it goes
 * back to the queue for another builder.
 */
export async function complete(
  pool: PoolContext,
  ingest: Ingest,
  id: string,
  builder: Builder,
  socketId: string,
  attestations: readonly AttestationInput[],
): Promise<JobOutcomeAck> {
  const job = await heldJob(pool, id, socketId);
  if (attestations.some((input) => input.drvPath !== job.drvPath)) throw new PoolError(`attestations must be of outputs of ${job.drvPath}`);
  const rebuilt = attestations.find((input) => input.outPath === job.outPath);
  if (!rebuilt) throw new PoolError(`attestations must include ${job.outPath}`);
  await ingest.submit(builder, attestations);
  await recordAttempt(pool, id, builder.name, 'done', null);
  const summary = await pool.models.OutputSummary.findOne({ outPath: job.outPath }, { verifiedBuilderCount: 1, attestedBy: 1, hashes: 1 }).lean();
  const outcome = decideRebuildOutcome(builder.name, rebuilt.narHash, summary?.hashes ?? []);
  const verified = summary?.verifiedBuilderCount ?? 0;
  const state = verified >= pool.config.targetBuilders ? 'done' : 'queued';
  const now = pool.now();
  const updated = await pool.models.Job.findOneAndUpdate(
    { _id: job._id },
    {
      $set: { ...unclaimed(now), state, verifiedBuilders: verified, notBefore: now, lastOutcome: outcome },
      $addToSet: { triedBy: builder.name, attestedBy: { $each: [builder.name, ...(summary?.attestedBy ?? [])] } },
    },
    { new: true },
  ).lean<StoredJob>();
  await pool.models.Lease.deleteOne({ _id: id, socketId });
  pool.events.publish('job:done', { job: toJobView(updated ?? job), builder: builder.name, outcome });
  if (state === 'queued') pool.queueChanged();
  else pool.statsChanged();
  return { state, outcome };
}

/** A failed rebuild: retried by another builder after a backoff, or failed for good after `maxAttempts`. */
export async function fail(pool: PoolContext, id: string, builder: string, socketId: string, message: string): Promise<JobOutcomeAck> {
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
        ...unclaimed(pool.now()),
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

/**
 * Keeps the pictures of who attested their outputs current for the jobs of these attestations, and
 * retires those that enough independent builders back. Attestations come by the thousand a second
 * and rarely concern a job: one read looks for all their jobs at once.
 */
export async function followAttestations(pool: PoolContext, attestations: readonly AttestationView[]): Promise<void> {
  const buildersOf = new Map<string, Set<string>>();
  for (const { output_path: outPath, builder } of attestations) {
    const builders = buildersOf.get(outPath);
    if (builders) builders.add(builder);
    else buildersOf.set(outPath, new Set([builder]));
  }
  const jobs = await pool.models.Job.find({ outPath: { $in: [...buildersOf.keys()] } }, { _id: 1, outPath: 1, state: 1, attestedBy: 1, verifiedBuilders: 1 }).lean<StoredJob[]>();
  await Promise.all(jobs.map((job) => followJob(pool, job, [...(buildersOf.get(job.outPath) ?? [])])));
}

async function followJob(
  pool: PoolContext,
  job: Pick<StoredJob, '_id' | 'outPath' | 'state' | 'attestedBy' | 'verifiedBuilders'>,
  builders: readonly string[],
): Promise<void> {
  const { Job, Lease, OutputSummary } = pool.models;
  // A held job is settled by its holder's complete, or by the next claim's checks.
  if (await Lease.exists({ _id: String(job._id) })) return;
  const summary = await OutputSummary.findOne({ outPath: job.outPath }, { verifiedBuilderCount: 1 }).lean();
  const verified = summary?.verifiedBuilderCount ?? 0;
  const retire = verified >= pool.config.targetBuilders && job.state !== 'done';
  if (!retire && builders.every((builder) => job.attestedBy.includes(builder)) && job.verifiedBuilders === verified) return;
  await Job.updateOne(
    { _id: job._id },
    { $set: { verifiedBuilders: verified, ...(retire && { ...unclaimed(pool.now()), state: 'done' }) }, $addToSet: { attestedBy: { $each: [...builders] } } },
  );
  if (retire) pool.statsChanged();
}
