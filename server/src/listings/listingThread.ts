import { InvalidNarHashError, ListingError, type FileDifference } from '@lilac/common';
import { WorkerThread } from '../workerThread.ts';
import { ListingTooLargeError, type EncodedListing } from './listingCodec.ts';
import type { ListingRequest } from './listingWorker.ts';

/**
 * Parses, checks, compresses and diffs listings on a worker thread, so that
 * a listing of a million entries never holds up the event loop (health
 * checks, the monitor, attestations) for the seconds that takes.
 */
export class ListingThread {
  private readonly thread = new WorkerThread<ListingRequest>(new URL('./listingWorker.ts', import.meta.url), 'listing', {
    ListingError,
    ListingTooLargeError,
    InvalidNarHashError,
  });

  encode(body: Uint8Array, maxEntries: number): Promise<EncodedListing> {
    return this.thread.run({ op: 'encode', body, maxEntries }) as Promise<EncodedListing>;
  }

  diff(a: Uint8Array, b: Uint8Array): Promise<{ differences: FileDifference[]; count: number }> {
    return this.thread.run({ op: 'diff', a, b }) as Promise<{ differences: FileDifference[]; count: number }>;
  }

  close(): Promise<void> {
    return this.thread.close();
  }
}
