import { setTimeout as sleep } from 'node:timers/promises';

export interface BackoffPolicy {
  /** Attempts after the first; never endless. */
  readonly retries: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export type Attempt<T> = { readonly done: true; readonly value: T } | { readonly done: false; readonly reason: string };

/** Runs `attempt` until it is done or the retries run out, waiting base·2ⁿ (with jitter, capped) in between. */
export async function withBackoff<T>(policy: BackoffPolicy, attempt: () => Promise<Attempt<T>>): Promise<Attempt<T>> {
  let last: Attempt<T> = { done: false, reason: 'not tried' };
  for (let n = 0; n <= policy.retries; n++) {
    if (n > 0) {
      const delay = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (n - 1));
      await sleep(delay / 2 + Math.random() * (delay / 2));
    }
    last = await attempt();
    if (last.done) return last;
  }
  return last;
}
