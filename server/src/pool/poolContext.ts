import type { PoolConfig } from '../config.ts';
import type { EventBus } from '../events/eventBus.ts';
import type { Logger } from '../log.ts';
import type { Models } from '../store/models.ts';
import type { QueuedFeatures } from './claimant.ts';
import type { HeldJobs } from './heldJobs.ts';

/** What every pool operation shares: the store, the events, the settings, the clock, and how to say what changed. */
export interface PoolContext {
  readonly models: Models;
  readonly events: EventBus;
  readonly config: PoolConfig;
  readonly log: Logger;
  /** The pool's clock: leases, backoffs and sweeps read the time only here, so tests can move it. */
  readonly now: () => Date;
  /** The features queued jobs may need, for the store filters of what a worker can build. */
  readonly queuedFeatures: QueuedFeatures;
  /** The jobs with a lease as this process knows them; every operation that writes leases keeps it up to date. */
  readonly held: HeldJobs;
  /** Jobs joined or came back to the queue: claim windows are read again. */
  queueChanged(): void;
  /** Job counts changed: `pool:stats` goes out soon. */
  statsChanged(): void;
}

export function later(pool: PoolContext, ms: number): Date {
  return new Date(pool.now().getTime() + ms);
}
