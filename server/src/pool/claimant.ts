import type { WorkerCapabilities } from '@lilac/common';
import type { PoolContext } from './poolContext.ts';

/** Who asks for a job: what decides which jobs it may be offered, and the connection its lease names. */
export interface Claimant {
  readonly builder: string;
  readonly socketId: string;
  /** The systems and features its worker announced; null: it announced none and is offered any job. */
  readonly capabilities: WorkerCapabilities | null;
}

/**
 * `canBuild` as a store filter, for reads of the queue for one worker (the
 * further read past the claim window, the outlook): a job for another system,
 * or needing a feature the worker lacks, is left in the store. "Every required
 * feature is the worker's" is said as "none of the features queued jobs need
 * and the worker lacks": FerretDB 1.24 gets `$not`/`$nor` of `$elemMatch`
 * wrong (it matches nothing), while `$nin` on an array is right. Costs one
 * read of the queue, as the reads it serves do anyway.
 */
export async function buildableBy(pool: PoolContext, capabilities: WorkerCapabilities | null): Promise<Record<string, unknown>> {
  if (capabilities === null) return {};
  const needed = (await pool.models.Job.distinct('requiredSystemFeatures', { state: 'queued' })) as string[];
  const lacking = needed.filter((feature) => !capabilities.features.includes(feature));
  return {
    system: { $in: [null, ...capabilities.systems] },
    ...(lacking.length > 0 && { requiredSystemFeatures: { $nin: lacking } }),
  };
}
