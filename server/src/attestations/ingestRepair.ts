import type { Logger } from '../log.ts';
import { PeriodicSweep } from '../periodicSweep.ts';
import type { Models } from '../store/models.ts';
import type { AttestationIngest } from './ingestService.ts';

const SWEEP_INTERVAL_MS = 15_000;
/**
 * A checkpoint this process has seen unchanged for this long, by its own
 * clock, belongs to a process that died: a live one writes it every second
 * (`CHECKPOINT_EVERY_MS`), and stops storing when its last write is older
 * than a third of this (`FRESH_FOR_MS`). Another host's clock is never
 * compared with this one's.
 */
export const DEAD_AFTER_MS = 30_000;

interface Sighting {
  readonly seenAt: number;
  /** When this process first saw that `seenAt`, by its own clock. */
  readonly since: number;
}

/**
 * Counts what ingest requests cut off by a crash stored and did not count:
 * every attestation changed since the checkpoint of a process that died, and
 * since a failed group of this one. At start-up every other process's
 * checkpoint is taken, since the process this one replaces may have died a
 * moment ago (counting again what a live one stored costs time, not
 * correctness); then, every 15 seconds, those unchanged for 30 seconds,
 * which are deleted once counted.
 */
export class IngestRepair extends PeriodicSweep<void> {
  private startedUp = false;
  private readonly sightings = new Map<string, Sighting>();

  constructor(
    private readonly ingest: AttestationIngest,
    private readonly models: Models,
    private readonly log: Logger,
    /** A monotonic clock: how long a checkpoint stayed unchanged must not jump with the wall clock. */
    private readonly now: () => number = () => performance.now(),
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
    const others = await this.models.IngestCheckpoint.find({ _id: { $ne: this.ingest.checkpoint.id } }).lean();
    const dead = others.filter((checkpoint) => this.unchangedFor(checkpoint._id, checkpoint.seenAt.getTime()) >= DEAD_AFTER_MS);
    for (const id of this.sightings.keys()) if (!others.some((checkpoint) => checkpoint._id === id)) this.sightings.delete(id);
    const own = this.ingest.checkpoint.unsettled();
    const since = Math.min(...(this.startedUp ? dead : others).map((checkpoint) => checkpoint.settledBefore.getTime()), own?.since ?? Infinity);
    let outputs = 0;
    if (since !== Infinity) {
      outputs = await this.ingest.settleChangedSince(new Date(since));
      if (outputs > 0) this.log.info({ outputs, since: new Date(since) }, 'counted statements that cut-off ingest requests had stored');
    }
    for (const checkpoint of dead) await this.models.IngestCheckpoint.deleteOne({ _id: checkpoint._id, seenAt: checkpoint.seenAt });
    if (own) this.ingest.checkpoint.repaired(own);
    this.startedUp = true;
    return outputs;
  }

  /** How long, by this process's clock, the checkpoint has said `seenAt`. */
  private unchangedFor(id: string, seenAt: number): number {
    const now = this.now();
    const known = this.sightings.get(id);
    if (known?.seenAt === seenAt) return now - known.since;
    this.sightings.set(id, { seenAt, since: now });
    return 0;
  }
}
