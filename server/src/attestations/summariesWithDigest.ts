import { STORE_DIR } from '@lilac/common';
import type { Models } from '../store/models.ts';

/**
 * The summaries of every output path with this digest (one, unless a builder
 * made up a second name for it), as a range of `_id`s: a summary's `_id` is its
 * output path, and `<digest>-` is followed by nothing but the name. Both stores
 * serve the range from the `_id` index (FerretDB by lilac's patch), so Nix
 * asking a narinfo by digest never waits for a scan, however full the store.
 */
export function summariesWithDigest(models: Models, digest: string) {
  return models.OutputSummary.find({ _id: { $gte: `${STORE_DIR}/${digest}-`, $lt: `${STORE_DIR}/${digest}.` } }, { outPath: 1, hashes: 1 }).lean();
}
