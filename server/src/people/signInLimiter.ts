/**
 * Counts failed sign-ins per client address and per member name in a sliding
 * window. In memory, per server process: a restart forgets the counts, and
 * several processes each allow the limit; that still turns a token or password
 * search from millions of tries a minute into a handful.
 */
export class SignInLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Milliseconds until one of `keys` may try again, or 0 when all may. */
  retryAfterMs(keys: readonly string[]): number {
    const now = this.now();
    let wait = 0;
    for (const key of keys) {
      const recent = this.recent(key, now);
      if (recent.length >= this.limit) wait = Math.max(wait, recent[0]! + this.windowMs - now);
    }
    return wait;
  }

  fail(keys: readonly string[]): void {
    const now = this.now();
    for (const key of keys) this.failures.set(key, [...this.recent(key, now), now]);
    // A client making up a new name per try must not grow the map without bound.
    if (this.failures.size > 100_000) this.forgetOld(now);
  }

  private recent(key: string, now: number): number[] {
    return (this.failures.get(key) ?? []).filter((at) => at > now - this.windowMs);
  }

  private forgetOld(now: number): void {
    for (const [key, times] of this.failures) if (!times.some((at) => at > now - this.windowMs)) this.failures.delete(key);
  }
}
