import type { JobView, WorkerCapabilities } from '@lilac/common';
import { insertNew } from '../store/insertNew.ts';
import { ClaimAllowance, claimsHeldBy, tooManyClaims } from './claimAllowance.ts';
import type { Claimant } from './claimant.ts';
import { checkWon, type Won } from './claimChecks.ts';
import { ClaimWindows, type Candidate, type QueueRead } from './claimWindow.ts';
import { JOB_ORDER } from './jobModel.ts';
import { toJobView } from './jobViews.ts';
import { later, type PoolContext } from './poolContext.ts';

/** How long a server's claim window may miss queue changes another server made. */
const CLAIM_WINDOW_MAX_AGE_MS = 10_000;

/**
 * Rounds under way at once: the claims that arrive while one round waits for
 * the store go in the next without waiting for it to end.
 */
const ROUNDS_IN_FLIGHT = 2;

/** One `claim` waiting for its answer. */
interface Pending {
  readonly claimant: Claimant;
  /** Jobs another claimer won, or this claimant may not take: not looked at again, so every round makes progress. */
  readonly passed: Set<string>;
  readonly since: number;
  /** The builder is close enough to its limit that the store is asked once the lease is in. */
  readonly nearLimit: boolean;
  resolve(job: JobView | null): void;
  reject(error: unknown): void;
}

/** A claim and the job it tries for next. */
interface Trying {
  readonly pending: Pending;
  readonly candidate: Candidate;
}

/**
 * Hands out jobs: the most wanted one each claimant may take. Claims are
 * decided in rounds: the claims that arrive while a round is in flight go
 * together in the next one, whose leases are one insert (one write on a store
 * that serialises writes, where one insert a claim was most of a claim's
 * cost). A lease's `_id` is its job's, so the store's unique `_id` lets one
 * claimer win each job, in this process or another; the losers try their
 * next candidate in the next round. The winners' jobs are then checked
 * against the records the hints mirror, three reads for the whole round.
 */
export class Claimer {
  private readonly window: ClaimWindows;
  private readonly allowance: ClaimAllowance;
  /** Claims with a candidate, for the next round. */
  private waiting: Trying[] = [];
  private inFlight = 0;
  private starting = false;

  constructor(private readonly pool: PoolContext) {
    this.allowance = new ClaimAllowance(pool);
    this.window = new ClaimWindows(() => this.readQueue(), CLAIM_WINDOW_MAX_AGE_MS, pool.now);
  }

  /** The queue changed here: the window is read again before its next use. */
  invalidate(): void {
    this.window.invalidate();
  }

  /**
   * Claims the most wanted job this builder may take: queued, not held, not
   * attested by it, not completed or failed by it, past its retry backoff;
   * `null` when there is none. Refused once the builder holds `maxClaimsPerBuilder`.
   */
  async claim(builder: string, socketId: string, capabilities: WorkerCapabilities | null = null): Promise<JobView | null> {
    const reservation = await this.allowance.reserve(builder);
    try {
      const job = await new Promise<JobView | null>((resolve, reject) => {
        this.pick({ claimant: { builder, socketId, capabilities }, passed: new Set(), since: this.pool.now().getTime(), nearLimit: reservation.nearLimit, resolve, reject });
      });
      if (job) reservation.confirm();
      return job;
    } finally {
      reservation.cancel();
    }
  }

  /**
   * Finds the claim its next candidate, then queues it for a round. A claim
   * whose window must be read waits alone: in a round, one such claim held up
   * every other, for seconds when the queue is long.
   */
  private pick(pending: Pending): void {
    this.window.next(pending.claimant, pending.passed, pending.since).then(
      (candidate) => {
        if (!candidate) {
          pending.resolve(null);
          return;
        }
        pending.passed.add(String(candidate._id));
        this.waiting.push({ pending, candidate });
        this.runRounds();
      },
      (error: unknown) => pending.reject(error),
    );
  }

  private runRounds(): void {
    if (this.starting) return;
    this.starting = true;
    // Claims whose candidates came in the same turn of the event loop go in one round.
    setImmediate(() => {
      this.starting = false;
      while (this.waiting.length > 0 && this.inFlight < ROUNDS_IN_FLIGHT) {
        const round = this.waiting;
        this.waiting = [];
        this.inFlight += 1;
        this.round(round)
          .then(
            (again) => {
              for (const pending of again) this.pick(pending);
            },
            (error: unknown) => {
              for (const { pending } of round) pending.reject(error);
            },
          )
          .finally(() => {
            this.inFlight -= 1;
            if (this.waiting.length > 0) this.runRounds();
          });
      }
    });
  }

