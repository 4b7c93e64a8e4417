import type { NamedKey, SignatureCheck } from '@lilac/common';
import { WorkerThread } from '../workerThread.ts';
import type { SignedStatement } from './signatureCheck.ts';
import type { BuilderStatements, SignatureBatch } from './signatureWorker.ts';

/** Statements one thread checks in one message: a large request is spread over every thread. */
const CHUNK = 250;

interface Waiting extends BuilderStatements {
  readonly resolve: (checks: SignatureCheck[]) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Checks signatures on worker threads. A check costs about 0.2 ms of CPU, the
 * largest single part of ingesting an attestation: on the event loop it made
 * the loop the bottleneck of ingest, while the store and the other cores
 * waited. A message to a thread costs the loop about 0.1 ms itself, so the
 * checks asked for in one turn of the event loop (lila's hook sends one
 * statement a request, and a busy server parses many requests a turn) go in
 * one message, to the thread with the least work queued.
 */
export class SignatureThreads {
  private readonly threads: WorkerThread<SignatureBatch>[];
  private readonly waiting: Waiting[] = [];

  constructor(count: number) {
    this.threads = Array.from({ length: count }, () => new WorkerThread<SignatureBatch>(new URL('./signatureWorker.ts', import.meta.url), 'signature'));
  }

  /**
   * Starts the threads: loading a thread's modules takes a moment (longer on a slow machine), which the
   * first attestations would otherwise wait for. A thread that fails to start is started again when used.
   */
  start(): void {
    for (const thread of this.threads) thread.run([]).catch(() => undefined);
  }

  async check(statements: readonly SignedStatement[], keys: readonly NamedKey[]): Promise<SignatureCheck[]> {
    const chunks: Promise<SignatureCheck[]>[] = [];
    for (let start = 0; start < statements.length; start += CHUNK) {
      // Only what the check reads crosses to the thread: an attestation's other fields would be copied for nothing.
      const chunk = statements.slice(start, start + CHUNK).map(({ outPath, narHash, narSize, references, signature }) => ({ outPath, narHash, narSize, references, signature }));
      chunks.push(new Promise((resolve, reject) => this.enqueue({ statements: chunk, keys, resolve, reject })));
    }
    return (await Promise.all(chunks)).flat();
  }

  /** Checks waiting for their turn are refused, and so is any later one. */
  async close(): Promise<void> {
    for (const waiting of this.waiting.splice(0)) waiting.reject(new Error('the server is shutting down'));
    await Promise.all(this.threads.map((thread) => thread.close()));
  }

  private enqueue(waiting: Waiting): void {
    if (this.waiting.push(waiting) === 1) setImmediate(() => this.send());
  }

  private send(): void {
    for (const batch of batchesOf(this.waiting.splice(0))) {
      const thread = this.threads.reduce((least, candidate) => (candidate.load < least.load ? candidate : least));
      (thread.run(batch.map(({ statements, keys }) => ({ statements, keys }))) as Promise<SignatureCheck[][]>).then(
        (checks) => batch.forEach((each, index) => each.resolve(checks[index] as SignatureCheck[])),
        (error: unknown) => batch.forEach((each) => each.reject(error)),
      );
    }
  }
}

/** Consecutive askers joined into messages of at most CHUNK statements (an asker's chunk is never split). */
function batchesOf(waiting: readonly Waiting[]): Waiting[][] {
  const batches: Waiting[][] = [];
  let current: Waiting[] = [];
  let size = 0;
  for (const each of waiting) {
    if (current.length > 0 && size + each.statements.length > CHUNK) {
      batches.push(current);
      [current, size] = [[], 0];
    }
    current.push(each);
    size += each.statements.length;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
