import type { JobView } from '@lilac/common';
import { ClaimWindow, type Candidate } from './claimWindow.ts';
import { toJobView, unclaimed, type StoredJob } from './jobViews.ts';
import { isDuplicateKey, later, type PoolContext } from './poolContext.ts';
import { ClaimAllowance, claimsHeldBy, tooManyClaims } from './claimAllowance.ts';

/** Jobs read per claim window, which all claims on one server share. */
const CLAIM_WINDOW = 256;
/** How long a server's claim window may miss queue changes another server made. */
const CLAIM_WINDOW_MAX_AGE_MS = 10_000;


/**
 * Hands out jobs: the most wanted one a builder may take. Inserting the job's
 * lease (its `_id` is the job's) decides the race between claimers, on one
 * server or many; the winner then checks the authoritative records the job's
 * hints mirror.
 */
export class Claimer {
  private readonly window: ClaimWindow;
  private readonly allowance: ClaimAllowance;

  constructor(private readonly pool: PoolContext) {
    this.allowance = new ClaimAllowance(pool);
    this.window = new ClaimWindow(
      () => this.readQueue({}, []),
      CLAIM_WINDOW,
      (builder, passed) => this.readQueue({ attestedBy: { $nin: [builder] }, triedBy: { $nin: [builder] } }, passed),
      CLAIM_WINDOW_MAX_AGE_MS,
      pool.now,
    );
  }

  /** The queue changed here: the window is read again before its next use. */
  invalidate(): void {
    this.window.invalidate();
  }

  /**
   * Claims the most wanted job this builder may take: queued, not attested by
   * it, not completed or failed by it, past its retry backoff; `null` when
   * there is none. Refused once the builder holds `maxClaimsPerBuilder`.
   */
  async claim(builder: string, socketId: string): Promise<JobView | null> {
    const reservation = await this.allowance.reserve(builder);
    try {
      const job = await this.claimReserved(builder, socketId, reservation.nearLimit);
      if (job) reservation.confirm();
      return job;
    } finally {
      reservation.cancel();
    }
  }

  private async claimReserved(builder: string, socketId: string, nearLimit: boolean): Promise<JobView | null> {
    const { models, config } = this.pool;
    // Jobs another claimer won, or this builder may not take, are not looked at again: every round makes progress.
    const passed = new Set<string>();
    const since = this.pool.now().getTime();
    for (;;) {
      const candidate = await this.window.next(builder, passed, since);
      if (candidate === null) return null;
      const id = String(candidate._id);
      passed.add(id);
      const now = this.pool.now();
      const leaseExpiresAt = later(this.pool, config.leaseMs);
      try {
        await models.Lease.create({ _id: id, socketId, builder, expiresAt: leaseExpiresAt, claimedAt: now });
      } catch (error) {
        if (isDuplicateKey(error)) continue;
        throw error;
      }
      // Near the limit the store is asked after the insert: of claims racing there from several processes, none that stays passes it.
      if (nearLimit && (await claimsHeldBy(this.pool, builder)) > config.maxClaimsPerBuilder) {
        await models.Lease.deleteOne({ _id: id, socketId });
        this.window.invalidate();
        throw tooManyClaims(builder, config.maxClaimsPerBuilder);
      }
      if (!(await this.mayTake(id, candidate.outPath, builder))) {
        await models.Lease.deleteOne({ _id: id, socketId });
        continue;
      }
      const job = await models.Job.findOneAndUpdate(
        { _id: candidate._id },
        { $set: { state: 'claimed', claimedBy: builder, socketId, leaseExpiresAt, since: now } },
        { new: true },
      ).lean<StoredJob>();
      if (!job) {
        await models.Lease.deleteOne({ _id: id, socketId });
        continue;
      }
      const view = toJobView(job);
      this.pool.events.publish('job:claimed', { job: view, builder });
      this.pool.statsChanged();
      return view;
    }
  }

  /** The most wanted queued jobs past their backoff, as many as a claim window holds; `claim` checks each before it holds it. */
  private readQueue(filter: Record<string, unknown>, passed: readonly string[]): Promise<Candidate[]> {
    return this.pool.models.Job.find(
      {
        // A plain equality FerretDB pushes down to SQLite; lapsed claims come back through the sweeper.
        state: 'queued',
        notBefore: { $lte: this.pool.now() },
        ...filter,
        ...(passed.length > 0 && { _id: { $nin: passed } }),
      },
      { _id: 1, outPath: 1, attestedBy: 1, triedBy: 1, notBefore: 1 },
    )
      .sort({ verifiedBuilders: 1, seq: 1 })
      .limit(CLAIM_WINDOW)
      .lean<Candidate[]>();
  }

  /**
   * Checks the records the claim query's hints mirror: the builder attested
   * the output or already tried the job, the job failed too often, or enough
   * builders now back its output. Corrects the job when a hint was stale.
   * Every read is by key; a claim costs the same however large the pool grows.
   */
  private async mayTake(id: string, outPath: string, builder: string): Promise<boolean> {
    const { JobAttempt, OutputSummary, Job } = this.pool.models;
    const { config } = this.pool;
    const [job, tried, summary] = await Promise.all([
      // `fail` writes the job's failure count before it gives up the lease this claimer now holds.
      Job.findById(id, { state: 1, notBefore: 1, attempts: 1 }).lean(),
      JobAttempt.exists({ job: id, builder }),
      OutputSummary.findOne({ outPath }, { verifiedBuilderCount: 1, attestedBy: 1 }).lean(),
    ]);
    const now = this.pool.now();
    // A claim window may be older than the job's last change: done, failed or backing off since.
    if (!job || job.state !== 'queued' || job.notBefore > now) return false;
    const attested = summary?.attestedBy.includes(builder) ?? false;
    const failures = job.attempts;
    const verified = summary?.verifiedBuilderCount ?? 0;
    if (verified >= config.targetBuilders) {
      await Job.updateOne({ _id: id }, { $set: { ...unclaimed(now), state: 'done', verifiedBuilders: verified } });
      return false;
    }
    if (failures >= config.maxAttempts) {
      await Job.updateOne({ _id: id }, { $set: { ...unclaimed(now), state: 'failed', attempts: failures } });
      return false;
    }
    if (attested || tried) {
      await Job.updateOne({ _id: id }, { $addToSet: attested ? { attestedBy: builder } : { triedBy: builder } });
      return false;
    }
    return true;
  }
}
