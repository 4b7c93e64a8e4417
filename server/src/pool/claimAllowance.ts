import type { PoolContext } from './poolContext.ts';
import { PoolError } from './poolError.ts';

/** How long the counts of held claims are trusted before every lease is counted again, in the background. */
const RECOUNT_AFTER_MS = 10_000;
/** How old a count may be that refuses a claim: older, the leases are counted again first. */
const REFUSE_AFTER_COUNT_MS = 1000;

/** Claims `builder` holds right now, on any connection to any server process. */
export function claimsHeldBy(pool: PoolContext, builder: string): Promise<number> {
  return pool.models.Lease.countDocuments({ builder, expiresAt: { $gte: pool.now() } });
}

export function tooManyClaims(builder: string, max: number): PoolError {
  return new PoolError(`builder ${builder} already holds ${max} claims, the most one builder may hold (LILAC_POOL_MAX_CLAIMS_PER_BUILDER)`);
}

interface Held {
  /** Leases counted in the store, plus this process's claims confirmed since. */
  counted: number;
  countedAt: number;
  /** Claims this process is handing out right now, not yet confirmed or cancelled. */
  reserved: number;
}

export interface Reservation {
  /** The claim holds: it counts until the next recount sees its lease. */
  confirm(): void;
  /** No claim came of it. */
  cancel(): void;
  /** Whether the builder is close enough to the limit that the store must be asked. */
  readonly nearLimit: boolean;
}

/**
 * Keeps each builder under `maxClaimsPerBuilder`. Counting a builder's leases
 * on every claim scanned every lease on FerretDB (which serves no index but
 * `_id`), and claims fell to ten a second once a thousand were held; counting
 * every builder's once a second still made claims wait 1.5 s for each count
 * once 8,750 leases were held. Leases are counted every 10 s in the
 * background, every builder's in one read, and before a claim is refused on a
 * count older than a second; in between, this process's own claims are
 * reserved before any await, so claims racing here never pass the limit
 * together, and near the limit `claim` asks the store.
 */
export class ClaimAllowance {
  private readonly held = new Map<string, Held>();
  private recounting: Promise<void> | null = null;

  constructor(private readonly pool: PoolContext) {}

  async reserve(builder: string): Promise<Reservation> {
    const max = this.pool.config.maxClaimsPerBuilder;
    let held = await this.current(builder);
    // The count only grows between recounts (completions are not subtracted): a refusal rests on a recent one.
    if (held.counted + held.reserved >= max && this.pool.now().getTime() - held.countedAt >= REFUSE_AFTER_COUNT_MS) {
      await this.recount();
      held = await this.current(builder);
    }
    if (held.counted + held.reserved >= max) throw tooManyClaims(builder, max);
    held.reserved += 1;
    const nearLimit = held.counted + held.reserved >= max - 1;
    let settled = false;
    const settle = (confirmed: boolean) => {
      if (settled) return;
      settled = true;
      held.reserved -= 1;
      if (confirmed) held.counted += 1;
    };
    return { confirm: () => settle(true), cancel: () => settle(false), nearLimit };
  }

  private async current(builder: string): Promise<Held> {
    let held = this.held.get(builder);
    if (!held) {
      held = { counted: 0, countedAt: -Infinity, reserved: 0 };
      this.held.set(builder, held);
    }
    if (held.countedAt === -Infinity) await this.recount();
    else if (this.pool.now().getTime() - held.countedAt >= RECOUNT_AFTER_MS) void this.recount().catch(() => undefined);
    return held;
  }

  /** Counts every builder's leases in one read: a count per builder was a scan of the leases per builder. */
  private recount(): Promise<void> {
    this.recounting ??= (async () => {
      const now = this.pool.now();
        const leases = await this.pool.models.Lease.find({ expiresAt: { $gte: now } }, { _id: 0, builder: 1 }).lean();
      const counts = new Map<string, number>();
      for (const { builder } of leases) counts.set(builder, (counts.get(builder) ?? 0) + 1);
      for (const [builder, held] of this.held) {
        held.counted = counts.get(builder) ?? 0;
        held.countedAt = now.getTime();
      }
    })().finally(() => {
      this.recounting = null;
    });
    return this.recounting;
  }
}
