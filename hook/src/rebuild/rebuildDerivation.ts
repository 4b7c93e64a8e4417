import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import type { JobView, PathInfo } from '@lilac/common';
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

/** Every output of the derivation as the rebuild produced it (and the copies that differ), or why it did not. */
export type RebuildResult = { ok: true; outputs: PathInfo[]; builtAt: string; checkCopies: CheckCopy[] } | { ok: false; error: string };

/** The Nix processes a worker runs right now, so a shutdown can stop them. */
export const runningBuilds = new Set<ChildProcess>();

/** How long Nix gets to stop its builder after SIGTERM before its whole process group is killed. */
const STOP_GRACE_MS = 10_000;

/**
 * Stops a `nix-store` this worker started and everything in its process
 * group. SIGTERM first: Nix then kills its builder, which runs in a session
 * of its own that a signal to our group would not reach; SIGKILL if Nix has
 * not ended after a grace.
 */
export function stopBuild(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // Gone already.
    }
  };
  signalGroup('SIGTERM');
  const kill = setTimeout(() => signalGroup('SIGKILL'), STOP_GRACE_MS);
  kill.unref();
  child.once('close', () => clearTimeout(kill));
}

function tail(text: string): string {
  return text.length > LOG_TAIL_BYTES ? `…${text.slice(-LOG_TAIL_BYTES)}` : text;
}

/**
 * Runs `nix-store` in a process group of its own, so that `stop` ends it and
 * what it started, and keeps the tail of what it printed; Nix writes build logs to stderr.
 */
function nixStore(args: readonly string[], stop: AbortSignal): Promise<{ code: number; log: string }> {
  return new Promise((resolve, reject) => {
    if (stop.aborted) return resolve({ code: 130, log: 'stopped before it started' });
    const child = spawn('nix-store', args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    runningBuilds.add(child);
    const onStop = () => stopBuild(child);
    stop.addEventListener('abort', onStop, { once: true });
    child.once('close', () => stop.removeEventListener('abort', onStop));
    let log = '';
    const collect = (chunk: Buffer) => {
      log = tail(log + chunk.toString('utf8'));
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', (error) => {
      runningBuilds.delete(child);
      reject(error);
    });
    child.on('close', (code, signal) => {
      runningBuilds.delete(child);
      resolve({ code: code ?? (signal ? 128 : 1), log });
    });
  });
}

/**
 * Realises the derivation (building or substituting it), then builds it again
 * with `--check`, the rebuild Nix 2.8 offers: a check that reproduces leaves
 * the registered output, whose hash is then the rebuilt one; a check that
 * differs leaves the rebuilt copy at `<out>.check` (`--keep-failed`), hashed
 * and listed here in one walk, and kept for its uploads. The rebuilt copy has its self-references rewritten to the output
 * path, so the registered references describe it too. `stop` (a cancel)
 * ends the build under way and the rebuild with it.
 */
export async function rebuildDerivation(job: JobView, stop: AbortSignal): Promise<RebuildResult> {
  const realised = await nixStore(['--realise', job.drvPath], stop);
  if (realised.code !== 0) return { ok: false, error: `nix-store --realise ${job.drvPath} failed:\n${realised.log}` };
  const outPaths = await outputsOfDerivation(job.drvPath);
  for (const outPath of outPaths) rmSync(`${outPath}.check`, { recursive: true, force: true });
  const checked = await nixStore(['--realise', '--check', '--keep-failed', job.drvPath], stop);
  if (stop.aborted) {
    removeCheckCopies(outPaths.map((outPath) => ({ path: `${outPath}.check` })));
    return { ok: false, error: `nix-store --realise --check ${job.drvPath} was stopped` };
  }
  const builtAt = new Date().toISOString();
  const registered = await queryPathInfo(outPaths);
  const differing = registered.filter((info) => existsSync(`${info.outPath}.check`));
  if (checked.code !== 0 && differing.length === 0) {
    return { ok: false, error: `nix-store --realise --check ${job.drvPath} failed:\n${checked.log}` };
  }
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
