import type { HashGroup, RebuildOutcome } from '@lilac/common';

/**
 * What `builder`'s rebuild, which got `narHash`, shows against every other
 * builder whose signature verifies (the builders a verdict counts): the same
 * hash from all of them, another hash from some, or nobody to compare with.
 */
export function decideRebuildOutcome(builder: string, narHash: string, hashes: readonly Pick<HashGroup, 'narHash' | 'verifiedBuilders'>[]): Extract<RebuildOutcome, { narHash: string }> {
  const byOthers = hashes.filter((group) => group.verifiedBuilders.some((other) => other !== builder));
  const others = byOthers.map((group) => group.narHash).filter((hash) => hash !== narHash);
  if (others.length > 0) return { kind: 'differs', narHash, others };
  if (byOthers.length > 0) return { kind: 'reproduced', narHash };
  return { kind: 'unmatched', narHash };
}
