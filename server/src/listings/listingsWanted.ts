import type { ListingQuestion, ListingWish, ListingWishes, OutputSummaryView } from '@lilac/common';
import { attestationId } from '../attestations/attestationModel.ts';
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

/**
 * Whether this builder should upload the listings of copies it attested
 * earlier, asked by its background sender: an attestation's answer says
 * `listingWanted` only if the output diverged by then, and it often diverges
 * later, when another builder's hash arrives. Three `_id: {$in}` reads
 * whatever the batch (bounded by MAX_LISTING_QUESTIONS).
 */
export async function listingWishes(models: Models, builder: string, questions: readonly ListingQuestion[]): Promise<ListingWishes> {
  if (questions.length === 0) return { outputs: [] };
  const outPaths = [...new Set(questions.map((question) => question.outPath))];
  const [attested, summaries, stored] = await Promise.all([
    models.Attestation.collection
      .find({ _id: { $in: questions.map((question) => attestationId(question.outPath, builder, question.narHash)) } } as never, { projection: { _id: 1 } })
      .toArray(),
    models.OutputSummary.collection.find({ _id: { $in: outPaths } } as never, { projection: { hashes: 1 } }).toArray(),
    storedListingIds(models, questions),
  ]);
  const attestedIds = new Set(attested.map((document) => String(document._id)));
  const hashCounts = new Map(summaries.map((document) => [String(document._id), (document.hashes as unknown[] | undefined)?.length ?? 0]));
  const wishOf = ({ outPath, narHash }: ListingQuestion): ListingWish => {
    if (!attestedIds.has(attestationId(outPath, builder, narHash))) return 'not-attested';
    if (stored.has(listingId(outPath, narHash))) return 'stored';
    return (hashCounts.get(outPath) ?? 0) > 1 ? 'wanted' : 'single-hash';
  };
  return { outputs: questions.map((question) => ({ ...question, wish: wishOf(question) })) };
}
