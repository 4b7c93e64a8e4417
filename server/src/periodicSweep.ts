/**
 * Background clean-up run at start-up and then every `everyMs`, one run at a
 * time: a run asked for while one is under way joins it. A run that fails
 * is left for the next (the caller's `sweepOnce` logs why). Stopping waits for
 * a run under way, so the store is not closed under it.
 */
export class PeriodicSweep<T> {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<T> | null = null;

  constructor(
    private readonly everyMs: number,
    private readonly sweepOnce: () => Promise<T>,
  ) {}

  start(): void {
    void this.sweep();
    this.timer = setInterval(() => void this.sweep(), this.everyMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One run (or the one under way). */
  sweep(): Promise<T> {
    this.running ??= this.sweepOnce().finally(() => (this.running = null));
    return this.running;
  }
}
