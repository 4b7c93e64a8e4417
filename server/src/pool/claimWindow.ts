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
export function kindOf(capabilities: WorkerCapabilities | null): string {
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

/**
 * The most wanted queued jobs nobody holds, read from the store once for
 * many claims. Finding them is a read and sort of the whole queue on the
 * embedded FerretDB (its SQLite backend serves no secondary index), which one
 * claim each would repeat thousands of times. The window may be stale: a
 * claim still wins a job only by inserting its lease and then checking the
 * job itself, so staleness costs a wasted try, never a double claim.
 */
class ClaimWindow {
  private candidates: Candidate[] = [];
  /** How many jobs the last read returned: fewer than `size` means it saw every one. */
  private readCount = 0;
  /** When the read that filled the window began. */
  readAt = 0;
  /** When a claim last used it: a window no worker of its kind asks is dropped. */
  usedAt = 0;
  /** The queue changed in this process since that read began. */
  private stale = true;
  private changes = 0;
  private reading: Promise<void> | null = null;

  constructor(
    private readonly read: () => Promise<Candidate[]>,
    private readonly size: number,
    private readonly readFor: (claimant: Claimant, passed: readonly string[]) => Promise<Candidate[]>,
    private readonly maxAgeMs: number,
    private readonly clock: () => Date,
    private readonly handouts: Handouts,
    private readonly readDone: () => void,
  ) {}

  async next(claimant: Claimant, passed: ReadonlySet<string>, since: number): Promise<Candidate | null> {
    const fits = (candidate: Candidate, now: Date) => !passed.has(String(candidate._id)) && mayOffer(candidate, claimant, now);
    // After a read this claim waited for, the window is used whatever its age: a slow store cannot keep a claim reading.
    let waited = false;
    for (;;) {
      this.usedAt = this.clock().getTime();
      if (waited || (!this.stale && this.clock().getTime() - this.readAt < this.maxAgeMs)) {
        const index = this.find(fits);
        if (index >= 0) return this.handOut(index);
        if (this.reading === null && this.readAt >= since) {
          if (this.readCount < this.size) return null;
          const further = await this.readFor(claimant, [...passed]);
          return further.find((candidate) => !this.handouts.isOut(String(candidate._id), -Infinity) && fits(candidate, this.clock())) ?? null;
        }
      }
      await this.refresh();
      waited = true;
    }
  }

  invalidate(): void {
    this.changes += 1;
    this.stale = true;
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
    // Read ahead while a quarter is left, so claims need not wait for the read.
    if (this.candidates.length < this.size / 4 && this.readCount === this.size) void this.refresh().catch(() => undefined);
    return candidate;
  }

  private refresh(): Promise<void> {
    if (this.reading) return this.reading;
    const startedAt = this.clock().getTime();
    const changesBefore = this.changes;
    const insertingBefore = this.handouts.inserted();
    this.reading = this.read()
      .then((candidates) => {
        // A job handed out before or during the read may be back in it, its lease not yet in: not offered twice.
        this.candidates = candidates.filter((candidate) => !insertingBefore.has(String(candidate._id)) && !this.handouts.isOut(String(candidate._id), startedAt));
        this.readCount = candidates.length;
        this.readAt = startedAt;
        this.stale = this.changes !== changesBefore;
        this.readDone();
      })
      .finally(() => {
        this.reading = null;
      });
    return this.reading;
  }
}

/**
 * One claim window per kind of worker (the systems and features it
 * announced), each read with the store filter of what that kind can build.
 * One window for all made a routed claim read the queue for itself whenever
 * the window's head held nothing its worker can build: with many kinds and a
 * long queue, that was most claims.
 */
export class ClaimWindows {
  private readonly windows = new Map<string, ClaimWindow>();
  private readonly handouts = new Handouts();

  constructor(
    /** The head of the queue that workers of these capabilities can build. */
    private readonly read: (capabilities: WorkerCapabilities | null) => Promise<Candidate[]>,
    /** Jobs one read takes; when a window was full and held nothing for a claimant, `readFor` looks further. */
    private readonly size: number,
    private readonly readFor: (claimant: Claimant, passed: readonly string[]) => Promise<Candidate[]>,
    /** How long a window may miss queue changes other server processes made. */
    private readonly maxAgeMs: number,
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
      const capabilities = claimant.capabilities;
      window = new ClaimWindow(() => this.read(capabilities), this.size, this.readFor, this.maxAgeMs, this.clock, this.handouts, () => this.readDone());
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
    for (const window of this.windows.values()) window.invalidate();
  }

  /** Windows of kinds no worker asked for a while go; then what every remaining window's read saw is forgotten. */
  private readDone(): void {
    const now = this.clock().getTime();
    for (const [kind, window] of this.windows) if (now - window.usedAt > this.maxAgeMs) this.windows.delete(kind);
    const oldestRead = Math.min(...[...this.windows.values()].map((window) => window.readAt));
    this.handouts.forgetBefore(oldestRead);
  }
}
