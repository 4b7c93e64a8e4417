import { canBuild, type WorkerCapabilities } from '@lilac/common';
import type { Types } from 'mongoose';
import type { Claimant } from './claimant.ts';

/** A queued, unheld job as the claim window holds it, with the hints that say who may take it. */
export interface Candidate {
  readonly _id: Types.ObjectId;
  readonly outPath: string;
  readonly attestedBy: readonly string[];
  readonly triedBy: readonly string[];
  readonly notBefore: Date;
  readonly system: string | null;
  readonly requiredSystemFeatures: string[];
}

/**
 * Whether the job's hints let `claimant` have it now. The one place that
 * decides which queued jobs a worker is offered: a new rule (which systems or
 * features a worker has) is one more condition here and one more field on
 * `Candidate` and `Claimant`.
 */
export function mayOffer(candidate: Candidate, claimant: Claimant, now: Date): boolean {
  return (
    !candidate.attestedBy.includes(claimant.builder) &&
    !candidate.triedBy.includes(claimant.builder) &&
    candidate.notBefore <= now &&
    canBuild(claimant.capabilities, candidate)
  );
}

/** Workers that announced the same systems and features share one window; `*`: announced nothing, offered anything. */
function kindOf(capabilities: WorkerCapabilities | null): string {
  if (capabilities === null) return '*';
  return JSON.stringify([[...capabilities.systems].sort(), [...capabilities.features].sort()]);
}

/**
 * The jobs handed out by any window of this process whose leases are being
 * inserted, and when the leases of others settled. A job fit for several
 * kinds of worker sits in several windows; once one window hands it out, the
 * others must not, until a read of theirs begun after the lease settled
 * (which sees the lease, or sees it gone) says what it is.
 */
class Handouts {
  private readonly inserting = new Set<string>();
  private readonly settledAt = new Map<string, number>();

  /** Whether a window whose read began at `readAt` may still offer the job. */
  isOut(id: string, readAt: number): boolean {
    const settled = this.settledAt.get(id);
    return this.inserting.has(id) || (settled !== undefined && settled >= readAt);
  }

  handOut(id: string): void {
    this.inserting.add(id);
  }

  inserted(): ReadonlySet<string> {
    return new Set(this.inserting);
  }

  settled(ids: Iterable<string>, at: number): void {
    for (const id of ids) {
      this.inserting.delete(id);
      this.settledAt.set(id, at);
    }
  }

  /** Every window read after `oldestRead`: what settled before then, every read already saw. */
  forgetBefore(oldestRead: number): void {
    for (const [id, at] of this.settledAt) if (at < oldestRead) this.settledAt.delete(id);
  }
}

/** One read of the queue, which every kind's window takes its share of. */
export interface QueueRead {
  /** When the read began: what settled before then, it saw. */
  readonly startedAt: number;
  /** The queued jobs past their backoff that nobody holds, most wanted first. */
  readonly candidates: readonly Candidate[];
}

/**
 * The most wanted queued jobs nobody holds that one kind of worker can build,
 * taken from a read of the whole queue that all windows share. The window
 * may be stale: a claim still wins a job only by inserting its lease and then
 * checking the job itself, so staleness costs a wasted try, never a double claim.
 */
class ClaimWindow {
  private candidates: Candidate[] = [];
  /** When the read that filled the window began. */
  readAt = -Infinity;
  /** When a claim last used it: a window no worker of its kind asks is dropped. */
  usedAt = 0;
  /** The `ClaimWindows` generation of that read: any other means the queue changed in this process since it began. */
  private generation = -1;
  private reading: Promise<void> | null = null;

  constructor(
    private readonly capabilities: WorkerCapabilities | null,
    private readonly windows: ClaimWindows,
    private readonly clock: () => Date,
    private readonly handouts: Handouts,
  ) {}

  async next(claimant: Claimant, passed: ReadonlySet<string>, since: number): Promise<Candidate | null> {
    const fits = (candidate: Candidate, now: Date) => !passed.has(String(candidate._id)) && mayOffer(candidate, claimant, now);
    // After a read this claim waited for, the window is used whatever its age: a slow store cannot keep a claim reading.
    let waited = false;
    for (;;) {
      this.usedAt = this.clock().getTime();
      if (waited || this.fresh()) {
        const index = this.find(fits);
        if (index >= 0) return this.handOut(index);
        // The window holds every job of its kind the read saw: a read begun after the claim came had nothing for it.
        if (this.reading === null && this.readAt >= since) return null;
      }
      await this.refresh();
      waited = true;
    }
  }

