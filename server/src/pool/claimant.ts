import type { WorkerCapabilities } from '@lilac/common';
import type { PoolContext } from './poolContext.ts';

/** Who asks for a job: what decides which jobs it may be offered, and the connection its lease names. */
export interface Claimant {
  readonly builder: string;
  readonly socketId: string;
  /** The systems and features its worker announced; null: it announced none and is offered any job. */
  readonly capabilities: WorkerCapabilities | null;
}

/** How long the features read from the queue are trusted before the queue is read for them again. */
const FEATURES_MAX_AGE_MS = 60_000;

/**
 * Every feature queued jobs may need: a superset, which only grows. Asking
 * the store with `distinct` on every read of the queue took longer than the
 * read itself (over 15 s with 10,000 queued jobs on FerretDB under load), so
 * the features are read once, again at most once a minute in the background,
 * and this process's enqueues add theirs at once. A feature no job needs any
 * more still excludes only jobs that need it; one another process enqueued
 * and not read yet is counted in a worker's outlook for up to a minute; claims
 * do not use this filter (`canBuild` splits the queue read into claim windows).
 */
export class QueuedFeatures {
  private readonly known = new Set<string>();
  private readAt = -Infinity;
  private reading: Promise<void> | null = null;

  constructor(private readonly pool: Pick<PoolContext, 'models' | 'now'>) {}

  add(features: Iterable<string>): void {
    for (const feature of features) this.known.add(feature);
  }

  async current(): Promise<ReadonlySet<string>> {
    if (this.pool.now().getTime() - this.readAt >= FEATURES_MAX_AGE_MS) {
      const first = this.readAt === -Infinity;
      this.reading ??= this.read().finally(() => {
        this.reading = null;
      });
      if (first) await this.reading;
      else void this.reading.catch(() => undefined);
    }
    return this.known;
  }

  private async read(): Promise<void> {
    const startedAt = this.pool.now().getTime();
    const jobs = await this.pool.models.Job.find({ state: 'queued' }, { _id: 0, requiredSystemFeatures: 1 }).lean();
    for (const job of jobs) this.add(job.requiredSystemFeatures);
    this.readAt = startedAt;
  }
}

/**
 * `canBuild` as a store filter, for a read of the queue for one kind of worker
 * (the outlook): a job for another system,
 * or needing a feature the worker lacks, is left in the store. "Every required
 * feature is the worker's" is said as "none of the features queued jobs need
 * and the worker lacks": FerretDB 1.24 gets `$not`/`$nor` of `$elemMatch`
 * wrong (it matches nothing), while `$nin` on an array is right.
 */
export async function buildableBy(pool: PoolContext, capabilities: WorkerCapabilities | null): Promise<Record<string, unknown>> {
  if (capabilities === null) return {};
  const needed = await pool.queuedFeatures.current();
  const lacking = [...needed].filter((feature) => !capabilities.features.includes(feature));
  return {
    system: { $in: [null, ...capabilities.systems] },
    ...(lacking.length > 0 && { requiredSystemFeatures: { $nin: lacking } }),
  };
}
