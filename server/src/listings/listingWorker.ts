import { parentPort } from 'node:worker_threads';
import { diffEncodedListings, encodeListingBody } from './listingCodec.ts';

/** The worker thread behind ListingThread: one request at a time, answered by id. */
export type ListingRequest =
  | { readonly id: number; readonly op: 'encode'; readonly body: Uint8Array; readonly maxEntries: number }
  | { readonly id: number; readonly op: 'diff'; readonly a: Uint8Array; readonly b: Uint8Array };

export type ListingReply = { readonly id: number; readonly result: unknown } | { readonly id: number; readonly error: { readonly name: string; readonly message: string } };

parentPort?.on('message', (request: ListingRequest) => {
  let reply: ListingReply;
  try {
    reply = { id: request.id, result: request.op === 'encode' ? encodeListingBody(request.body, request.maxEntries) : diffEncodedListings(request.a, request.b) };
  } catch (error) {
    reply = { id: request.id, error: { name: (error as Error).name, message: (error as Error).message } };
  }
  parentPort?.postMessage(reply);
});
