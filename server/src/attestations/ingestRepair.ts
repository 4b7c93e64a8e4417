import type { Logger } from '../log.ts';
import { PeriodicSweep } from '../periodicSweep.ts';
import type { Models } from '../store/models.ts';
import type { AttestationIngest } from './ingestService.ts';

const SWEEP_INTERVAL_MS = 15_000;
/** A checkpoint not written for this long belongs to a process that died: a live one writes it every second (`CHECKPOINT_EVERY_MS`). */
export const DEAD_AFTER_MS = 30_000;
/** Attestations are counted again from this long before a checkpoint, in case a clock was stepped back. */
const CLOCK_MARGIN_MS = 5_000;

/**
 * Counts what ingest requests cut off by a crash stored and did not count:
 * every attestation changed since the checkpoint of a process that died, and
 * since a failed group of this one. At start-up every other process's
 * checkpoint is taken, since the process this one replaces may have died a
 * moment ago (counting again what a live one stored costs time, not
 * correctness); then, every 15 seconds, those not written for 30 seconds,
 * which are deleted once counted.
 */
export class IngestRepair extends PeriodicSweep<void> {
  private startedUp = false;

  constructor(
    private readonly ingest: AttestationIngest,
    private readonly models: Models,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    super(SWEEP_INTERVAL_MS, () =>
      this.repairOnce().then(
        () => undefined,
        (error: unknown) => log.warn({ err: error }, 'counting what cut-off ingest requests stored failed; retrying at the next sweep'),
      ),
    );
  }

  /** One sweep; answers how many outputs gained a statement. */
  async repairOnce(): Promise<number> {
    const now = this.now();
    const others = await this.models.IngestCheckpoint.find({ _id: { $ne: this.ingest.checkpoint.id } }).lean();
    const dead = others.filter((checkpoint) => checkpoint.seenAt.getTime() < now - DEAD_AFTER_MS);
    const own = this.ingest.checkpoint.unsettled();
    const since = Math.min(...(this.startedUp ? dead : others).map((checkpoint) => checkpoint.settledBefore.getTime()), own?.since ?? Infinity);
    let outputs = 0;
    if (since !== Infinity) {
      outputs = await this.ingest.settleChangedSince(new Date(since - CLOCK_MARGIN_MS));
      if (outputs > 0) this.log.info({ outputs, since: new Date(since) }, 'counted statements that cut-off ingest requests had stored');
    }
    for (const checkpoint of dead) await this.models.IngestCheckpoint.deleteOne({ _id: checkpoint._id, seenAt: checkpoint.seenAt });
    if (own) this.ingest.checkpoint.repaired(own);
    this.startedUp = true;
    return outputs;
  }
}
