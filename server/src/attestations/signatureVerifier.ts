import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { NamedKey, SignatureCheck } from '@lilac/common';

export interface VerifyRequest {
  readonly id: number;
  readonly fingerprint: string;
  readonly signature: string;
  readonly keys: readonly NamedKey[];
}

export interface VerifyResponse {
  readonly id: number;
  readonly check: SignatureCheck;
}

/**
 * The server runs as TypeScript through tsx, but Node starts a worker's entry
 * module before any `--import` hook of the worker applies, so the worker
 * registers tsx itself and then loads its TypeScript body.
 */
const WORKER_BOOTSTRAP = `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(new URL('./signatureVerifierWorker.ts', import.meta.url).href)}); })`;

interface Pending {
  resolve(check: SignatureCheck): void;
  reject(error: Error): void;
}

interface Thread {
  readonly worker: Worker;
  readonly pending: Map<number, Pending>;
}

/**
 * Checks ed25519 signatures with tweetnacl on worker threads. tweetnacl is
 * plain JavaScript: one check takes about 10 ms of CPU on a small machine,
 * which on the event loop would stall every request, socket and heartbeat
 * while a batch of attestations is verified, and would use one core only.
 */
export class SignatureVerifier {
  private threads: Thread[] = [];
  private nextId = 0;
  private closed = false;
  private lastFailure: Error | null = null;

  constructor(readonly size = availableParallelism()) {
    for (let index = 0; index < size; index++) this.spawn();
  }

  verify(fingerprint: string, signature: string, keys: readonly NamedKey[]): Promise<SignatureCheck> {
    if (this.closed) return Promise.reject(new Error('signature verifier is closed'));
    const [first, ...others] = this.threads;
    if (!first) return Promise.reject(new Error(`no signature verifier thread could start: ${this.lastFailure?.message}`));
    const thread = others.reduce((least, candidate) => (candidate.pending.size < least.pending.size ? candidate : least), first);
    const id = this.nextId++;
    return new Promise<SignatureCheck>((resolve, reject) => {
      thread.pending.set(id, { resolve, reject });
      thread.worker.postMessage({ id, fingerprint, signature, keys } satisfies VerifyRequest);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.threads.map((thread) => thread.worker.terminate()));
  }

  private spawn(): void {
    const worker = new Worker(WORKER_BOOTSTRAP, { eval: true });
    const thread: Thread = { worker, pending: new Map() };
    this.threads.push(thread);
    worker.unref();
    let answered = false;
    worker.on('message', ({ id, check }: VerifyResponse) => {
      answered = true;
      thread.pending.get(id)?.resolve(check);
      thread.pending.delete(id);
    });
    let ended = false;
    const end = (error: Error) => {
      if (ended) return;
      ended = true;
      this.lastFailure = error;
      this.threads = this.threads.filter((candidate) => candidate !== thread);
      for (const pending of thread.pending.values()) pending.reject(error);
      thread.pending.clear();
      // A thread that crashed after working is replaced; one that never answered would only fail again.
      if (!this.closed && answered) this.spawn();
    };
    worker.on('error', end);
    worker.on('exit', (code) => end(new Error(`signature verifier thread exited with code ${code}`)));
  }
}
