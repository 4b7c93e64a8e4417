import type { OutputSummaryView } from '@lilac/common';
import type { Models } from '../store/models.ts';
import { listingId } from './listingModel.ts';
import { storedListingIds } from './listingStore.ts';

/**
 * Of the statements an ingest round stored, those whose builder should
 * upload its copy's file listing (`listingId`s): their output has more than
 * one NAR hash now, and no listing of theirs is stored. Costs the round one
 * `_id: {$in}` read, and none while no output of the round diverges.
 */
export async function wantedListings(
  models: Models,
  records: readonly { outPath: string; narHash: string }[],
  summaries: ReadonlyMap<string, OutputSummaryView>,
): Promise<Set<string>> {
  const diverging = records.filter((record) => (summaries.get(record.outPath)?.hashes.length ?? 0) > 1);
  const stored = await storedListingIds(models, diverging);
  return new Set(diverging.map((record) => listingId(record.outPath, record.narHash)).filter((id) => !stored.has(id)));
}
