import type { HashGroup } from '@lilac/common';
import type { Models } from '../store/models.ts';
import { attestationId } from './attestationModel.ts';
import { statementsOf } from './hashGroups.ts';

/**
 * Every attestation of one output, oldest first. Its summary names each
 * builder behind each hash, which gives the attestations' `_id`s: an indexed
 * read on every store rather than a search through all attestations.
 */
export async function attestationsOf(models: Models, outPath: string) {
  const summary = await models.OutputSummary.findOne({ outPath }, { hashes: 1 }).lean();
  if (!summary) return [];
  return models.Attestation.find({ _id: { $in: attestationIdsOf(outPath, summary.hashes) } }).sort({ createdAt: 1 }).lean();
}

/** The `_id`s of an output's attestations, from its summary's hash groups. */
export function attestationIdsOf(outPath: string, hashes: readonly HashGroup[]): string[] {
  return statementsOf(hashes).map(({ builder, narHash }) => attestationId(outPath, builder, narHash));
}
