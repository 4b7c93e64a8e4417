import type { mongo } from 'mongoose';
import { chosenDerivation, withClaim, type DerivationClaim } from '../../attestations/derivationClaims.ts';
import type { Migration } from './migration.ts';

/** Outputs recomputed per pass over the attestations: bounds what one pass holds in memory. */
const OUTPUTS_PER_PASS = 200_000;

interface StoredClaim {
  readonly claim: DerivationClaim;
  readonly at: number;
}

async function claimsOf(db: mongo.Db, outPaths: ReadonlySet<string>): Promise<Map<string, DerivationClaim[]>> {
  const named = new Map<string, StoredClaim[]>();
  const attestations = db
    .collection('attestations')
    .find({ drvPath: { $type: 'string' } }, { projection: { outPath: 1, drvPath: 1, output: 1, builder: 1, signatureStatus: 1, createdAt: 1 } });
  for await (const attestation of attestations) {
    const outPath = attestation.outPath as string;
    if (!outPaths.has(outPath)) continue;
    const claim = {
      drvPath: attestation.drvPath as string,
      output: (attestation.output as string | null | undefined) ?? null,
      builder: attestation.builder as string,
      verified: attestation.signatureStatus === 'valid',
    };
    const list = named.get(outPath) ?? [];
    list.push({ claim, at: (attestation.createdAt as Date | undefined)?.getTime() ?? 0 });
    named.set(outPath, list);
  }
  const folded = new Map<string, DerivationClaim[]>();
  for (const [outPath, list] of named) {
    let claims: DerivationClaim[] = [];
    for (const { claim } of list.sort((a, b) => a.at - b.at)) claims = withClaim(claims, claim) ?? claims;
    folded.set(outPath, claims);
  }
  return folded;
}

/**
 * Summaries written before `derivationClaims` were kept name the derivation
 * of whichever attestation came first, signed or not, and the next
 * attestation naming another derivation would replace it on the strength of
 * one builder. Their claims are rebuilt from the attestations, which keep the
 * derivation each builder named, and the derivation chosen as ingest chooses
 * it now; a divergence names the same derivation as its summary.
 */
export const derivationClaims: Migration = {
  version: 2,
  name: 'rebuild the derivation claims of summaries written before claims were kept',
  async up(db, log) {
    const summaries = db.collection<{ _id: string; outPath: string; drvPath?: string | null }>('output_summaries');
    let rebuilt = 0;
    for (;;) {
      const lacking = await summaries
        .find({ derivationClaims: { $exists: false } }, { projection: { outPath: 1, drvPath: 1 } })
        .limit(OUTPUTS_PER_PASS)
        .toArray();
      if (lacking.length === 0) break;
      const claims = await claimsOf(db, new Set(lacking.map((summary) => summary.outPath)));
      for (const summary of lacking) {
        const kept = claims.get(summary.outPath) ?? [];
        const chosen = chosenDerivation(kept);
        const changed = chosen !== null && chosen.drvPath !== summary.drvPath;
        await summaries.updateOne(
          { _id: summary._id },
          { $set: { derivationClaims: kept, ...(chosen && { drvPath: chosen.drvPath, output: chosen.output }) }, $inc: { revision: 1 } },
        );
        if (changed) await db.collection<{ _id: string }>('divergences').updateOne({ _id: summary.outPath }, { $set: { drvPath: chosen.drvPath } });
      }
      rebuilt += lacking.length;
    }
    if (rebuilt > 0) log.info({ summaries: rebuilt }, 'derivation claims rebuilt');
  },
};
