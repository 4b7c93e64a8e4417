import type { Logger } from '../log.ts';
import { PeriodicSweep } from '../periodicSweep.ts';
import type { Models } from '../store/models.ts';
import { sweepOrphanedChunks } from './listingStore.ts';

/** A listing is stored in seconds (a million entries: a few): chunks an hour old that no header names are an upload's remains. */
export const ORPHANED_AFTER_MS = 60 * 60_000;
const SWEEP_INTERVAL_MS = 10 * 60_000;

/**
 * Deletes listing chunks a killed upload left without a header: at start-up,
 * then every ten minutes (another server process may be killed meanwhile).
 * A sweep answers how many chunks went.
 */
export class OrphanedChunkSweep extends PeriodicSweep<number> {
  constructor(models: Models, log: Logger, now: () => number = Date.now) {
    super(SWEEP_INTERVAL_MS, () =>
      sweepOrphanedChunks(models, new Date(now() - ORPHANED_AFTER_MS)).then(
        (deleted) => {
          if (deleted > 0) log.info({ chunks: deleted }, 'deleted listing chunks an interrupted upload left');
          return deleted;
        },
        (error: unknown) => {
          log.warn({ err: error }, 'sweeping orphaned listing chunks failed; retrying at the next sweep');
          return 0;
        },
      ),
    );
  }
}
