import type { AttestationView, EnqueueResult, HeartbeatAck, JobRequest, JobState, JobView, PoolJobView, PoolStats, PoolView, PoolWorkerView } from '@lilac/common';
import type { Types } from 'mongoose';
import type { PoolConfig } from '../config.ts';
import type { EventBus } from '../events/eventBus.ts';
import type { Logger } from '../log.ts';
import type { Models } from '../store/models.ts';
import { ClaimWindow, type Candidate } from './claimWindow.ts';
import type { JobRecord } from './jobModel.ts';

type StoredJob = JobRecord & { _id: Types.ObjectId };
export type HeldJob = StoredJob;

/** Why a worker's message about a job was refused; the namespace acknowledges with `{ error: message }`. */
export class PoolError extends Error {
  override name = 'PoolError';
}

const CHUNK = 1000;
/** Jobs read per claim window, which all claims on one server share. */
const CLAIM_WINDOW = 256;
/** How long a server's claim window may miss queue changes another server made. */
const CLAIM_WINDOW_MAX_AGE_MS = 10_000;

function isDuplicateKey(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: number }).code === 11000;
}

function chunks<T>(items: readonly T[]): T[][] {
  const result: T[][] = [];
  for (let start = 0; start < items.length; start += CHUNK) result.push(items.slice(start, start + CHUNK));
  return result;
}

export function toJobView(job: StoredJob): JobView {
  return {
    id: String(job._id),
    drvPath: job.drvPath,
    output: job.output,
    outPath: job.outPath,
    leaseExpiresAt: job.leaseExpiresAt ? job.leaseExpiresAt.toISOString() : null,
  };
}

function toPoolJobView(job: StoredJob): PoolJobView {
  return {
    ...toJobView(job),
    state: job.state,
    builder: job.claimedBy ?? null,
    since: job.since.toISOString(),
    error: job.lastError ?? null,
    attempts: job.attempts,
    verifiedBuilders: job.verifiedBuilders,
  };
}

/** The fields that put a job back in the queue, unheld. */
function unclaimed(now: Date) {
  return { state: 'queued' as const, claimedBy: null, socketId: null, leaseExpiresAt: null, since: now };
}

/**
 * The shared rebuild work pool, which any number of server processes can
 * share: a claim is won by inserting the job's lease (its `_id` is the job's),
 * then checked against the records, and a worker can only complete, fail or
 * extend what its own connection holds.
 */
export class WorkPool {
  /** Rebuilder connections to this process, by socket id. */
  private readonly localWorkers = new Map<string, string>();
  private sweeper: NodeJS.Timeout | null = null;
  private statsTimer: NodeJS.Timeout | null = null;
  private statsDirty = false;
  private unsubscribe: (() => void) | null = null;
  private readonly window = new ClaimWindow(
    () => this.readQueue({}, []),
    CLAIM_WINDOW,
    (builder, passed) => this.readQueue({ attestedBy: { $nin: [builder] }, triedBy: { $nin: [builder] } }, passed),
    CLAIM_WINDOW_MAX_AGE_MS,
  );

  constructor(
    private readonly models: Models,
    private readonly events: EventBus,
    private readonly config: PoolConfig,
    private readonly log: Logger,
  ) {}

  /** Starts the lease sweeper and follows attestations; call once the store is ready. */
  start(): void {
    let sweeping = false;
    this.sweeper ??= setInterval(() => {
      // A sweep reads the whole queue on the embedded store; on a large pool it can outlast the interval, and must not pile up.
      if (sweeping) return;
      sweeping = true;
      this.sweep()
        .catch((error: unknown) => {
          // A sweep still in flight when the server closes its store is of no concern.
          if (this.sweeper) this.log.warn({ err: error }, 'pool sweep failed');
        })
        .finally(() => {
          sweeping = false;
        });
    }, this.config.sweepIntervalMs);
    this.unsubscribe ??= this.events.subscribe('attestation', (attestation) => {
      this.onAttestation(attestation).catch((error: unknown) => this.log.warn({ err: error }, 'pool attestation update failed'));
    });
  }

  stop(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    if (this.statsTimer) clearTimeout(this.statsTimer);
    this.unsubscribe?.();
    this.sweeper = this.statsTimer = null;
    this.unsubscribe = null;
  }

  workerConnected(socketId: string, builder: string): void {
    this.localWorkers.set(socketId, builder);
  }

