import type { ClaimAck, HeartbeatAck, JobOutcomeAck, JobView, NamedKey, RebuilderErrorAck } from '@lilac/common';
import { io, type Socket } from 'socket.io-client';
import { log } from '../log.ts';
import { rebuildDerivation, runningBuilds, type RebuildOutcome } from './rebuildDerivation.ts';

export interface RebuildWorkerOptions {
  readonly server: string;
  readonly token: string;
  readonly secretKey: NamedKey;
  /** Claims held at once. */
  readonly jobs: number;
  /** Wait before asking again when the pool had nothing for us. */
  readonly pollMs: number;
  /** Stop once the pool has nothing for us and nothing is in flight (scripts, tests). */
  readonly untilEmpty: boolean;
  /** Stops the worker: it releases what it holds, then resolves. */
  readonly signal: AbortSignal;
}

const ACK_TIMEOUT_MS = 30_000;

function isError(answer: unknown): answer is RebuilderErrorAck {
  return typeof answer === 'object' && answer !== null && 'error' in answer;
}

/**
 * A `/rebuilders` worker: keeps up to `jobs` claims in flight, rebuilds each,
 * reports `complete` or `fail`, heartbeats while it holds anything, and
 * reconnects with exponential backoff (Socket.IO's own). A claim lost while
 * disconnected went back to the pool; its result is then refused and dropped.
 * Resolves with the exit code.
 */
export async function runRebuildWorker(options: RebuildWorkerOptions): Promise<number> {
  const socket: Socket = io(`${options.server}/rebuilders`, {
    auth: { token: options.token },
    transports: ['websocket'],
    reconnectionDelay: 1000,
    reconnectionDelayMax: 60_000,
  });
  const inFlight = new Map<string, Promise<void>>();
  let heartbeat: NodeJS.Timeout | null = null;
  let fatal: string | null = null;
  let wake: (() => void) | null = null;
  const nudge = () => {
    wake?.();
    wake = null;
  };
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  socket.on('connect', () => {
    log(`rebuild: connected to ${options.server} as ${socket.id}`);
    nudge();
  });
  socket.on('disconnect', (reason) => log(`rebuild: disconnected (${reason}); claims held go back to the pool`));
  socket.on('connect_error', (error) => {
    // A refused token will not get better by retrying.
    if (/token/.test(error.message)) {
      fatal = error.message;
      nudge();
    } else {
      log(`rebuild: cannot connect to ${options.server}: ${error.message}; retrying`);
    }
  });
  options.signal.addEventListener('abort', nudge);

  const keepLeases = (job: JobView) => {
    if (heartbeat || !job.leaseExpiresAt) return;
    const every = Math.max(100, Math.floor((Date.parse(job.leaseExpiresAt) - Date.now()) / 3));
    heartbeat = setInterval(() => {
      if (inFlight.size === 0 || !socket.connected) return;
      socket
        .timeout(ACK_TIMEOUT_MS)
        .emitWithAck('heartbeat')
        .then((answer: HeartbeatAck) => {
          const lost = [...inFlight.keys()].filter((id) => !answer.jobs.includes(id));
          if (lost.length > 0) log(`rebuild: no longer holding ${lost.join(', ')}`);
        })
        .catch(() => undefined);
    }, every);
  };

  const settle = async (job: JobView) => {
    let outcome: RebuildOutcome;
    try {
      log(`rebuild: rebuilding ${job.drvPath} (${job.outPath})`);
      outcome = await rebuildDerivation(job, options.secretKey);
    } catch (error) {
      outcome = { ok: false, error: (error as Error).message };
    }
    if (options.signal.aborted) return;
    const [event, payload] = outcome.ok ? ['complete', { id: job.id, attestations: outcome.attestations }] : ['fail', { id: job.id, error: outcome.error }];
    try {
      const answer = (await socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, payload)) as JobOutcomeAck | RebuilderErrorAck;
      if (isError(answer)) log(`rebuild: ${event} of ${job.outPath} refused: ${answer.error}`);
      else log(`rebuild: ${job.outPath} ${outcome.ok ? 'rebuilt' : 'failed'}; the job is now ${answer.state}`);
    } catch (error) {
      log(`rebuild: ${event} of ${job.outPath} not acknowledged: ${(error as Error).message}`);
    }
  };

  while (!options.signal.aborted && fatal === null) {
    if (!socket.connected || inFlight.size >= options.jobs) {
      await pause(options.pollMs);
      continue;
    }
    let answer: ClaimAck;
    try {
      answer = (await socket.timeout(ACK_TIMEOUT_MS).emitWithAck('claim')) as ClaimAck;
    } catch {
      continue;
    }
    if (isError(answer)) {
      log(`rebuild: claim refused: ${answer.error}`);
      await pause(options.pollMs);
      continue;
    }
    if (answer === null) {
      if (options.untilEmpty && inFlight.size === 0) break;
      await pause(options.pollMs);
      continue;
    }
    const job = answer;
    keepLeases(job);
    inFlight.set(
      job.id,
      settle(job).finally(() => {
        inFlight.delete(job.id);
        nudge();
      }),
    );
  }

  if (heartbeat) clearInterval(heartbeat);
  if (options.signal.aborted) {
    for (const child of runningBuilds) child.kill('SIGTERM');
    if (socket.connected) {
      const released = await socket.timeout(5000).emitWithAck('release').catch(() => null);
      log(`rebuild: released ${(released as { released?: number } | null)?.released ?? 'no'} claims`);
    }
  } else {
    await Promise.all(inFlight.values());
  }
  socket.disconnect();
  if (fatal !== null) {
    log(`rebuild: ${options.server} refused the connection: ${fatal}`);
    return 1;
  }
  return 0;
}
