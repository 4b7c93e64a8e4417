import type { Logger } from '../log.ts';
import type { Models } from '../store/models.ts';
import { sweepOrphanedChunks } from './listingStore.ts';

/** A listing is stored in seconds (a million entries: a few): chunks an hour old that no header names are an upload's remains. */
export const ORPHANED_AFTER_MS = 60 * 60_000;
const SWEEP_INTERVAL_MS = 10 * 60_000;

/**
 * Deletes listing chunks a killed upload left without a header: at start-up,
 * then every ten minutes (another server process may be killed meanwhile).
 */
export class OrphanedChunkSweep {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;

  constructor(
    private readonly models: Models,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    void this.sweep();
    this.timer = setInterval(() => void this.sweep(), SWEEP_INTERVAL_MS);
    this.timer.unref();
  }

  /** Stops sweeping and waits for a sweep under way, so the store is not closed under it. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One sweep (or the one under way); how many chunks went. */
  sweep(): Promise<number> {
    this.running ??= sweepOrphanedChunks(this.models, new Date(this.now() - ORPHANED_AFTER_MS))
      .then(
        (deleted) => {
          if (deleted > 0) this.log.info({ chunks: deleted }, 'deleted listing chunks an interrupted upload left');
          return deleted;
        },
        (error: unknown) => {
          this.log.warn({ err: error }, 'sweeping orphaned listing chunks failed; retrying at the next sweep');
          return 0;
        },
      )
      .finally(() => (this.running = null));
    return this.running;
  }
}