  /** The connection is gone: its jobs go back to the pool at once. */
  async workerDisconnected(socketId: string): Promise<number> {
    this.localWorkers.delete(socketId);
    return this.release(socketId);
  }

  /** Adds jobs in the order given; outputs that already have enough independent builders are left out. */
  async enqueue(requests: readonly JobRequest[]): Promise<EnqueueResult> {
    const { Job, OutputSummary } = this.models;
    const unique = [...new Map(requests.map((request) => [request.outPath, request])).values()];
    const known = new Map<string, { verified: number; attestedBy: Set<string> }>();
    const existing = new Map<string, JobState>();
    for (const batch of chunks(unique.map((request) => request.outPath))) {
      // Ingest keeps every attesting builder in the output's summary, so the summaries alone say who attested what.
      const [summaries, jobs] = await Promise.all([
        OutputSummary.find({ outPath: { $in: batch } }, { outPath: 1, verifiedBuilderCount: 1, attestedBy: 1 }).lean(),
        Job.find({ outPath: { $in: batch } }, { outPath: 1, state: 1 }).lean(),
      ]);
      for (const summary of summaries) {
        known.set(summary.outPath, { verified: summary.verifiedBuilderCount, attestedBy: new Set(summary.attestedBy) });
      }
      for (const job of jobs) existing.set(job.outPath, job.state);
    }

    const result: EnqueueResult = { added: 0, requeued: 0, unchanged: 0, satisfied: 0 };
    const wanted = unique.filter((request) => {
      const satisfied = (known.get(request.outPath)?.verified ?? 0) >= this.config.targetBuilders;
      if (satisfied) result.satisfied += 1;
      return !satisfied;
    });
    const fresh = wanted.filter((request) => !existing.has(request.outPath));
    const now = new Date();
    let seq = await this.reserveSequence(fresh.length);
    const inserts = fresh.map((request) => {
      const entry = known.get(request.outPath);
      return {
        ...request,
        state: 'queued',
        verifiedBuilders: entry?.verified ?? 0,
        seq: seq++,
        attestedBy: [...(entry?.attestedBy ?? [])],
        triedBy: [],
        notBefore: now,
        since: now,
      };
    });
    for (const batch of chunks(inserts)) {
      try {
        const inserted = await Job.insertMany(batch, { ordered: false, rawResult: true });
        result.added += inserted.insertedCount;
      } catch (error) {
        // Another process enqueued some of the same outputs at the same moment; theirs stand.
        const insertedCount = (error as { insertedDocs?: unknown[]; result?: { insertedCount?: number } }).result?.insertedCount;
        if (insertedCount === undefined || (error as { code?: number }).code !== 11000) throw error;
        result.added += insertedCount;
        result.unchanged += batch.length - insertedCount;
      }
    }

    for (const request of wanted.filter((candidate) => existing.has(candidate.outPath))) {
      const entry = known.get(request.outPath);
      const refresh = { $addToSet: { attestedBy: { $each: [...(entry?.attestedBy ?? [])] } } };
      const requeued = await Job.updateOne(
        { outPath: request.outPath, state: { $in: ['done', 'failed'] } },
        { $set: { ...unclaimed(now), verifiedBuilders: entry?.verified ?? 0, attempts: 0, lastError: null, notBefore: now }, ...refresh },
      );
      if (requeued.modifiedCount === 1) {
        result.requeued += 1;
      } else {
        await Job.updateOne({ outPath: request.outPath }, { $set: { verifiedBuilders: entry?.verified ?? 0 }, ...refresh });
        result.unchanged += 1;
      }
    }
    if (result.added + result.requeued > 0) this.queueChanged();
    return result;
  }

  /**
   * Claims the most wanted job this builder may take: queued, not attested by
   * it, not completed or failed by it, past its retry backoff. Inserting the job's lease decides the race between claimers;
   * the winner then checks the authoritative records the job's hints mirror.
   */
  async claim(builder: string, socketId: string): Promise<JobView | null> {
    // Jobs another claimer won, or this builder may not take, are not looked at again: every round makes progress.
    const passed = new Set<string>();
    const since = Date.now();
    for (;;) {
      const candidate = await this.window.next(builder, passed, since);
      if (candidate === null) return null;
      const id = String(candidate._id);
      passed.add(id);
      const now = new Date();
      const leaseExpiresAt = new Date(now.getTime() + this.config.leaseMs);
      try {
        await this.models.Lease.create({ _id: id, socketId, builder, expiresAt: leaseExpiresAt, claimedAt: now });
      } catch (error) {
        if (isDuplicateKey(error)) continue;
        throw error;
      }
      if (!(await this.mayTake(id, candidate.outPath, builder))) {
        await this.models.Lease.deleteOne({ _id: id, socketId });
        continue;
      }
      const job = await this.models.Job.findOneAndUpdate(
        { _id: candidate._id },
        { $set: { state: 'claimed', claimedBy: builder, socketId, leaseExpiresAt, since: now } },
        { new: true },
      ).lean<StoredJob>();
      if (!job) {
        await this.models.Lease.deleteOne({ _id: id, socketId });
        continue;
      }
      const view = toJobView(job);
      this.events.publish('job:claimed', { job: view, builder });
      this.statsChanged();
      return view;
    }
  }

