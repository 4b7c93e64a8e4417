import type { Verdict } from '@lilac/common';

/** A distinct NAR hash and the builders whose valid signature backs it. */
export interface VerifiedHash {
  readonly narHash: string;
  readonly verifiedBuilders: readonly string[];
}

/**
 * The verdict table of docs/design.md, the one place it is decided. Only builders with a
 * valid signature count; a hash nobody verified is no evidence either way.
 */
export function decideVerdict(hashes: readonly VerifiedHash[]): Verdict {
  const counted = hashes.filter((hash) => hash.verifiedBuilders.length > 0);
  const builders = new Set(counted.flatMap((hash) => hash.verifiedBuilders));
  if (builders.size === 0) return 'no-builds';
  if (counted.length === 1) return builders.size === 1 ? 'one-build' : 'reproduced';
  // The table stops at one builder with one hash; a builder whose own `--check` rebuild differed is the plainest nondeterminism.
  if (builders.size === 1) return 'nondeterministic';
  const someAgree = counted.some((hash) => new Set(hash.verifiedBuilders).size >= 2);
  return someAgree ? 'partially-reproduced' : 'nondeterministic';
}

/** Distinct hashes with at least one valid signature: two or more is a divergence. */
export function verifiedHashCount(hashes: readonly VerifiedHash[]): number {
  return hashes.filter((hash) => hash.verifiedBuilders.length > 0).length;
}
