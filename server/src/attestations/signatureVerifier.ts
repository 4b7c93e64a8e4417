import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { matchSignatureKey, signatureCheckOf, type NamedKey, type SignatureCheck } from '@lilac/common';

/** What `signatureVerifierWorker.mjs` takes and answers. */
interface VerifyRequest {
  readonly id: number;
  readonly message: Uint8Array;
  readonly signature: Uint8Array;
  readonly publicKey: Uint8Array;
}

interface VerifyResponse {
  readonly id: number;
  readonly valid: boolean;
}

interface Pending {
  resolve(valid: boolean): void;
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

  constructor(size = availableParallelism()) {
    for (let index = 0; index < size; index++) this.spawn();
  }

  async verify(fingerprint: string, signature: string, keys: readonly NamedKey[]): Promise<SignatureCheck> {
    const match = matchSignatureKey(signature, keys);
    if (!match.found) return match.check;
    const valid = await this.verifyBytes({ message: new TextEncoder().encode(fingerprint), signature: match.signature, publicKey: match.key.bytes });
    return signatureCheckOf(match.key, valid);
  }

  private verifyBytes(request: Omit<VerifyRequest, 'id'>): Promise<boolean> {
    if (this.closed) return Promise.reject(new Error('signature verifier is closed'));
    const [first, ...others] = this.threads;
    if (!first) return Promise.reject(new Error(`no signature verifier thread could start: ${this.lastFailure?.message}`));
    const thread = others.reduce((least, candidate) => (candidate.pending.size < least.pending.size ? candidate : least), first);
    const id = this.nextId++;
    return new Promise<boolean>((resolve, reject) => {
      thread.pending.set(id, { resolve, reject });
      thread.worker.postMessage({ id, ...request } satisfies VerifyRequest);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.threads.map((thread) => thread.worker.terminate()));
  }

  private spawn(): void {
    // No `--import tsx` in the worker: the worker is plain JavaScript, and loader hooks in workers can hang the process at exit.
    const worker = new Worker(new URL('./signatureVerifierWorker.mjs', import.meta.url), { execArgv: [] });
    const thread: Thread = { worker, pending: new Map() };
    this.threads.push(thread);
    worker.unref();
    let answered = false;
    worker.on('message', ({ id, valid }: VerifyResponse) => {
      answered = true;
      thread.pending.get(id)?.resolve(valid);
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