  /** The most wanted queued jobs past their backoff, as many as a claim window holds; `claim` checks each before it holds it. */
  private readQueue(filter: Record<string, unknown>, passed: readonly string[]): Promise<Candidate[]> {
    return this.models.Job.find(
      {
        // A plain equality FerretDB pushes down to SQLite; lapsed claims come back through the sweeper.
        state: 'queued',
        notBefore: { $lte: new Date() },
        ...filter,
        ...(passed.length > 0 && { _id: { $nin: passed } }),
      },
      { _id: 1, outPath: 1, attestedBy: 1, triedBy: 1, notBefore: 1 },
    )
      .sort({ verifiedBuilders: 1, seq: 1 })
      .limit(CLAIM_WINDOW)
      .lean<Candidate[]>();
  }

  /** Extends the leases of every job this connection holds. */
  async heartbeat(socketId: string): Promise<HeartbeatAck> {
    const now = new Date();
    const leaseExpiresAt = new Date(now.getTime() + this.config.leaseMs);
    // A lease that already ran out may be someone else's by now: it is not revived.
    await this.models.Lease.updateMany({ socketId, expiresAt: { $gte: now } }, { $set: { expiresAt: leaseExpiresAt } });
    const held = await this.models.Lease.find({ socketId, expiresAt: { $gte: now } }, { _id: 1 }).lean();
    const ids = held.map((lease) => lease._id);
    if (ids.length > 0) await this.models.Job.updateMany({ _id: { $in: ids }, state: 'claimed', socketId }, { $set: { leaseExpiresAt } });
    return { jobs: ids, leaseExpiresAt: leaseExpiresAt.toISOString() };
  }

  /**
   * The worker rebuilt the job and its attestations are ingested: the job
   * retires when enough independent builders now back the output, else it goes
   * back to the queue for another builder.
   */
  async complete(job: HeldJob, builder: string, socketId: string): Promise<JobState> {
    const id = String(job._id);
    await this.recordAttempt(id, builder, 'done', null);
    const summary = await this.models.OutputSummary.findOne({ outPath: job.outPath }, { verifiedBuilderCount: 1, attestedBy: 1 }).lean();
    const verified = summary?.verifiedBuilderCount ?? 0;
    const state = verified >= this.config.targetBuilders ? 'done' : 'queued';
    const now = new Date();
    const updated = await this.models.Job.findOneAndUpdate(
      { _id: job._id },
      {
        $set: { ...unclaimed(now), state, verifiedBuilders: verified, notBefore: now },
        $addToSet: { triedBy: builder, attestedBy: { $each: [builder, ...(summary?.attestedBy ?? [])] } },
      },
      { new: true },
    ).lean<StoredJob>();
    await this.models.Lease.deleteOne({ _id: id, socketId });
    if (updated) this.events.publish('job:done', { job: toJobView(updated), builder });
    if (state === 'queued') this.queueChanged();
    else this.statsChanged();
    return state;
  }

  /** A failed rebuild: retried by another builder after a backoff, or failed for good after `maxAttempts`. */
  async fail(id: string, builder: string, socketId: string, error: string): Promise<JobState> {
    const job = await this.held(id, socketId);
    await this.recordAttempt(id, builder, 'failed', error);
    const attempts = await this.models.JobAttempt.countDocuments({ job: id, outcome: 'failed' });
    const final = attempts >= this.config.maxAttempts;
    const now = new Date();
    const backoff = this.config.retryBaseMs * 2 ** (attempts - 1);
    const updated = await this.models.Job.findOneAndUpdate(
      { _id: job._id },
      {
        $set: { ...unclaimed(now), state: final ? 'failed' : 'queued', attempts, lastError: error, notBefore: new Date(now.getTime() + backoff) },
        $addToSet: { triedBy: builder },
      },
      { new: true },
    ).lean<StoredJob>();
    await this.models.Lease.deleteOne({ _id: id, socketId });
    const state = final ? 'failed' : 'queued';
    this.events.publish('job:failed', { job: toJobView(updated ?? job), builder, error, final });
    if (final) this.statsChanged();
    else this.queueChanged();
    return state;
  }

