/**
 * Sends a frequent event as lists: the first item waits `windowMs`, and
 * whatever arrived meanwhile goes with it in one message. Ingest publishes
 * an attestation and a verdict change per output stored, thousands a second;
 * sent one message each, every open page parsed and rendered them one by
 * one, froze for over a second, and took the CPU the ingest needed.
 */
export class EventGathering<T> {
  private items: T[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly send: (items: T[]) => void,
    private readonly windowMs: number,
  ) {}

  add(item: T): void {
    this.items.push(item);
    if (this.timer !== null) return;
    this.timer = setTimeout(() => this.flush(), this.windowMs);
    // What is still gathering when the server stops is not worth keeping it up: a page refetches when it reconnects.
    this.timer.unref();
  }

  private flush(): void {
    const items = this.items;
    this.items = [];
    this.timer = null;
    this.send(items);
  }
}
