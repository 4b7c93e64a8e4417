import { parentPort, Worker } from 'node:worker_threads';

type Reply = { readonly id: number; readonly result: unknown } | { readonly id: number; readonly error: { readonly name: string; readonly message: string } };

/** Errors a thread's work may throw that say what is wrong with the request, rebuilt on the caller's side for the edges to map. */
export type ErrorClasses = Readonly<Record<string, new (message: string) => Error>>;

/**
 * A worker thread running one of the server's modules, for work that would
 * hold up the event loop. Started on first use; requests queue on it and are
 * answered by id. It keeps the process alive only while it holds work. A
 * thread that dies (out of memory) fails what it held and is replaced on the
 * next request.
 */
export class WorkerThread<Request extends object> {
  private worker: Worker | null = null;
  private nextId = 0;
  private closed = false;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();

  /** `module` calls `serveRequests`; `name` says which thread stopped. */
  constructor(
    private readonly module: URL,
    private readonly name: string,
    private readonly errors: ErrorClasses = {},
  ) {}

  /** Requests sent and not yet answered. */
  get load(): number {
    return this.pending.size;
  }

  /** Rejects, never throws: a thread the system refuses (`new Worker` throws then) fails the request, not the caller. */
  run(request: Request): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.closed) throw new Error('the server is shutting down');
      const worker = this.started();
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject });
      try {
        worker.ref();
        worker.postMessage({ id, request });
      } catch (error) {
        this.pending.delete(id);
        if (this.pending.size === 0) worker.unref();
        throw error;
      }
    });
  }

  /** Fails what the thread holds and refuses what comes after. */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = null;
    this.rejectAll(new Error('the server is shutting down'));
    await worker?.terminate();
  }

  private rejectAll(error: Error): void {
    for (const waiting of this.pending.values()) waiting.reject(error);
    this.pending.clear();
  }

  private started(): Worker {
    if (this.worker !== null) return this.worker;
    // The server runs under tsx, whose loader Node 20 does not carry into workers: the worker registers it before loading its module.
    const entry = JSON.stringify(this.module.href);
    const tsx = JSON.stringify(import.meta.resolve('tsx/esm/api'));
    const worker = new Worker(`import(${tsx}).then(({ register }) => { register(); return import(${entry}); })`, { eval: true });
    worker.unref();
    worker.on('message', (reply: Reply) => {
      const waiting = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      if (this.pending.size === 0) worker.unref();
      if (waiting === undefined) return;
      if ('result' in reply) waiting.resolve(reply.result);
      else waiting.reject(new (this.errors[reply.error.name] ?? Error)(reply.error.message));
    });
    const fail = (error: Error) => {
      // A thread already replaced (after its `error`, its `exit`) holds nothing any more.
      if (this.worker !== worker) return;
      this.worker = null;
      this.rejectAll(error);
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the ${this.name} thread stopped (exit code ${code})`)));
    this.worker = worker;
    return worker;
  }
}

/** The thread's side of `WorkerThread`: answers each request with what `handle` returns, or the error it throws. */
export function serveRequests<Request>(handle: (request: Request) => unknown): void {
  parentPort?.on('message', ({ id, request }: { id: number; request: Request }) => {
    let reply: Reply;
    try {
      reply = { id, result: handle(request) };
    } catch (error) {
      reply = { id, error: { name: (error as Error).name, message: (error as Error).message } };
    }
    parentPort?.postMessage(reply);
  });
}
