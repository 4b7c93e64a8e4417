import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';

const SLOTS = 4;
export const SLOT_BYTES = 1 << 20;
const FIRST = 1;
const LAST = 2;
const STOP = 4;
// Control words: per slot its state (0 free, 1 full), length and flags; then "stopped" (1 done, 2 failed).
const STATE = 0;
const LENGTH = SLOTS;
const FLAGS = 2 * SLOTS;
const STOPPED = 3 * SLOTS;
/** The walk waits on the worker in steps of this, checking it has not failed. */
const WAIT_STEP_MS = 1000;
/** A worker that takes no chunk for this long is taken as gone: the walk fails rather than hang. */
const STALL_MS = 5 * 60 * 1000;

/**
 * The worker: hashes each file's chunks from the ring, in order, and posts
 * the hex digests back in batches. Plain JavaScript evaluated as is, so the
 * bundle and the sources run the same code.
 */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { ring, control, port, slots, slotBytes } = workerData;
const words = new Int32Array(control);
let slot = 0;
let hash = null;
let digests = [];
try {
  for (;;) {
    Atomics.wait(words, ${STATE} + slot, 0);
    const flags = words[${FLAGS} + slot];
    if (flags & ${STOP}) break;
    if (flags & ${FIRST}) hash = createHash('sha256');
    hash.update(new Uint8Array(ring, slot * slotBytes, words[${LENGTH} + slot]));
    if (flags & ${LAST}) {
      digests.push(hash.digest('hex'));
      if (digests.length === 1024) { port.postMessage(digests); digests = []; }
    }
    Atomics.store(words, ${STATE} + slot, 0);
    Atomics.notify(words, ${STATE} + slot);
    slot = (slot + 1) % slots;
  }
  port.postMessage(digests);
  Atomics.store(words, ${STOPPED}, 1);
} catch {
  Atomics.store(words, ${STOPPED}, 2);
}
Atomics.notify(words, ${STOPPED});
`;

export class FileHasherError extends Error {
  override name = 'FileHasherError';
}

/**
 * SHA-256 of each file's contents on a second thread, fed from a ring of
 * shared 1 MiB slots that the NAR walk reads files into: the walk hashes a
 * chunk for the NAR while the worker hashes the previous one for the file,
 * so a listing costs little more time than the NAR hash alone where a core
 * is free. Synchronous on the walk's side (Atomics.wait), like the walk.
 */
export class ParallelFileHasher {
  private readonly ring = new SharedArrayBuffer(SLOTS * SLOT_BYTES);
  private readonly words = new Int32Array(new SharedArrayBuffer((3 * SLOTS + 1) * 4));
  private readonly channel = new MessageChannel();
  private readonly worker: Worker;
  private slot = 0;
  private flags = 0;
  private files = 0;
  private halted = false;

  constructor() {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { ring: this.ring, control: this.words.buffer, port: this.channel.port2, slots: SLOTS, slotBytes: SLOT_BYTES },
      transferList: [this.channel.port2],
    });
    this.worker.unref();
  }

  /**
   * Blocks while `words[index]` is `value`; throws if the worker failed or
   * stalled, since a walk must never hang on it.
   */
  private waitWhile(index: number, value: number): void {
    const deadline = Date.now() + STALL_MS;
    while (Atomics.wait(this.words, index, value, WAIT_STEP_MS) === 'timed-out') {
      if (index !== STOPPED && Atomics.load(this.words, STOPPED) !== 0) throw new FileHasherError('the file hashing thread stopped');
      if (Date.now() > deadline) throw new FileHasherError(`the file hashing thread made no progress for ${STALL_MS / 1000} s`);
    }
  }

  /** The next free slot, as a buffer to read at most SLOT_BYTES of a file into; waits while the worker is behind. */
  nextChunk(): Buffer {
    this.waitWhile(STATE + this.slot, 1);
    return Buffer.from(this.ring, this.slot * SLOT_BYTES, SLOT_BYTES);
  }

  startFile(): void {
    this.flags = FIRST;
    this.files += 1;
  }

  /** Hands the first `length` bytes of the slot `nextChunk` gave to the worker; `last` ends the file. */
  commit(length: number, last: boolean): void {
    this.words[LENGTH + this.slot] = length;
    this.words[FLAGS + this.slot] = this.flags | (last ? LAST : 0);
    this.flags = 0;
    Atomics.store(this.words, STATE + this.slot, 1);
    Atomics.notify(this.words, STATE + this.slot);
    this.slot = (this.slot + 1) % SLOTS;
  }

  /** Every file's digest, in the order the files were started; stops the worker. */
  finish(): string[] {
    this.halt();
    if (Atomics.load(this.words, STOPPED) !== 1) throw new FileHasherError('the file hashing thread failed');
    const digests: string[] = [];
    for (let message = receiveMessageOnPort(this.channel.port1); message !== undefined; message = receiveMessageOnPort(this.channel.port1)) {
      digests.push(...(message.message as string[]));
    }
    this.channel.port1.close();
    if (digests.length !== this.files) throw new Error(`the file hasher gave ${digests.length} digests for ${this.files} files`);
    return digests;
  }

  /** Stops the worker after a walk that failed half-way (whose error is the one worth telling). */
  abandon(): void {
    try {
      this.halt();
    } catch {
      // the worker is terminated all the same
    }
    this.channel.port1.close();
  }

  private halt(): void {
    if (this.halted) return;
    this.halted = true;
    try {
      this.waitWhile(STATE + this.slot, 1);
      this.words[FLAGS + this.slot] = STOP;
      Atomics.store(this.words, STATE + this.slot, 1);
      Atomics.notify(this.words, STATE + this.slot);
      this.waitWhile(STOPPED, 0);
    } finally {
      void this.worker.terminate();
    }
  }
}
