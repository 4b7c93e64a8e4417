import { randomUUID } from 'node:crypto';
import type { Logger } from '../log.ts';
import type { Models } from '../store/models.ts';

/** How often a live process writes its checkpoint. */
const CHECKPOINT_EVERY_MS = 1_000;
/**
 * A group waits for a fresh write of the checkpoint when the last one that
 * succeeded is older than this: a process whose writes keep failing must not
 * go on storing under a checkpoint other processes take for a dead one's
 * (`DEAD_AFTER_MS`, three times this).
 */
export const FRESH_FOR_MS = 10_000;

/** A failed group's time, and which failure it was: the repair that began after it clears it. */
export interface Unsettled {
  readonly since: number;
  readonly failures: number;
}

export class IngestClosedError extends Error {
  constructor() {
    super('ingest is shutting down');
  }
}

/**
 * This server process's ingest checkpoint (`ingest_checkpoints`): the time
 * before which every attestation it stored is counted in its summary. A group
 * takes its time from `hold` (never earlier than a checkpoint already
 * written, whatever the clock does), stores its attestations with it as
 * `updatedAt`, and holds the checkpoint there until its summaries are folded;
 * a group whose fold failed holds it until a repair begun after the failure.
 * The store has a checkpoint written less than `FRESH_FOR_MS` ago before any
 * group writes, and gets it again every second. This replaces a document per
 * request written before its attestations, a store round trip of its own on
 * every group's way.
 */
export class IngestCheckpoint {
  readonly id = randomUUID();
  /** The times of the groups being written, each with how many groups have it. */
  private readonly held = new Map<number, number>();
  private unsettledSince: number | null = null;
  private failures = 0;
  /** The latest `settledBefore` written (or being written): no group takes an earlier time. */
  private floor = -Infinity;
  /** When the last write succeeded, on the monotonic clock: a wall clock stepped back must not make it look fresh. */
  private lastSuccess = -Infinity;
  private refreshing: Promise<void> | null = null;
  private lastWrite: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly models: Models,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
    private readonly monotonic: () => number = () => performance.now(),
  ) {}

  /** Writes the checkpoint every second from now on, so that a process that died is told from a live one. */
  start(): void {
    this.timer ??= setInterval(() => {
      this.write().catch((error: unknown) => this.log.warn({ err: error }, 'could not write the ingest checkpoint; trying again in a second'));
    }, CHECKPOINT_EVERY_MS);
    this.timer.unref();
  }

  /** Holds the checkpoint for a group about to be written; answers the group's time, once the store has a fresh checkpoint no later. */
  async hold(): Promise<number> {
    if (this.closed) throw new IngestClosedError();
    const at = Math.max(this.now(), this.floor);
    this.held.set(at, (this.held.get(at) ?? 0) + 1);
    try {
      if (this.monotonic() - this.lastSuccess > FRESH_FOR_MS) {
        this.refreshing ??= this.write().finally(() => (this.refreshing = null));
        await this.refreshing;
      }
      return at;
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

  /**
   * Refuses further groups and stops writing; a process that stops with
   * every group counted removes its checkpoint, so nothing is counted again
   * for it, and one with groups still held leaves it where they are.
   */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.lastWrite.catch(() => undefined);
    if (this.held.size === 0 && this.unsettledSince === null) await this.models.IngestCheckpoint.deleteOne({ _id: this.id });
    else await this.write();
  }

  private settledBefore(): number {
    return Math.min(Math.max(this.now(), this.floor), this.unsettledSince ?? Infinity, ...this.held.keys());
  }

  /** Writes one at a time, each taking the checkpoint when its turn comes, so they land in the order they were asked for. */
  private write(): Promise<void> {
    const write = this.lastWrite
      .catch(() => undefined)
      .then(async () => {
        const settledBefore = this.settledBefore();
        this.floor = Math.max(this.floor, settledBefore);
        await this.models.IngestCheckpoint.updateOne({ _id: this.id }, { $set: { settledBefore: new Date(settledBefore), seenAt: new Date(this.now()) } }, { upsert: true });
        this.lastSuccess = this.monotonic();
      });
    this.lastWrite = write;
    return write;
  }
}
