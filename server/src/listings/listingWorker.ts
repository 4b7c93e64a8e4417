import { serveRequests } from '../workerThread.ts';
import { diffEncodedListings, encodeListingBody } from './listingCodec.ts';

/** The worker thread behind ListingThread. */
export type ListingRequest =
  | { readonly op: 'encode'; readonly body: Uint8Array; readonly maxEntries: number }
  | { readonly op: 'diff'; readonly a: Uint8Array; readonly b: Uint8Array };

serveRequests((request: ListingRequest) => (request.op === 'encode' ? encodeListingBody(request.body, request.maxEntries) : diffEncodedListings(request.a, request.b)));
