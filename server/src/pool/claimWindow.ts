import { canBuild } from '@lilac/common';
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

/**
 * The most wanted queued jobs nobody holds, read from the store once for
 * many claims. Finding them is a read and sort of the whole queue on the
 * embedded FerretDB (its SQLite backend serves no secondary index), which one
 * claim each would repeat thousands of times. The window may be stale: a
 * claim still wins a job only by inserting its lease and then checking the
 * job itself, so staleness costs a wasted try, never a double claim.
 */
export class ClaimWindow {
  private candidates: Candidate[] = [];
  /** How many jobs the last read returned: fewer than `size` means it saw every one. */
  private readCount = 0;
  /** When the read that filled the window began. */
  private readAt = 0;
  /** The queue changed in this process since that read began. */
  private stale = true;
  private changes = 0;
  private reading: Promise<void> | null = null;
  /** Jobs handed out whose lease inserts have not come back yet: a read may not see those leases. */
  private readonly inserting = new Set<string>();

  constructor(
    private readonly read: () => Promise<Candidate[]>,
    /** Jobs one read takes; when the window was full and held nothing for a claimant, `readFor` looks further. */
    private readonly size: number,
    private readonly readFor: (claimant: Claimant, passed: readonly string[]) => Promise<Candidate[]>,
    /** How long the window may miss queue changes other server processes made. */
    private readonly maxAgeMs: number,
    private readonly clock: () => Date,
  ) {}

  /**
   * Hands the next job `claimant` may take, by the hints, to this claimer only;
   * `null` only once a read begun after `since` had nothing for it.
   */
  async next(claimant: Claimant, passed: ReadonlySet<string>, since: number): Promise<Candidate | null> {
    const fits = (candidate: Candidate, now: Date) => !passed.has(String(candidate._id)) && mayOffer(candidate, claimant, now);
    // After a read this claim waited for, the window is used whatever its age: a slow store cannot keep a claim reading.
    let waited = false;
    for (;;) {
      if (waited || (!this.stale && this.clock().getTime() - this.readAt < this.maxAgeMs)) {
        const now = this.clock();
        const index = this.candidates.findIndex((candidate) => fits(candidate, now));
        if (index >= 0) return this.handOut(index);
        if (this.reading === null && this.readAt >= since) {
          if (this.readCount < this.size) return null;
          const further = await this.readFor(claimant, [...passed]);
          return further.find((candidate) => fits(candidate, this.clock())) ?? null;
        }
      }
      await this.refresh();
      waited = true;
    }
  }

  /** The leases of these jobs are in the store, or will not be: a read sees the truth about them. */
  settled(ids: Iterable<string>): void {
    for (const id of ids) this.inserting.delete(id);
  }

  /** The queue changed here (jobs added or returned): the window is read again before its next use. */
  invalidate(): void {
    this.changes += 1;
    this.stale = true;
  }

  private handOut(index: number): Candidate | null {
    const [candidate] = this.candidates.splice(index, 1);
    if (!candidate) return null;
    this.inserting.add(String(candidate._id));
    // Read ahead while a quarter is left, so claims need not wait for the read.
    if (this.candidates.length < this.size / 4 && this.readCount === this.size) void this.refresh().catch(() => undefined);
    return candidate;
  }

  private refresh(): Promise<void> {
    if (this.reading) return this.reading;
    const startedAt = this.clock().getTime();
    const changesBefore = this.changes;
    const insertingBefore = new Set(this.inserting);
    this.reading = this.read()
      .then((candidates) => {
        // A job handed out before or during the read may be back in it, its lease not yet in: not offered twice.
        this.candidates = candidates.filter((candidate) => !insertingBefore.has(String(candidate._id)) && !this.inserting.has(String(candidate._id)));
        this.readCount = candidates.length;
        this.readAt = startedAt;
        this.stale = this.changes !== changesBefore;
      })
      .finally(() => {
        this.reading = null;
      });
    return this.reading;
  }
}
