import { performance } from 'node:perf_hooks';
import type { AttemptView, AttestationView, EnqueueResult, HeartbeatAck, JobOutcomeAck, JobRequest, JobView, PoolJobView, PoolOutlook, PoolStats, PoolView, ReportRebuilds, WorkerCapabilities } from '@lilac/common';
import { GroupCommit } from '../attestations/groupCommit.ts';
import type { Builder } from '../builders/builderService.ts';
import type { PoolConfig } from '../config.ts';
import type { EventBus } from '../events/eventBus.ts';
import type { Logger } from '../log.ts';
import type { Models } from '../store/models.ts';
import { attemptsAt, lastRebuildsOf } from './attempts.ts';
import { cancel } from './cancel.ts';
import { Claimer } from './claim.ts';
import { QueuedFeatures } from './claimant.ts';
import { enqueue } from './enqueue.ts';
import { complete, type Ingest } from './complete.ts';
import { fail } from './fail.ts';
import { followAttestations } from './followAttestation.ts';
import { heartbeat } from './heartbeat.ts';
import { HeldJobs } from './heldJobs.ts';
import { poolOutlook } from './outlook.ts';
import type { PoolContext } from './poolContext.ts';
import { prioritise } from './prioritise.ts';
import { release } from './release.ts';
import { poolStats } from './stats.ts';
import { sweep } from './sweep.ts';
import { poolView, type LocalWorker } from './view.ts';

/**
 * A count of the pool reads every job and lease (seconds on a long queue on
 * the embedded store): the next waits at least this many times as long as
 * the last took, so counts take at most a fifth of the store's time.
 */
const STATS_COST_FACTOR = 4;

/** Attestations whose jobs one read looks for (the store's bound on an indexed `$in` is far above). */
const MAX_FOLLOWED = 1_000;
/**
 * How long attestations gather before a read looks for their jobs. Ingest publishes a group's attestations as it
 * writes them, dozens of groups a second on lila's route, and most concern no job: a read per group cost ingest about
 * one store command in seven. Claims check the same records themselves, so the delay only makes the pool's picture of
 * who attested a job this much later. What arrives while a read runs goes in the next, at once.
 */
const FOLLOW_GATHER_MS = 250;

/**
 * The shared rebuild work pool, which any number of server processes can
 * share. Each operation lives in its own module, named after it (enqueue,
 * claim, heartbeat, complete, fail, cancel, prioritise, release, sweep, stats, view, outlook),
 * as rebuilderd keeps one file per queue operation; this class ties them to
 * one process's life and its clock (`now`, which tests move): the lease
 * sweeper, throttled `pool:stats`, the rebuilder connections it serves, and
 * returning their claims when it shuts down.
 */
export class WorkPool {
  /** Rebuilder connections to this process, by socket id. */
  private readonly localWorkers = new Map<string, LocalWorker>();
  /** Claims of gone connections being returned; `close()` waits for them. */
  private readonly departures = new Set<Promise<unknown>>();
  private sweeper: NodeJS.Timeout | null = null;
  private statsTimer: NodeJS.Timeout | null = null;
  private statsDirty = false;
  /** How long the last count for `pool:stats` took. */
  private statsTookMs = 0;
  private unsubscribe: (() => void) | null = null;
  private readonly context: PoolContext;
  private readonly claimer: Claimer;
  /** Attestations gathered for FOLLOW_GATHER_MS are looked up as one; those arriving while a lookup runs, together next. */
  private readonly followed: GroupCommit<readonly AttestationView[], void>;
  private readonly arrived: AttestationView[] = [];
  private gathering: NodeJS.Timeout | null = null;
  /** Reads for arrived attestations under way; `close()` waits for them. */
  private readonly followUps = new Set<Promise<void>>();

