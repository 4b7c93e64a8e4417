import { VERDICTS, type Verdict } from '@lilac/common/wire';

/** Each verdict's share of `total` in percent, rounded to two decimals as the server's reports are. */
export function percentagesOf(counts: Record<Verdict, number>, total: number): Record<Verdict, number> {
  return Object.fromEntries(VERDICTS.map((verdict) => [verdict, total === 0 ? 0 : Math.round((counts[verdict] / total) * 10_000) / 100])) as Record<Verdict, number>;
}
