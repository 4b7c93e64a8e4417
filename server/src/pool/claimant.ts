import type { WorkerCapabilities } from '@lilac/common';

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
 * or needing a feature the worker lacks, is left in the store.
 */
export function buildableBy(capabilities: WorkerCapabilities | null): Record<string, unknown> {
  if (capabilities === null) return {};
  return {
    system: { $in: [null, ...capabilities.systems] },
    requiredSystemFeatures: { $not: { $elemMatch: { $nin: capabilities.features } } },
  };
}
