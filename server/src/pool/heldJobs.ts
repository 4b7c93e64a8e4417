import type { Models } from '../store/models.ts';

/** How long the leases read from the store are trusted before they are read again, in the background. */
const HELD_MAX_AGE_MS = 10_000;

/**
 * The jobs that have a lease, lapsed ones included (they keep their job from
 * others until the sweeper deletes them), as this process knows them. Claim
 * windows leave these out of what they offer. Asking the store instead with a
 * `$nin` of every held job's id made each read of the queue slower the more
 * jobs were held (over 3 s with 8,750 leases on FerretDB, which evaluates it
 * per job); reading every lease per read of the queue cost 1.5 s more.
 *
 * This process's own claims, completions, failures, cancels and sweeps keep
 * the set up to date as they happen; the store is read again, alongside the
 * claim windows' read of the queue, when the set is 10 s old (other
 * processes' leases) or after a release (which deletes leases it does not name). The set may be stale both ways:
 * a job held elsewhere and not known here costs a lost lease insert (which
 * then marks it held), a job let go elsewhere is offered after the next read,
 * as a claim window also misses other processes' changes for up to 10 s.
 */
export class HeldJobs {
  private held = new Set<string>();
  private readAt = -Infinity;
  /** Forces the next `ready()` to wait for a read begun after the call. */
  private invalidated = true;
  /** Changes made here while a read is in flight, replayed on its result: it may have begun before them. */
  private changedDuringRead: Map<string, boolean> | null = null;
  private reading: Promise<void> | null = null;

  constructor(
    private readonly models: Pick<Models, 'Lease'>,
    private readonly clock: () => Date,
  ) {}

  /** Reads the leases again if they were never read, are 10 s old, or `invalidate` came since the last read began. */
  async ready(): Promise<void> {
    // A read already in flight began before the invalidation: one begun after it is needed.
    if (this.invalidated && this.reading) await this.reading.catch(() => undefined);
    if (this.invalidated || this.clock().getTime() - this.readAt >= HELD_MAX_AGE_MS) await this.read();
  }

  has(id: string): boolean {
    return this.held.has(id);
  }

  add(ids: Iterable<string>): void {
    this.change(ids, true);
  }

  remove(ids: Iterable<string>): void {
    this.change(ids, false);
  }

  /** Leases went that this process cannot name (a release by connection): the next claim read waits for the store. */
  invalidate(): void {
    this.invalidated = true;
  }

  private change(ids: Iterable<string>, held: boolean): void {
    for (const id of ids) {
      if (held) this.held.add(id);
      else this.held.delete(id);
      this.changedDuringRead?.set(id, held);
    }
  }

  private read(): Promise<void> {
    this.reading ??= (async () => {
      const startedAt = this.clock().getTime();
      this.invalidated = false;
      const changes = new Map<string, boolean>();
      this.changedDuringRead = changes;
      try {
            const leases = await this.models.Lease.find({}, { _id: 1 }).lean();
        const held = new Set(leases.map((lease) => lease._id));
        for (const [id, isHeld] of changes) {
          if (isHeld) held.add(id);
          else held.delete(id);
        }
        this.held = held;
        this.readAt = startedAt;
      } catch (error) {
        this.invalidated = true;
        throw error;
      } finally {
        this.changedDuringRead = null;
      }
    })().finally(() => {
      this.reading = null;
    });
    return this.reading;
  }
}
