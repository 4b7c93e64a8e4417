import type { Logger } from '../log.ts';
import type { AttestationIngest } from './ingestService.ts';

/** A request older than this whose intent is still open was cut off: no live request takes that long to answer. */
const ABANDONED_AFTER_MS = 5 * 60_000;
const SWEEP_INTERVAL_MS = 60_000;

/**
 * Finishes ingest requests a crash cut off: at start-up, then every minute
 * for requests whose server process died while this one was running.
 */
export class IngestRepair {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly ingest: AttestationIngest,
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

  private sweep(): Promise<void> {
    this.running ??= this.ingest
      .repairUnfinished(new Date(this.now() - ABANDONED_AFTER_MS))
      .then(
        ({ intents, outputs }) => {
          if (intents > 0) this.log.info({ intents, outputs }, 'settled attestations of unfinished ingest requests');
        },
        (error: unknown) => this.log.warn({ err: error }, 'settling unfinished ingest requests failed; retrying at the next sweep'),
      )
      .finally(() => (this.running = null));
    return this.running;
  }
}
