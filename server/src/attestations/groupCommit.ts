interface Waiting<T, R> {
  readonly work: T;
  readonly resolve: (result: R) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Writes the work of concurrent callers together: while one group is being
 * written, whatever arrives waits and then goes as the next group, so a
 * store round trip serves every request that was waiting for it. No timer:
 * a lone caller is written at once, as a group of one. Up to `inFlight`
 * groups are written at once, so that one group's first round trips overlap
 * the previous group's last, but a further group starts only once at least
 * `overlapFrom` work waits: a group's round trips cost the store about the
 * same however small it is, so small work is cheaper joined into the group
 * after the one being written. Each caller is answered only once its
 * group's write is done; a failed write fails every caller in its group.
 */
export class GroupCommit<T, R> {
  private readonly queue: Waiting<T, R>[] = [];
  private writing = 0;
  /** The size of the queued work. */
  private waiting = 0;

  constructor(
    private readonly write: (group: readonly T[]) => Promise<R[]>,
    private readonly sizeOf: (work: T) => number,
    /** A group grows no larger than this (unless one caller's work alone is larger). */
    private readonly maxGroupSize: number,
    private readonly inFlight: number,
    private readonly overlapFrom = 1,
  ) {}

  submit(work: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ work, resolve, reject });
      this.waiting += this.sizeOf(work);
      if (this.writing === 0 || (this.writing < this.inFlight && this.waiting >= this.overlapFrom)) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.writing++;
    while (this.queue.length > 0) {
      const group = this.queue.splice(0, this.nextGroupLength());
      for (const waiting of group) this.waiting -= this.sizeOf(waiting.work);
      try {
        const results = await this.write(group.map((waiting) => waiting.work));
        group.forEach((waiting, index) => waiting.resolve(results[index] as R));
      } catch (error) {
        for (const waiting of group) waiting.reject(error);
      }
    }
    this.writing--;
  }

  private nextGroupLength(): number {
    let size = 0;
    let length = 0;
    for (const waiting of this.queue) {
      size += this.sizeOf(waiting.work);
      if (length > 0 && size > this.maxGroupSize) break;
      length++;
    }
    return length;
  }
}