  /** Returns every job this connection holds to the pool (shutdown or disconnect); not counted as tried. */
  async release(socketId: string): Promise<number> {
    const held = await this.models.Lease.find({ socketId }, { _id: 1 }).lean();
    if (held.length === 0) return 0;
    const ids = held.map((lease) => lease._id);
    await this.models.Job.updateMany({ _id: { $in: ids }, state: 'claimed', socketId }, { $set: unclaimed(new Date()) });
    const released = await this.models.Lease.deleteMany({ socketId });
    this.queueChanged();
    return released.deletedCount;
  }

  /** Returns jobs whose lease ran out, whichever process handed them out (it may have died). */
  async sweep(): Promise<number> {
    const now = new Date();
    const expired = await this.models.Lease.find({ expiresAt: { $lt: now } }, { _id: 1, socketId: 1 }).lean();
    let returned = 0;
    for (const lease of expired) {
      const deleted = await this.models.Lease.deleteOne({ _id: lease._id, expiresAt: { $lt: now } });
      if (deleted.deletedCount === 0) continue;
      await this.models.Job.updateOne({ _id: lease._id, state: 'claimed', socketId: lease.socketId }, { $set: unclaimed(now) });
      returned += 1;
    }
    // Jobs still marked claimed past their lease, whether or not their lease was found above.
    const stale = await this.models.Job.updateMany({ state: 'claimed', leaseExpiresAt: { $lt: now } }, { $set: unclaimed(now) });
    if (returned + stale.modifiedCount > 0) {
      this.log.info({ returned }, 'returned jobs with expired leases');
      this.queueChanged();
    }
    return returned;
  }

  async stats(): Promise<PoolStats> {
    const groups = await this.models.Job.aggregate<{ _id: JobState; count: number }>([{ $group: { _id: '$state', count: { $sum: 1 } } }]);
    const stats: PoolStats = { queued: 0, claimed: 0, done: 0, failed: 0 };
    for (const group of groups) stats[group._id] = group.count;
    return stats;
  }

  /** What the monitor shows: claimed jobs, the latest failures, the head of the queue, and who works on what. */
  async view(limit: number): Promise<PoolView> {
    const { Job } = this.models;
    const [stats, claimed, failed, queued] = await Promise.all([
      this.stats(),
      Job.find({ state: 'claimed' }).sort({ since: 1 }).limit(limit).lean<StoredJob[]>(),
      Job.find({ state: 'failed' }).sort({ since: -1 }).limit(limit).lean<StoredJob[]>(),
      Job.find({ state: 'queued' }).sort({ verifiedBuilders: 1, seq: 1 }).limit(limit).lean<StoredJob[]>(),
    ]);
    const workers = new Map<string, PoolWorkerView>();
    for (const [socketId, builder] of this.localWorkers) workers.set(socketId, { builder, socketId, jobs: [] });
    // Workers connected to other server processes show through the jobs they hold.
    for (const job of claimed) {
      if (!job.socketId || !job.claimedBy) continue;
      const worker = workers.get(job.socketId) ?? { builder: job.claimedBy, socketId: job.socketId, jobs: [] };
      worker.jobs.push(String(job._id));
      workers.set(job.socketId, worker);
    }
    return {
      stats,
      jobs: [...claimed, ...failed, ...queued].map(toPoolJobView),
      workers: [...workers.values()].sort((a, b) => a.builder.localeCompare(b.builder) || a.socketId.localeCompare(b.socketId)),
    };
  }

