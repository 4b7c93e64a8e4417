import { randomUUID } from 'node:crypto';
import type { Logger } from '../log.ts';
import type { Models } from '../store/models.ts';

/** How often a live process writes its checkpoint. */
export const CHECKPOINT_EVERY_MS = 1_000;

/** A failed group's time, and which failure it was: the repair that began after it clears it. */
export interface Unsettled {
  readonly since: number;
  readonly failures: number;
}

/**
 * This server process's ingest checkpoint (`ingest_checkpoints`): the time
 * before which every attestation it stored is counted in its summary. A group
 * holds the checkpoint at its own time (the `updatedAt` its attestations are
 * stored with) from before its first write until its summaries are folded; a
 * group whose fold failed holds it until the repair sweep has counted again
 * what was stored since. The store has a checkpoint before the first group is
 * written, and gets it again every second: what it says lags behind, never
 * ahead. This replaces a document per request written before its attestations,
 * a store round trip of its own on every group's way.
 */
export class IngestCheckpoint {
  readonly id = randomUUID();
  /** The times of the groups being written, each with how many groups have it. */
  private readonly held = new Map<number, number>();
  private unsettledSince: number | null = null;
  private failures = 0;
  private firstWrite: Promise<void> | null = null;
  private lastWrite: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly models: Models,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Writes the checkpoint every second from now on, so that a process that died is told from a live one. */
  start(): void {
    this.timer ??= setInterval(() => {
      this.write().catch((error: unknown) => this.log.warn({ err: error }, 'could not write the ingest checkpoint; trying again in a second'));
    }, CHECKPOINT_EVERY_MS);
    this.timer.unref();
  }

  /** Holds the checkpoint at `at`, the time a group is about to store its attestations with; resolves once the store has a checkpoint no later. */
  async hold(at: number): Promise<void> {
    this.held.set(at, (this.held.get(at) ?? 0) + 1);
    try {
      this.firstWrite ??= this.write().catch((error: unknown) => {
        this.firstWrite = null;
        throw error;
      });
      await this.firstWrite;
    } catch (error) {
      this.release(at);
      throw error;
    }
  }

  /** The group held at `at` has its statements counted. */
  release(at: number): void {
    const groups = (this.held.get(at) ?? 1) - 1;
    if (groups > 0) this.held.set(at, groups);
    else this.held.delete(at);
  }

  /** The group held at `at` failed, and may have stored what it did not count: the checkpoint stays there until `repaired`. */
  releaseUnsettled(at: number): void {
    this.release(at);
    this.unsettledSince = Math.min(this.unsettledSince ?? at, at);
    this.failures += 1;
  }

  /** What this process's own failed groups may have left uncounted, for the repair sweep. */
  unsettled(): Unsettled | null {
    return this.unsettledSince === null ? null : { since: this.unsettledSince, failures: this.failures };
  }

  /** Everything changed since `repaired.since` was counted again, by a repair begun after that failure; a later failure keeps its hold. */
  repaired(repaired: Unsettled): void {
    if (this.failures === repaired.failures) this.unsettledSince = null;
  }

  /** Stops writing it; a process that stops with every group counted removes its checkpoint, so nothing is counted again for it. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.lastWrite.catch(() => undefined);
    if (this.held.size === 0 && this.unsettledSince === null) await this.models.IngestCheckpoint.deleteOne({ _id: this.id });
    else await this.write();
  }

  private settledBefore(): number {
    return Math.min(this.now(), this.unsettledSince ?? Infinity, ...this.held.keys());
  }

  /** Writes one at a time, each taking the checkpoint when its turn comes, so they land in the order they were asked for. */
  private write(): Promise<void> {
    const write = this.lastWrite
      .catch(() => undefined)
      .then(async () => {
        const seenAt = this.now();
        await this.models.IngestCheckpoint.updateOne({ _id: this.id }, { $set: { settledBefore: new Date(this.settledBefore()), seenAt: new Date(seenAt) } }, { upsert: true });
      });
    this.lastWrite = write;
    return write;
  }
}
