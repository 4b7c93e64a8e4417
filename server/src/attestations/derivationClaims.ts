/** One builder's word that an output came from a derivation. */
export interface DerivationClaim {
  readonly drvPath: string;
  readonly output: string | null;
  readonly builder: string;
  readonly verified: boolean;
}

/** Bounds a summary's size against a builder that names a new derivation with every submission. */
export const MAX_CLAIMS = 64;

/**
 * The claims with one more folded in, or null when it adds nothing: one claim per builder and
 * derivation, in the order they became what they are (a claim that becomes verified moves to
 * the end, so an unsigned claim made early never wins a tie by it).
 */
export function withClaim(claims: readonly DerivationClaim[], claim: DerivationClaim): DerivationClaim[] | null {
  const existing = claims.find((candidate) => candidate.drvPath === claim.drvPath && candidate.builder === claim.builder);
  if (existing && (existing.verified || !claim.verified)) return null;
  if (existing) return [...claims.filter((candidate) => candidate !== existing), claim];
  return claims.length >= MAX_CLAIMS ? null : [...claims, claim];
}

/**
 * The derivation an output is shown under: the one named by the most builders with valid
 * signatures, the earliest named on a tie, so that no single builder, and surely no unsigned
 * submission, decides it by being first. Several derivations can rightly share an output
 * path (fixed-output derivations that fetch the same content), so each attestation keeps its own.
 */
export function chosenDerivation(claims: readonly DerivationClaim[]): { drvPath: string; output: string | null } | null {
  const verifiedCounts = new Map<string, number>();
  for (const claim of claims) verifiedCounts.set(claim.drvPath, (verifiedCounts.get(claim.drvPath) ?? 0) + (claim.verified ? 1 : 0));
  let best: DerivationClaim | null = null;
  for (const claim of claims) {
    if (best === null || (verifiedCounts.get(claim.drvPath) ?? 0) > (verifiedCounts.get(best.drvPath) ?? 0)) best = claim;
  }
  return best && { drvPath: best.drvPath, output: claims.find((claim) => claim.drvPath === best.drvPath && claim.output !== null)?.output ?? null };
}
