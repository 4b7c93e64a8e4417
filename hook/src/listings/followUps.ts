import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { AttestationResult, AttestationSubmission } from '@lilac/common';
import type { HookConfig } from '../config.ts';
import { pidIsAlive } from '../delivery/spool.ts';
import { log } from '../log.ts';
import { uploadOutputFiles, type OutputUploads } from './uploads.ts';
import { submissionOutPath } from '../attest/submission.ts';

/**
 * Uploads waiting for their turn, next to the spool (`<spool>/follow-ups/`):
 * a listing the server asked for, or what the diff hook leaves for the
 * background sender (which uploads after the attestation binding it is
 * delivered). Unlike attestations they are tried twice at most and then
 * dropped: the output's copies may be gone, and a listing is only a help.
 */
interface FollowUp extends OutputUploads {
  readonly tries: number;
}

const DIR = 'follow-ups';
const TAKEN_MARK = '.taken-';
const MAX_TRIES = 2;

function followUpDir(spoolDir: string): string {
  return path.join(spoolDir, DIR);
}

/** Keeps uploads for the next flush without a deadline (the background sender, `lilac flush`). */
export function saveFollowUp(spoolDir: string, uploads: OutputUploads, tries = 0): void {
  const dir = followUpDir(spoolDir);
  mkdirSync(path.join(dir, 'tmp'), { recursive: true, mode: 0o700 });
  const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}-${randomBytes(4).toString('hex')}.json`;
  const followUp: FollowUp = { outPath: uploads.outPath, copies: uploads.copies, diffoscope: uploads.diffoscope, tries };
  writeFileSync(path.join(dir, 'tmp', name), `${JSON.stringify(followUp)}\n`, { mode: 0o600 });
  renameSync(path.join(dir, 'tmp', name), path.join(dir, name));
}

/** Like saveFollowUp, but a follow-up that cannot be kept is only said: it must never stop an attestation. */
export function trySaveFollowUp(spoolDir: string, uploads: OutputUploads): boolean {
  try {
    saveFollowUp(spoolDir, uploads);
    return true;
  } catch (error) {
    log(`cannot keep the uploads for ${uploads.outPath} for later: ${(error as Error).message}`);
    return false;
  }
}

/**
 * The listings an attestation's answer asks for (`listingWanted`): each is of
 * the store's copy of the output, which must still hash to what was attested
 * (the diff hook attests a `.check` copy under the output's path: that one
 * it uploads itself). Never throws.
 */
export function saveWantedListings(spoolDir: string, submissions: readonly AttestationSubmission[], results: readonly AttestationResult[]): number {
  let saved = 0;
  for (const result of results) {
    if (result.listingWanted !== true) continue;
    const submission = submissions.find((candidate) => submissionOutPath(candidate) === result.outPath);
    if (submission === undefined) continue;
    if (trySaveFollowUp(spoolDir, { outPath: result.outPath, copies: [{ path: result.outPath, narHash: submission.output_hash }], diffoscope: false })) saved += 1;
  }
  return saved;
}

/** Takes one file for this process by renaming it; null when another process was first or it cannot be read. */
function take(dir: string, name: string): { file: string; followUp: FollowUp } | null {
  const file = path.join(dir, `${name}${TAKEN_MARK}${process.pid}`);
  try {
    renameSync(path.join(dir, name), file);
  } catch {
    return null;
  }
  try {
    return { file, followUp: JSON.parse(readFileSync(file, 'utf8')) as FollowUp };
  } catch (error) {
    log(`dropping unreadable follow-up ${name}: ${(error as Error).message}`);
    unlinkSync(file);
    return null;
  }
}

/**
 * Puts back the follow-ups whose sender died holding them (killed, the
 * machine rebooted), as the spool does with claims: the interrupted send
 * counts as a try, so one that kills its sender every time (a listing too
 * large for memory) is not retried for ever. Returns how many came back.
 */
export function reclaimAbandonedFollowUps(spoolDir: string): number {
  const dir = followUpDir(spoolDir);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  let reclaimed = 0;
  for (const name of names) {
    // The last mark: a reclaim killed in turn leaves `<name>.taken-<dead>.taken-<its pid>`.
    const mark = name.lastIndexOf(TAKEN_MARK);
    if (mark < 0) continue;
    const pid = Number(name.slice(mark + TAKEN_MARK.length));
    if (pid === process.pid || pidIsAlive(pid)) continue;
    const taken = take(dir, name);
    if (taken === null) continue;
    unlinkSync(taken.file);
    if (taken.followUp.tries + 1 < MAX_TRIES) {
      saveFollowUp(spoolDir, taken.followUp, taken.followUp.tries + 1);
      reclaimed += 1;
    }
  }
  return reclaimed;
}

/** Sends every saved follow-up once; one that may succeed later is kept for one more try. */
export async function runFollowUps(config: HookConfig): Promise<void> {
  reclaimAbandonedFollowUps(config.spoolDir);
  const dir = followUpDir(config.spoolDir);
  let names: string[];
  try {
    names = readdirSync(dir).filter((name) => name.endsWith('.json')).sort();
  } catch {
    return;
  }
  for (const name of names) {
    const taken = take(dir, name);
    if (taken === null) continue;
    const { file, followUp } = taken;
    let outcome: Awaited<ReturnType<typeof uploadOutputFiles>> = 'again';
    try {
      outcome = await uploadOutputFiles(config, followUp);
    } finally {
      unlinkSync(file);
      if (outcome === 'again' && followUp.tries + 1 < MAX_TRIES) saveFollowUp(config.spoolDir, followUp, followUp.tries + 1);
    }
  }
}
