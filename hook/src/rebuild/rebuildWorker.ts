import {
  describeRebuildOutcome,
  type CancelNotice,
  type ClaimAck,
  type HeartbeatAck,
  type JobOutcomeAck,
  type JobView,
  type NamedKey,
  type PoolOutlook,
  type RebuilderErrorAck,
  type WorkerCapabilities,
} from '@lilac/common';
import { io, type Socket } from 'socket.io-client';
import type { HookConfig } from '../config.ts';
import { log } from '../log.ts';
import { runFollowUps } from '../listings/followUps.ts';
import { journalCopies } from '../listings/attestedJournal.ts';
import { uploadOutputFiles, type CopyOfOutput } from '../listings/uploads.ts';
import { deliverRebuild, rebuildAttestations } from './rebuildAttestations.ts';
import { rebuildDerivation, removeCheckCopies, runningBuilds, stopBuild, type CheckCopy, type RebuildResult } from './rebuildDerivation.ts';

export interface RebuildWorkerOptions {
  readonly server: string;
  readonly token: string;
  readonly secretKey: NamedKey;
  /** Announced in the handshake: the pool offers only jobs these systems and features build. */
  readonly capabilities: WorkerCapabilities;
  /** Where a rebuild whose claim was lost is delivered or spooled, as the post-build-hook does. */
  readonly delivery: HookConfig;
  /** Claims held at once. */
  readonly jobs: number;
  /** A rebuild running longer is stopped and reported `timed-out`; null: no limit. */
  readonly maxBuildSeconds: number | null;
  /** Wait before asking again when the pool had nothing for us. */
  readonly pollMs: number;
  /** Stop once nothing in the pool is for us, nor can come back to us, and nothing is in flight (scripts, tests). */
  readonly untilEmpty: boolean;
  /** Stops the worker: it releases what it holds, then resolves. */
  readonly signal: AbortSignal;
}

const ACK_TIMEOUT_MS = 30_000;

function isError(answer: unknown): answer is RebuilderErrorAck {
  return typeof answer === 'object' && answer !== null && 'error' in answer;
}

/** Why `--until-empty` may stop now, or null while jobs this builder may take can still come to it. */
function nothingLeft(outlook: PoolOutlook): string | null {
  if (outlook.claimable + outlook.lapsed > 0) return null;
  const others = [
    outlook.held > 0 && `${outlook.held} held by other workers`,
    outlook.backingOff > 0 && `${outlook.backingOff} waiting out a retry backoff`,
  ].filter(Boolean);
  return `the pool holds nothing this builder may take${others.length > 0 ? ` now (${others.join(', ')})` : ''}`;
}

/**
 * A `/rebuilders` worker: keeps up to `jobs` claims in flight, rebuilds each,
 * reports `complete` or `fail`, heartbeats while it holds anything, and
 * reconnects with exponential backoff (Socket.IO's own). A claim lost
 * meanwhile (disconnect, lapsed lease, server restart) went back to the pool:
 * its rebuild is then delivered as the post-build-hook delivers a build, or
 * spooled. Resolves with the exit code.
 */
