import { gunzipSync, gzipSync } from 'node:zlib';
import { diffListings, ListingError, MAX_DIFF_DIFFERENCES, narSizeOfListing, normaliseNarHash, parseListingUpload, type FileDifference, type ListingEntry } from '@lilac/common';
import { jsonShapeProblem } from '../jsonShape.ts';

/**
 * The CPU-bound halves of storing and diffing listings, run off the event
 * loop (listingThread.ts): a listing of a million entries is a JSON text of
 * about 150 MB, seconds of parsing, checking and compressing.
 */

/** JSON values one listing entry takes at most: the object and its four members, and its place in the array. */
const VALUES_PER_ENTRY = 6;

/** A listing upload refused for its size rather than its content. */
export class ListingTooLargeError extends Error {
  override name = 'ListingTooLargeError';
}

/** A checked listing upload, its entries gzipped as they are stored. */
export interface EncodedListing {
  readonly narHash: string;
  readonly narSize: number;
  /** The size of the NAR the entries describe: a listing of the attested copy gives its `narSize`. */
  readonly describedNarSize: number;
  readonly entryCount: number;
  readonly compressed: Uint8Array;
}

/** Parses and checks an upload's JSON body; throws ListingError or ListingTooLargeError. */
export function encodeListingBody(body: Uint8Array, maxEntries: number): EncodedListing {
  const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const shape = jsonShapeProblem(text, { maxValues: (maxEntries + 1) * VALUES_PER_ENTRY + 16, maxDepth: 4 });
  if (shape !== null) throw new ListingTooLargeError(`${shape}: a listing holds at most ${maxEntries} entries`);
  let value: unknown;
  try {
    value = JSON.parse(text.toString('utf8'));
  } catch (error) {
    throw new ListingError(`the body is not JSON: ${(error as Error).message}`);
  }
  const entries = (value as { entries?: unknown } | null)?.entries;
  if (Array.isArray(entries) && entries.length > maxEntries) throw new ListingTooLargeError(`a listing holds at most ${maxEntries} entries, this one ${entries.length}`);
  const upload = parseListingUpload(value, maxEntries);
  return {
    narHash: normaliseNarHash(upload.narHash),
    narSize: upload.narSize,
    describedNarSize: narSizeOfListing(upload.entries),
    entryCount: upload.entries.length,
    compressed: gzipSync(JSON.stringify(upload.entries)),
  };
}

export function decodeListing(compressed: Uint8Array): ListingEntry[] {
  return JSON.parse(gunzipSync(compressed).toString('utf8')) as ListingEntry[];
}

/** What differs between two stored (gzipped) listings: at most MAX_DIFF_DIFFERENCES of them, and how many there are. */
export function diffEncodedListings(a: Uint8Array, b: Uint8Array): { differences: FileDifference[]; count: number } {
  const all = diffListings(decodeListing(a), decodeListing(b));
  return { differences: all.slice(0, MAX_DIFF_DIFFERENCES), count: all.length };
}
