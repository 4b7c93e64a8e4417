import type { Logger } from '../log.ts';
import { PeriodicSweep } from '../periodicSweep.ts';
import type { AttestationIngest } from './ingestService.ts';

/** A request older than this whose intent is still open was cut off: no live request takes that long to answer. */
const ABANDONED_AFTER_MS = 5 * 60_000;
const SWEEP_INTERVAL_MS = 60_000;

/**
 * Finishes ingest requests a crash cut off: at start-up, then every minute
 * for requests whose server process died while this one was running.
 */
export class IngestRepair extends PeriodicSweep<void> {
  constructor(ingest: AttestationIngest, log: Logger, now: () => number = Date.now) {
    super(SWEEP_INTERVAL_MS, () =>
      ingest.repairUnfinished(new Date(now() - ABANDONED_AFTER_MS)).then(
        ({ intents, outputs }) => {
          if (intents > 0) log.info({ intents, outputs }, 'settled attestations of unfinished ingest requests');
        },
        (error: unknown) => log.warn({ err: error }, 'settling unfinished ingest requests failed; retrying at the next sweep'),
      ),
    );
  }
}
