import type { HashGroup } from '@lilac/common';

export interface BuilderStatement {
  readonly builder: string;
  readonly narHash: string;
  readonly verified: boolean;
}

/**
 * An output's hash groups with one more statement folded in, or null when it
 * changes nothing (a resubmission). A verified statement lifts the builder out
 * of that hash's unverified list; an unverified one never demotes a verified one.
 */
export function withStatement(hashes: readonly HashGroup[], statement: BuilderStatement): HashGroup[] | null {
  const { builder, narHash, verified } = statement;
  const existing = hashes.find((group) => group.narHash === narHash);
  if (existing?.verifiedBuilders.includes(builder)) return null;
  if (!verified && existing?.unverifiedBuilders.includes(builder)) return null;
  const updated: HashGroup = existing
    ? {
        narHash,
        verifiedBuilders: verified ? [...existing.verifiedBuilders, builder] : [...existing.verifiedBuilders],
        unverifiedBuilders: verified
          ? existing.unverifiedBuilders.filter((name) => name !== builder)
          : [...existing.unverifiedBuilders, builder],
      }
    : { narHash, verifiedBuilders: verified ? [builder] : [], unverifiedBuilders: verified ? [] : [builder] };
  return existing ? hashes.map((group) => (group === existing ? updated : group)) : [...hashes, updated];
}

export function verifiedBuildersOf(hashes: readonly HashGroup[]): string[] {
  return [...new Set(hashes.flatMap((group) => group.verifiedBuilders))].sort();
}

export function allBuildersOf(hashes: readonly HashGroup[]): string[] {
  return [...new Set(hashes.flatMap((group) => [...group.verifiedBuilders, ...group.unverifiedBuilders]))].sort();
}

/** One per builder and hash, as an output's attestations are (`attestationId`). */
export function statementsOf(hashes: readonly HashGroup[]): { builder: string; narHash: string }[] {
  return hashes.flatMap((group) => [...group.verifiedBuilders, ...group.unverifiedBuilders].map((builder) => ({ builder, narHash: group.narHash })));
}