  /** One round: the claims' candidates' leases in one insert, the winners checked; returns the claims to try again. */
  private async round(trying: readonly Trying[]): Promise<Pending[]> {
    const claimedAt = this.pool.now();
    const expiresAt = later(this.pool, this.pool.config.leaseMs);
    const leases = trying.map(({ pending, candidate }) => ({ _id: String(candidate._id), socketId: pending.claimant.socketId, builder: pending.claimant.builder, expiresAt, claimedAt }));
    let taken;
    try {
      taken = await insertNew(this.pool.models.Lease.collection, leases);
      // Won here or taken by another claimer: held either way.
      this.pool.held.add(leases.map((lease) => lease._id));
    } catch (error) {
      // Some may be in (SQLite gave up midway): none may stay behind to be renewed by heartbeats of a worker never told.
      await this.giveUp(leases.map((lease) => ({ jobId: lease._id, socketId: lease.socketId })), claimedAt);
      // Which of them another claimer holds is not known here.
      this.pool.held.invalidate();
      this.window.invalidate();
      throw error;
    } finally {
      this.window.settled(leases.map((lease) => lease._id));
    }
    const again: Pending[] = trying.filter((_, index) => taken.has(index)).map(({ pending }) => pending);
    const won = trying.filter((_, index) => !taken.has(index));
    if (won.length === 0) return again;
    let passed;
    try {
      passed = await checkWon(this.pool, won.map(({ pending, candidate }): Won => ({ claimant: pending.claimant, jobId: String(candidate._id), outPath: candidate.outPath })));
    } catch (error) {
      await this.giveUp(won.map(({ candidate, pending }) => ({ jobId: String(candidate._id), socketId: pending.claimant.socketId })), claimedAt);
      this.window.invalidate();
      throw error;
    }
    const refused: { jobId: string; socketId: string }[] = [];
    for (const { pending, candidate } of won) {
      const jobId = String(candidate._id);
      const job = passed.get(jobId);
      const { builder, socketId } = pending.claimant;
      // Of claims racing near the limit from several processes, none that stays passes it.
      const overLimit = job !== undefined && pending.nearLimit && (await claimsHeldBy(this.pool, builder)) > this.pool.config.maxClaimsPerBuilder;
      if (!job || overLimit) {
        refused.push({ jobId, socketId });
        if (overLimit) {
          pending.reject(tooManyClaims(builder, this.pool.config.maxClaimsPerBuilder));
          // The job is fine for others; the window let go of it.
          this.window.invalidate();
        } else {
          again.push(pending);
        }
        continue;
      }
      const view = toJobView(job, { expiresAt });
      this.pool.events.publish('job:claimed', { job: view, builder });
      pending.resolve(view);
    }
    await this.giveUp(refused, claimedAt);
    if (refused.length < won.length) this.pool.statsChanged();
    return again;
  }

  /**
   * Deletes leases this round inserted and will not keep; a lease another
   * claimer inserted since is left alone. The window does not offer their jobs
   * again before its next read: they failed a check, or are read again anyway.
   */
  private async giveUp(leases: readonly { jobId: string; socketId: string }[], claimedAt: Date): Promise<void> {
    for (const { jobId, socketId } of leases) await this.pool.models.Lease.deleteOne({ _id: jobId, socketId, claimedAt });
    this.pool.held.remove(leases.map(({ jobId }) => jobId));
  }

  /**
   * Every queued job past its backoff that nobody holds, most wanted first,
   * for every kind's window at once; each claim checks its job once it holds
   * it. The store scans and sorts the whole queue whatever the filter (no
   * index but `_id` on the embedded store), so the read takes it all rather
   * than a head per kind; who holds what is filtered here, from `HeldJobs`.
   */
  private async readQueue(): Promise<QueueRead> {
    const { held } = this.pool;
    const startedAt = this.pool.now().getTime();
    const [, queued] = await Promise.all([
      held.ready(),
      this.pool.models.Job.find(
        // A plain equality FerretDB pushes down to SQLite.
        { state: 'queued', notBefore: { $lte: this.pool.now() } },
        { _id: 1, outPath: 1, attestedBy: 1, triedBy: 1, notBefore: 1, system: 1, requiredSystemFeatures: 1 },
      )
        .sort(JOB_ORDER)
        .lean<Candidate[]>(),
    ]);
    return { startedAt, candidates: queued.filter((job) => !held.has(String(job._id))) };
  }
}
