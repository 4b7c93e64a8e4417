import type { Models } from '../store/models.ts';
import { attestationId } from './attestationModel.ts';

/**
 * Every attestation of one output, oldest first. Its summary names each
 * builder behind each hash, which gives the attestations' `_id`s: an indexed
 * read on every store rather than a search through all attestations.
 */
export async function attestationsOf(models: Models, outPath: string) {
  const summary = await models.OutputSummary.findOne({ outPath }, { hashes: 1 }).lean();
  if (!summary) return [];
  const ids = summary.hashes.flatMap((group) =>
    [...group.verifiedBuilders, ...group.unverifiedBuilders].map((builder) => attestationId(outPath, builder, group.narHash)),
  );
  return models.Attestation.find({ _id: { $in: ids } }).sort({ createdAt: 1 }).lean();
}