  constructor(
    models: Models,
    events: EventBus,
    config: PoolConfig,
    private readonly log: Logger,
    private readonly ingest: Ingest,
    now: () => Date = () => new Date(),
  ) {
    this.context = {
      models,
      events,
      config,
      log,
      now,
      queuedFeatures: new QueuedFeatures({ models, now }),
      held: new HeldJobs(models, now),
      queueChanged: () => {
        this.claimer.invalidate();
        this.statsChanged();
      },
      statsChanged: () => this.statsChanged(),
    };
    this.claimer = new Claimer(this.context);
    this.followed = new GroupCommit<readonly AttestationView[], void>(
      async (batches) => {
        const attestations = batches.flat();
        await followAttestations(this.context, attestations).catch((error: unknown) => this.log.warn({ err: error, attestations: attestations.length }, 'pool attestation update failed'));
        return batches.map(() => undefined);
      },
      (batch) => batch.length,
      MAX_FOLLOWED,
      1,
    );
  }

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
    }, this.context.config.sweepIntervalMs);
    this.unsubscribe ??= this.context.events.subscribe('attestation', (attestation) => {
      this.arrived.push(attestation);
      this.gathering ??= setTimeout(() => this.followArrived(), FOLLOW_GATHER_MS).unref();
    });
  }

  stop(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    if (this.statsTimer) clearTimeout(this.statsTimer);
    if (this.gathering) clearTimeout(this.gathering);
    this.unsubscribe?.();
    this.sweeper = this.statsTimer = this.gathering = null;
    this.unsubscribe = null;
  }

  private followArrived(): void {
    this.gathering = null;
    const following = this.followed.submit(this.arrived.splice(0));
    this.followUps.add(following);
    void following.finally(() => this.followUps.delete(following));
  }

  /**
   * Waits until the claims of every connection that has left are back in the
   * pool. The server disconnects its rebuilders, then calls this before it
   * closes the store, so a restart loses no claim to a lease left to run out.
   */
  async close(): Promise<void> {
    this.stop();
    // The attestations still gathering are followed now, while the store is open.
    if (this.arrived.length > 0) this.followArrived();
    while (this.departures.size > 0 || this.followUps.size > 0) await Promise.allSettled([...this.departures, ...this.followUps]);
  }

  /** `capabilities` null: the worker announced nothing and is offered any job. */
  workerConnected(socketId: string, builder: string, capabilities: WorkerCapabilities | null = null): void {
    this.localWorkers.set(socketId, { builder, capabilities });
  }

  /**
   * The connection is gone: once the messages it sent are answered
   * (`settled`), its jobs go back to the pool, so a claim answered after the
   * disconnect is not left behind.
   */
  workerDisconnected(socketId: string, settled: Promise<unknown> = Promise.resolve()): Promise<number> {
    this.localWorkers.delete(socketId);
    const departure = settled.then(() => this.release(socketId));
    this.departures.add(departure);
    void departure.then(
      () => this.departures.delete(departure),
      () => this.departures.delete(departure),
    );
    return departure;
  }

  enqueue(requests: readonly JobRequest[]): Promise<EnqueueResult> {
    return enqueue(this.context, requests);
  }

  /** The connection's announced capabilities decide which jobs it is offered. */
  claim(builder: string, socketId: string): Promise<JobView | null> {
    return this.claimer.claim(builder, socketId, this.localWorkers.get(socketId)?.capabilities ?? null);
  }

  heartbeat(socketId: string): Promise<HeartbeatAck> {
    return heartbeat(this.context, socketId);
  }

  /** `payload` as the worker sent it: `{ id, attestations }`, checked here (`PoolError`) before anything is written. */
  complete(builder: Builder, socketId: string, payload: unknown): Promise<JobOutcomeAck> {
    return complete(this.context, this.ingest, builder, socketId, payload);
  }

  /** `payload` as the worker sent it: `{ id, error }`. */
  fail(builder: string, socketId: string, payload: unknown): Promise<JobOutcomeAck> {
    return fail(this.context, builder, socketId, payload);
  }

  /** A maintainer (`by`) cancels job `id` (`JobControlError` if it is unknown or over). */
  cancel(id: string, by: string): Promise<PoolJobView> {
    return cancel(this.context, id, by);
  }

  /** A maintainer (`by`) sets the priority of job `id`. */
  prioritise(id: string, priority: number, by: string): Promise<PoolJobView> {
    return prioritise(this.context, id, priority, by);
  }

  release(socketId: string): Promise<number> {
    return release(this.context, socketId);
  }

  sweep(): Promise<number> {
    return sweep(this.context);
  }

  stats(): Promise<PoolStats> {
    return poolStats(this.context);
  }

  view(limit: number): Promise<PoolView> {
    return poolView(this.context, limit, this.localWorkers);
  }

  /** How the pool's rebuilds of `outPath` ended, oldest first. */
  attemptsAt(outPath: string): Promise<AttemptView[]> {
    return attemptsAt(this.context, outPath);
  }

  /** How the last rebuilds of `outPaths` (a report's) ended. */
  lastRebuildsOf(outPaths: readonly string[]): Promise<ReportRebuilds> {
    return lastRebuildsOf(this.context, outPaths);
  }

  /** What this connection may take, by what it announced. */
  outlook(builder: string, socketId: string): Promise<PoolOutlook> {
    return poolOutlook(this.context, builder, this.localWorkers.get(socketId)?.capabilities ?? null);
  }

  /** Publishes `pool:stats` at most once per `statsIntervalMs`, and per four times the last count's duration, however busy the pool is. */
  private statsChanged(): void {
    this.statsDirty = true;
    if (this.statsTimer || !this.sweeper) return;
    this.statsTimer = setTimeout(() => {
      this.statsDirty = false;
      const startedAt = performance.now();
      // The timer is cleared only once these stats are out, so one count of the pool runs at a time.
      this.stats()
        .then((stats) => {
          this.statsTookMs = performance.now() - startedAt;
          this.context.events.publish('pool:stats', stats);
        })
        .catch((error: unknown) => {
          if (this.sweeper) this.log.warn({ err: error }, 'pool stats failed');
        })
        .finally(() => {
          this.statsTimer = null;
          if (this.statsDirty) this.statsChanged();
        });
    }, Math.max(this.context.config.statsIntervalMs, STATS_COST_FACTOR * this.statsTookMs));
    this.statsTimer.unref();
  }
}
