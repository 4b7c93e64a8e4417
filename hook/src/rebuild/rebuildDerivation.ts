import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import type { JobView, PathInfo, UnbuiltOutcomeKind } from '@lilac/common';
import { narDigestAndListingOfPath, type NarDigestWithListing } from '../nar/narHash.ts';
import { outputsOfDerivation, queryPathInfo } from '../store/pathInfo.ts';

/** How much of a failed build's log goes back to the server. */
const LOG_TAIL_BYTES = 8 * 1024;

/** A rebuilt copy that differs from the registered output, kept at `<out>.check` until `removeCheckCopies`. */
export interface CheckCopy {
  readonly outPath: string;
  /** The registered output's NAR hash. */
  readonly registeredNarHash: string;
  readonly path: string;
  /** The copy's NAR hash, size and listing, from one walk. */
  readonly walked: NarDigestWithListing;
}

/** Every output of the derivation as the rebuild produced it (and the copies that differ), or how it ended without and why. */
export type RebuildResult = { ok: true; outputs: PathInfo[]; builtAt: string; checkCopies: CheckCopy[] } | { ok: false; kind: UnbuiltOutcomeKind; error: string };

/** The Nix processes a worker runs right now, so a shutdown can stop them. */
export const runningBuilds = new Set<ChildProcess>();

/** How long `nix-store` gets to stop its builders after SIGTERM before its process group is killed outright. */
const STOP_GRACE_MS = 10_000;

/**
 * Stops a `nix-store` run and everything in its process group. SIGTERM
 * first: Nix then kills each builder's own process group (a builder runs in
 * a session of its own, out of reach of a signal to this group) and releases
 * its locks. What is still there after the grace is killed.
 */
export function stopBuild(child: ChildProcess): void {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const group = (signal: NodeJS.Signals) => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, signal);
    } catch {
      // The group is gone already.
    }
  };
  group('SIGTERM');
  const kill = setTimeout(() => group('SIGKILL'), STOP_GRACE_MS);
  kill.unref();
  child.once('close', () => clearTimeout(kill));
}

function tail(text: string): string {
  return text.length > LOG_TAIL_BYTES ? `…${text.slice(-LOG_TAIL_BYTES)}` : text;
}

/**
 * Runs `nix-store` in a process group of its own and keeps the tail of what
 * it printed (Nix writes build logs to stderr); `stop` aborted stops it.
 */
function nixStore(args: readonly string[], stop: AbortSignal): Promise<{ code: number; log: string; stopped: boolean }> {
  if (stop.aborted) return Promise.resolve({ code: 1, log: '', stopped: true });
  return new Promise((resolve, reject) => {
    const child = spawn('nix-store', args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    runningBuilds.add(child);
    const onStop = () => stopBuild(child);
    stop.addEventListener('abort', onStop, { once: true });
    let log = '';
    const collect = (chunk: Buffer) => {
      log = tail(log + chunk.toString('utf8'));
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', (error) => {
      runningBuilds.delete(child);
      stop.removeEventListener('abort', onStop);
      reject(error);
    });
    child.on('close', (code, signal) => {
      runningBuilds.delete(child);
      stop.removeEventListener('abort', onStop);
      resolve({ code: code ?? (signal ? 128 : 1), log, stopped: stop.aborted });
    });
  });
}

/**
 * Realises the derivation (building or substituting it), then builds it again
 * with `--check`, the rebuild Nix 2.8 offers: a check that reproduces leaves
 * the registered output, whose hash is then the rebuilt one; a check that
 * differs leaves the rebuilt copy at `<out>.check` (`--keep-failed`), hashed
 * and listed here in one walk, and kept for its uploads. The rebuilt copy has its self-references rewritten to the output
 * path, so the registered references describe it too.
 */
export async function rebuildDerivation(job: JobView, limits: RebuildLimits): Promise<RebuildResult> {
  const deadline = new AbortController();
  const { maxBuildSeconds, cancel } = limits;
  const timer = maxBuildSeconds === null ? null : setTimeout(() => deadline.abort(), maxBuildSeconds * 1000);
  const unbuilt = (command: string, run: { log: string; stopped: boolean }): RebuildResult => {
    if (run.stopped && cancel.aborted) return { ok: false, kind: 'cancelled', error: `${command} was stopped by a cancel:\n${run.log}` };
    if (run.stopped) return { ok: false, kind: 'timed-out', error: `${command} stopped after ${maxBuildSeconds} s (--max-build-seconds):\n${run.log}` };
    return { ok: false, kind: 'failed', error: `${command} failed:\n${run.log}` };
  };
  try {
    return await realiseAndCheck(job, AbortSignal.any([deadline.signal, cancel]), unbuilt);
  } finally {
    if (timer) clearTimeout(timer);
  }
}

/** What stops a rebuild before it ends: its worker's `--max-build-seconds`, and a cancel. */
export interface RebuildLimits {
  readonly maxBuildSeconds: number | null;
  readonly cancel: AbortSignal;
}

/** Both builds share one deadline: the limit is on the whole rebuild of a job. */
async function realiseAndCheck(job: JobView, stop: AbortSignal, unbuilt: (command: string, run: { log: string; stopped: boolean }) => RebuildResult): Promise<RebuildResult> {
  const realised = await nixStore(['--realise', job.drvPath], stop);
  if (realised.code !== 0 || realised.stopped) return unbuilt(`nix-store --realise ${job.drvPath}`, realised);
  const outPaths = await outputsOfDerivation(job.drvPath);
  const earlierCopies = outPaths.map((outPath) => ({ path: `${outPath}.check` }));
  removeCheckCopies(earlierCopies);
  const checked = await nixStore(['--realise', '--check', '--keep-failed', job.drvPath], stop);
  if (checked.stopped) {
    // A check stopped midway may leave a partial copy.
    removeCheckCopies(earlierCopies);
    return unbuilt(`nix-store --realise --check ${job.drvPath}`, checked);
  }
  const builtAt = new Date().toISOString();
  const registered = await queryPathInfo(outPaths);
  const differing = registered.filter((info) => existsSync(`${info.outPath}.check`));
  if (checked.code !== 0 && differing.length === 0) return unbuilt(`nix-store --realise --check ${job.drvPath}`, checked);
  let checkCopies: CheckCopy[];
  try {
    checkCopies = differing.map((info) => {
      const copy = `${info.outPath}.check`;
      return { outPath: info.outPath, registeredNarHash: info.narHash, path: copy, walked: narDigestAndListingOfPath(copy) };
    });
  } catch (error) {
    removeCheckCopies(differing.map((info) => ({ path: `${info.outPath}.check` })));
    throw error;
  }
  const outputs = registered.map((info) => {
    const copy = checkCopies.find((candidate) => candidate.outPath === info.outPath);
    return copy === undefined ? info : { ...info, narHash: copy.walked.narHash, narSize: copy.walked.narSize };
  });
  return { ok: true, outputs, builtAt, checkCopies };
}

export function removeCheckCopies(copies: readonly { path: string }[]): void {
  for (const copy of copies) rmSync(copy.path, { recursive: true, force: true });
}
