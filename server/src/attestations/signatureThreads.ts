import { availableParallelism } from 'node:os';
import type { NamedKey, SignatureCheck } from '@lilac/common';
import { WorkerThread } from '../workerThread.ts';
import type { SignedStatement } from './signatureCheck.ts';
import type { SignatureBatch } from './signatureWorker.ts';

/** Statements one thread checks in one message: a large batch is spread over every thread. */
const CHUNK = 250;

/** One core is the event loop's (and the store's, when it is embedded); the rest check signatures, up to four. */
export function defaultSignatureThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

/**
 * Checks signatures on worker threads. A check costs about 0.2 ms of CPU, the
 * largest single part of ingesting an attestation: on the event loop it made
 * the loop the bottleneck of ingest, while the store and other cores waited.
 * Each chunk goes to the thread with the least work queued.
 */
export class SignatureThreads {
  private readonly threads: WorkerThread<SignatureBatch>[];

  constructor(count = defaultSignatureThreads()) {
    this.threads = Array.from({ length: count }, () => new WorkerThread<SignatureBatch>(new URL('./signatureWorker.ts', import.meta.url), 'signature'));
  }

  async check(statements: readonly SignedStatement[], keys: readonly NamedKey[]): Promise<SignatureCheck[]> {
    const chunks: Promise<SignatureCheck[]>[] = [];
    for (let start = 0; start < statements.length; start += CHUNK) {
      const thread = this.threads.reduce((least, candidate) => (candidate.load < least.load ? candidate : least));
      // Only what the check reads crosses to the thread: an attestation's other fields would be copied for nothing.
      const chunk = statements.slice(start, start + CHUNK).map(({ outPath, narHash, narSize, references, signature }) => ({ outPath, narHash, narSize, references, signature }));
      chunks.push(thread.run({ statements: chunk, keys }) as Promise<SignatureCheck[]>);
    }
    return (await Promise.all(chunks)).flat();
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.map((thread) => thread.close()));
  }
}
