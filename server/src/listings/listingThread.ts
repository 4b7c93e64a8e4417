import { Worker } from 'node:worker_threads';
import { InvalidNarHashError, ListingError, type FileDifference } from '@lilac/common';
import { ListingTooLargeError, type EncodedListing } from './listingCodec.ts';
import type { ListingReply, ListingRequest } from './listingWorker.ts';

/** Errors that say what is wrong with a listing, rebuilt on this side of the thread for the HTTP edge to map. */
const DOMAIN_ERRORS: Record<string, new (message: string) => Error> = {
  ListingError,
  ListingTooLargeError,
  InvalidNarHashError,
};

type Request = ListingRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/**
 * Parses, checks, compresses and diffs listings on a worker thread, so that
 * a listing of a million entries never holds up the event loop (health
 * checks, the monitor, attestations) for the seconds that takes. One thread,
 * started on first use; requests queue on it. A thread that dies (out of
 * memory) fails what it held and is replaced on the next request.
 */
export class ListingThread {
  private worker: Worker | null = null;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();

  encode(body: Uint8Array, maxEntries: number): Promise<EncodedListing> {
    return this.run({ op: 'encode', body, maxEntries }) as Promise<EncodedListing>;
  }

  diff(a: Uint8Array, b: Uint8Array): Promise<{ differences: FileDifference[]; count: number }> {
    return this.run({ op: 'diff', a, b }) as Promise<{ differences: FileDifference[]; count: number }>;
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    this.rejectAll(new Error('the server is shutting down'));
    await worker?.terminate();
  }

  private rejectAll(error: Error): void {
    for (const waiting of this.pending.values()) waiting.reject(error);
    this.pending.clear();
  }

  private run(request: Request): Promise<unknown> {
    const worker = this.started();
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.ref();
      worker.postMessage({ ...request, id });
    });
  }

  private started(): Worker {
    if (this.worker !== null) return this.worker;
    // The server runs under tsx, whose loader Node 20 does not carry into workers: the worker registers it before loading its module.
    const entry = JSON.stringify(new URL('./listingWorker.ts', import.meta.url).href);
    const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
    const worker = new Worker(`import(${tsx}).then(({ register }) => { register(); return import(${entry}); })`, { eval: true });
    worker.unref();
    worker.on('message', (reply: ListingReply) => {
      const waiting = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (this.pending.size === 0) worker.unref();
      if (waiting === undefined) return;
      if ('result' in reply) waiting.resolve(reply.result);
      else waiting.reject(new (DOMAIN_ERRORS[reply.error.name] ?? Error)(reply.error.message));
    });
    const fail = (error: Error) => {
      // A thread already replaced (after its `error`, its `exit`) holds nothing any more.
      if (this.worker !== worker) return;
      this.worker = null;
      this.rejectAll(error);
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the listing thread stopped (exit code ${code})`)));
    this.worker = worker;
    return worker;
  }
}