export async function runRebuildWorker(options: RebuildWorkerOptions): Promise<number> {
  const socket: Socket = io(`${options.server}/rebuilders`, {
    auth: { token: options.token, systems: options.capabilities.systems, features: options.capabilities.features },
    transports: ['websocket'],
    reconnectionDelay: 1000,
    reconnectionDelayMax: 60_000,
  });
  const inFlight = new Map<string, Promise<void>>();
  /** Stops the build of a job in flight, by job id: the server sends `cancel` when a maintainer cancels it. */
  const cancels = new Map<string, { controller: AbortController; by: string | null }>();
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
  socket.on('disconnect', (reason) => {
    log(`rebuild: disconnected (${reason}); claims held go back to the pool`);
    // The server closed this connection on purpose (a revoked token): Socket.IO does not retry that by itself, the handshake says why.
    if (reason === 'io server disconnect' && !options.signal.aborted) socket.connect();
  });
  socket.on('connect_error', (error) => {
    // A refused token will not get better by retrying.
    if (/token/.test(error.message)) {
      fatal = error.message;
      nudge();
    } else {
      log(`rebuild: cannot connect to ${options.server}: ${error.message}; retrying`);
    }
  });
  socket.on('cancel', (notice: Partial<CancelNotice> | undefined) => {
    const running = typeof notice?.id === 'string' ? cancels.get(notice.id) : undefined;
    if (!running || running.controller.signal.aborted) return;
    running.by = typeof notice?.by === 'string' ? notice.by : 'the server';
    log(`rebuild: job ${notice!.id} was cancelled by ${running.by}; stopping its build`);
    running.controller.abort();
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
        .then((answer: HeartbeatAck | RebuilderErrorAck) => {
          if (isError(answer)) return log(`rebuild: heartbeat refused: ${answer.error}`);
          const lost = [...inFlight.keys()].filter((id) => !answer.jobs.includes(id));
          if (lost.length > 0) log(`rebuild: no longer holding ${lost.join(', ')}`);
        })
        .catch(() => undefined);
    }, every);
  };

  /** Sends `complete` or `fail` on the connection that claimed the job; the answer, or why there is none. */
  const report = async (job: JobView, claimedOn: string, event: 'complete' | 'fail', payload: unknown): Promise<JobOutcomeAck | string> => {
    // A connection that dropped since the claim gave the claim back: the server would refuse, so do not wait on it.
    if (!socket.connected || socket.id !== claimedOn) return 'the connection that claimed it is gone';
    try {
      const answer = (await socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, payload)) as JobOutcomeAck | RebuilderErrorAck;
      return isError(answer) ? `refused: ${answer.error}` : answer;
    } catch (error) {
      return `not acknowledged: ${(error as Error).message}`;
    }
  };

  /**
   * After attesting: the listings of both copies of each output that differs
   * (each under its own NAR hash) and diffoscope's output between them, then
   * the `.check` copies go. A listing of the registered copy is refused
   * unless this builder attested that hash too (built it, with the hook).
   */
  const uploadDifferences = async (copies: readonly CheckCopy[], wanted: readonly CopyOfOutput[]) => {
    try {
      for (const copy of options.signal.aborted ? [] : wanted) {
        await uploadOutputFiles(options.delivery, { outPath: copy.path, copies: [copy], diffoscope: false });
      }
      // A worker asked to stop does not start diffoscope runs of minutes.
      for (const copy of options.signal.aborted ? [] : copies) {
        const uploads = {
          outPath: copy.outPath,
          copies: [
            { path: copy.outPath, narHash: copy.registeredNarHash },
            { path: copy.path, narHash: copy.walked.narHash },
          ],
          diffoscope: true,
        };
        await uploadOutputFiles(options.delivery, uploads, new Map([[copy.path, copy.walked]]));
      }
      if (!options.signal.aborted) await runFollowUps(options.delivery);
    } catch (error) {
      log(`rebuild: uploading what differs failed: ${(error as Error).message}`);
    } finally {
      removeCheckCopies(copies);
    }
  };

  const settle = async (job: JobView, claimedOn: string) => {
    let result: RebuildResult;
    const cancel = { controller: new AbortController(), by: null as string | null };
    cancels.set(job.id, cancel);
    try {
      log(`rebuild: rebuilding ${job.drvPath} (${job.outPath})`);
      result = await rebuildDerivation(job, { maxBuildSeconds: options.maxBuildSeconds, cancel: cancel.controller.signal });
    } catch (error) {
      result = { ok: false, kind: 'failed', error: (error as Error).message };
    } finally {
      cancels.delete(job.id);
    }
    if (!result.ok && cancel.by !== null) {
      // The server already ended the job and dropped the lease: there is nothing to report to it.
      log(`rebuild: ${job.outPath}: ${describeRebuildOutcome({ kind: 'cancelled', log: '', by: cancel.by })}; build stopped`);
      return;
    }
    if (!result.ok) {
      // A build this worker stopped itself says nothing about the derivation; the release gives the job back.
      if (options.signal.aborted) return;
      const answer = await report(job, claimedOn, 'fail', { id: job.id, error: result.error, kind: result.kind });
      // The error is a command and then its log's tail; the tail's last line says why (Nix ends with `error: …`).
      const why = result.error.split('\n').filter((line) => line.trim() !== '').at(-1)?.trim() ?? 'no output';
      if (typeof answer === 'string') log(`rebuild: ${job.outPath}: ${result.kind} (${why}); not reported, ${answer}`);
      else log(`rebuild: ${job.outPath}: ${describeRebuildOutcome(answer.outcome)} (${why}); the job is now ${answer.state}`);
      return;
    }
    // The registered copies, each under the hash it was attested with (those that differ are `.check` copies, listed anyway).
    const registered = result.outputs.filter((info) => !result.checkCopies.some((copy) => copy.outPath === info.outPath)).map((info) => ({ path: info.outPath, narHash: info.narHash }));
    let wanted: CopyOfOutput[] = [];
    try {
      const attestations = rebuildAttestations(job, result.outputs, options.secretKey, result.builtAt);
      const answer = await report(job, claimedOn, 'complete', { id: job.id, attestations });
      if (typeof answer !== 'string') {
        log(`rebuild: ${job.outPath}: ${describeRebuildOutcome(answer.outcome)}; the job is now ${answer.state}`);
        // A listing wanted now is uploaded now; the others may be wanted once another hash arrives (the background sender asks).
        wanted = registered.filter((copy) => answer.listingWanted?.includes(copy.path) === true);
        journalCopies(options.delivery.spoolDir, registered.filter((copy) => !wanted.includes(copy)).map((copy) => ({ outPath: copy.path, narHash: copy.narHash })));
      } else {
        const delivered = await deliverRebuild(options.delivery, job, result.outputs, options.secretKey, result.builtAt);
        log(`rebuild: ${job.outPath}: rebuilt, but the job could not be completed (${answer}); attestations ${delivered} instead`);
      }
    } finally {
      await uploadDifferences(result.checkCopies, wanted);
    }
  };

  let stopReason: string | null = null;
  /** The last reason `--until-empty` kept waiting, so a long wait says it once. */
  let waitingFor: string | null = null;
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
      if (options.untilEmpty && inFlight.size === 0) {
        let outlook: PoolOutlook | RebuilderErrorAck;
        try {
          outlook = (await socket.timeout(ACK_TIMEOUT_MS).emitWithAck('outlook')) as PoolOutlook | RebuilderErrorAck;
        } catch {
          continue;
        }
        if (isError(outlook)) {
          log(`rebuild: outlook refused: ${outlook.error}`);
        } else {
          stopReason = nothingLeft(outlook);
          if (stopReason !== null) break;
          const reason = `${outlook.claimable} queued and ${outlook.lapsed} held by leases that ran out`;
          if (reason !== waitingFor) log(`rebuild: nothing claimable yet, but jobs this builder may take are coming back (${reason}); waiting`);
          waitingFor = reason;
        }
      }
      await pause(options.pollMs);
      continue;
    }
    const job = answer;
    const claimedOn = socket.id ?? '';
    keepLeases(job);
    inFlight.set(
      job.id,
      settle(job, claimedOn).finally(() => {
        inFlight.delete(job.id);
        nudge();
      }),
    );
  }

  if (options.signal.aborted) {
    for (const child of runningBuilds) stopBuild(child);
  }
  // Rebuilds that finished are reported (or delivered) before anything is released.
  await Promise.all(inFlight.values());
  if (heartbeat) clearInterval(heartbeat);
  if (options.signal.aborted && socket.connected) {
    const released = await socket.timeout(5000).emitWithAck('release').catch(() => null);
    log(`rebuild: released ${(released as { released?: number } | null)?.released ?? 'no'} claims`);
  }
  socket.disconnect();
  if (fatal !== null) {
    log(`rebuild: ${options.server} refused the connection: ${fatal}`);
    return 1;
  }
  log(`rebuild: stopping: ${options.signal.aborted ? 'asked to stop' : stopReason}`);
  return 0;
}