  private fresh(): boolean {
    return this.generation === this.windows.generation && this.clock().getTime() - this.readAt < this.windows.maxAgeMs;
  }

  /** The first candidate that fits; jobs another window handed out since this one's read are dropped on the way. */
  private find(fits: (candidate: Candidate, now: Date) => boolean): number {
    const now = this.clock();
    for (let index = 0; index < this.candidates.length; ) {
      const candidate = this.candidates[index]!;
      if (this.handouts.isOut(String(candidate._id), this.readAt)) {
        this.candidates.splice(index, 1);
        continue;
      }
      if (fits(candidate, now)) return index;
      index += 1;
    }
    return -1;
  }

  private handOut(index: number): Candidate | null {
    const [candidate] = this.candidates.splice(index, 1);
    if (!candidate) return null;
    this.handouts.handOut(String(candidate._id));
    return candidate;
  }

  private refresh(): Promise<void> {
    this.reading ??= this.windows
      .readQueue()
      .then(({ read, generation, insertingBefore }) => {
        // A job handed out before or during the read may be in it, its lease not yet in: not offered twice.
        this.candidates = read.candidates.filter(
          (candidate) => !insertingBefore.has(String(candidate._id)) && !this.handouts.isOut(String(candidate._id), read.startedAt) && canBuild(this.capabilities, candidate),
        );
        this.readAt = read.startedAt;
        this.generation = generation;
        this.windows.readDone();
      })
      .finally(() => {
        this.reading = null;
      });
    return this.reading;
  }
}

interface SharedRead {
  readonly done: Promise<{ read: QueueRead; generation: number; insertingBefore: ReadonlySet<string> }>;
  readonly generation: number;
}

/**
 * One claim window per kind of worker (the systems and features it
 * announced), all filled from one read of the whole queue, split by
 * `canBuild` here. A read per kind, each a full scan and sort of the queue on
 * the embedded FerretDB (its SQLite backend serves no index but `_id`), made
 * five kinds five times the store's work; a window per kind still keeps a
 * routed claim from looking through jobs its worker cannot build.
 */
export class ClaimWindows {
  private readonly windows = new Map<string, ClaimWindow>();
  private readonly handouts = new Handouts();
  /** Counts `invalidate` calls: a window read before the latest is stale. */
  generation = 0;
  private shared: SharedRead | null = null;

  constructor(
    /** The queued jobs past their backoff that nobody holds, most wanted first. */
    private readonly read: () => Promise<QueueRead>,
    /** How long a window may miss queue changes other server processes made. */
    readonly maxAgeMs: number,
    private readonly clock: () => Date,
  ) {}

  /**
   * Hands the next job `claimant` may take, by the hints, to this claimer only;
   * `null` only once a read begun after `since` had nothing for it.
   */
  next(claimant: Claimant, passed: ReadonlySet<string>, since: number): Promise<Candidate | null> {
    const kind = kindOf(claimant.capabilities);
    let window = this.windows.get(kind);
    if (!window) {
      window = new ClaimWindow(claimant.capabilities, this, this.clock, this.handouts);
      this.windows.set(kind, window);
    }
    return window.next(claimant, passed, since);
  }

  /** The leases of these jobs are in the store, or will not be: a read begun from now sees the truth about them. */
  settled(ids: Iterable<string>): void {
    this.handouts.settled(ids, this.clock().getTime());
  }

  /** The queue changed here (jobs added or returned): every window is read again before its next use. */
  invalidate(): void {
    this.generation += 1;
  }

  /** A read of the queue for a window: the one in flight if no change came since it began, else a new one. */
  readQueue(): SharedRead['done'] {
    if (this.shared?.generation !== this.generation) {
      const generation = this.generation;
      const insertingBefore = this.handouts.inserted();
      const shared: SharedRead = {
        generation,
        done: this.read().then((read) => ({ read, generation, insertingBefore })),
      };
      this.shared = shared;
      void shared.done
        .finally(() => {
          if (this.shared === shared) this.shared = null;
        })
        .catch(() => undefined);
    }
    return this.shared!.done;
  }

  /** Windows of kinds no worker asked for a while go; then what every remaining window's read saw is forgotten. */
  readDone(): void {
    const now = this.clock().getTime();
    for (const [kind, window] of this.windows) if (now - window.usedAt > this.maxAgeMs) this.windows.delete(kind);
    const oldestRead = Math.min(...[...this.windows.values()].map((window) => window.readAt));
    this.handouts.forgetBefore(oldestRead);
  }
}