  /** Keeps the job's picture of who attested its output current, and retires it once enough independent builders back it. */
  private async onAttestation(attestation: AttestationView): Promise<void> {
    const outPath = attestation.output_path;
    const { Job, Lease, OutputSummary } = this.models;
    const job = await Job.findOne({ outPath }, { _id: 1, state: 1, attestedBy: 1, verifiedBuilders: 1 }).lean();
    if (!job) return;
    // A held job is settled by its holder's complete, or by the next claim's checks.
    if (await Lease.exists({ _id: String(job._id) })) return;
    const summary = await OutputSummary.findOne({ outPath }, { verifiedBuilderCount: 1 }).lean();
    const verified = summary?.verifiedBuilderCount ?? 0;
    const retire = verified >= this.config.targetBuilders && job.state !== 'done';
    if (!retire && job.attestedBy.includes(attestation.builder) && job.verifiedBuilders === verified) return;
    await Job.updateOne(
      { _id: job._id },
      { $set: { verifiedBuilders: verified, ...(retire && { ...unclaimed(new Date()), state: 'done' }) }, $addToSet: { attestedBy: attestation.builder } },
    );
    if (retire) this.statsChanged();
  }

  /** The job `id` if this connection holds its lease; a worker acts only on its own claims. */
  async held(id: string, socketId: string): Promise<HeldJob> {
    if (!/^[0-9a-f]{24}$/.test(id)) throw new PoolError(`not a job id: ${JSON.stringify(id)}`);
    const [lease, job] = await Promise.all([this.models.Lease.exists({ _id: id, socketId }), this.models.Job.findById(id).lean<StoredJob>()]);
    if (!lease || !job) throw new PoolError(`job ${id} is not held by this connection`);
    return job;
  }

  /**
   * Checks the records the claim query's hints mirror: the builder attested
   * the output or already tried the job, the job failed too often, or enough
   * builders now back its output. Corrects the job when a hint was stale.
   * Every read is by key; a claim costs the same however large the pool grows.
   */
  private async mayTake(id: string, outPath: string, builder: string): Promise<boolean> {
    const { JobAttempt, OutputSummary, Job } = this.models;
    const [job, tried, summary] = await Promise.all([
      // `fail` writes the job's failure count before it gives up the lease this claimer now holds.
      Job.findById(id, { state: 1, notBefore: 1, attempts: 1 }).lean(),
      JobAttempt.exists({ job: id, builder }),
      OutputSummary.findOne({ outPath }, { verifiedBuilderCount: 1, attestedBy: 1 }).lean(),
    ]);
    // A claim window may be older than the job's last change: done, failed or backing off since.
    if (!job || job.state !== 'queued' || job.notBefore > new Date()) return false;
    const attested = summary?.attestedBy.includes(builder) ?? false;
    const failures = job.attempts;
    const verified = summary?.verifiedBuilderCount ?? 0;
    const now = new Date();
    if (verified >= this.config.targetBuilders) {
      await Job.updateOne({ _id: id }, { $set: { ...unclaimed(now), state: 'done', verifiedBuilders: verified } });
      return false;
    }
    if (failures >= this.config.maxAttempts) {
      await Job.updateOne({ _id: id }, { $set: { ...unclaimed(now), state: 'failed', attempts: failures } });
      return false;
    }
    if (attested || tried) {
      await Job.updateOne({ _id: id }, { $addToSet: attested ? { attestedBy: builder } : { triedBy: builder } });
      return false;
    }
    return true;
  }

  private async recordAttempt(job: string, builder: string, outcome: 'done' | 'failed', error: string | null): Promise<void> {
    try {
      await this.models.JobAttempt.create({ job, builder, outcome, error, at: new Date() });
    } catch (cause) {
      if (!isDuplicateKey(cause)) throw cause;
    }
  }

  private async reserveSequence(count: number): Promise<number> {
    if (count === 0) return 0;
    const counter = await this.models.PoolCounter.findOneAndUpdate({ _id: 'jobs' }, { $inc: { value: count } }, { upsert: true, new: true }).lean();
    return (counter?.value ?? count) - count;
  }

  /** Jobs joined or came back to the queue: the claim window is read again. */
  private queueChanged(): void {
    this.window.invalidate();
    this.statsChanged();
  }

  /** Publishes `pool:stats` at most once per `statsIntervalMs`, however busy the pool is. */
  private statsChanged(): void {
    this.statsDirty = true;
    if (this.statsTimer || !this.sweeper) return;
    this.statsTimer = setTimeout(() => {
      this.statsDirty = false;
      // The timer is cleared only once these stats are out, so one count of the pool runs at a time.
      this.stats()
        .then((stats) => this.events.publish('pool:stats', stats))
        .catch((error: unknown) => this.log.warn({ err: error }, 'pool stats failed'))
        .finally(() => {
          this.statsTimer = null;
          if (this.statsDirty) this.statsChanged();
        });
    }, this.config.statsIntervalMs);
    this.statsTimer.unref();
  }
}
