import { DEFAULT_MAX_LISTING_ENTRIES, type DiffoscopeUpload } from '@lilac/common';
import type { HookConfig } from '../config.ts';
import { log } from '../log.ts';
import { narDigestAndListingOfPath, type NarDigestWithListing } from '../nar/narHash.ts';
import { findDiffoscope, runDiffoscope } from './diffoscope.ts';
import { putDiffoscope, putListing, type UploadOutcome } from './uploadClient.ts';

/** A copy of an output on this machine (the registered one, or `<out>.check`) and the NAR hash it was attested with. */
export interface CopyOfOutput {
  readonly path: string;
  readonly narHash: string;
}

/** What to send about one output: the listing of each copy, and diffoscope's output between the first two. */
export interface OutputUploads {
  readonly outPath: string;
  readonly copies: readonly CopyOfOutput[];
  readonly diffoscope: boolean;
}

/** `again`: something could not be sent for a reason that may pass (server away, attestation not there yet). */
export type UploadsOutcome = 'done' | 'again';

/** Upload time bound: a listing of a large output takes longer than an attestation. */
const UPLOAD_TIMEOUT_FLOOR_MS = 60_000;

function uploadTimeout(config: HookConfig): number {
  return Math.max(config.timeoutMs, UPLOAD_TIMEOUT_FLOOR_MS);
}

/** Says how an upload went; true when trying again later may help. */
function reportUpload(what: string, outcome: UploadOutcome): boolean {
  if (outcome.kind === 'stored') {
    log(`${what} ${outcome.created ? 'sent' : 'was already on the server'}`);
    return false;
  }
  if (outcome.kind === 'unavailable') {
    log(`${what} not sent: ${outcome.reason}`);
    return true;
  }
  log(`${what} refused: ${outcome.reason}`);
  // 403 before the attestation that binds it has arrived (it is still being sent); any other refusal stands.
  return outcome.status === 403;
}

/**
 * The copy's NAR hash and listing from one walk; null (said in the log) when
 * it cannot be had, or the copy is no longer the one attested with that hash.
 */
function walkCopy(copy: CopyOfOutput, known: ReadonlyMap<string, NarDigestWithListing>): NarDigestWithListing | null {
  let walked = known.get(copy.path);
  if (walked === undefined) {
    try {
      walked = narDigestAndListingOfPath(copy.path);
    } catch (error) {
      log(`no listing of ${copy.path}: ${(error as Error).message}`);
      return null;
    }
  }
  if (walked.narHash !== copy.narHash) {
    log(`no listing for ${copy.narHash} from ${copy.path}: this store holds another build of it (${walked.narHash}); a builder holding that copy sends it`);
    return null;
  }
  if (walked.entries === null) {
    log(`no listing of ${copy.path}: ${walked.problem}`);
    return null;
  }
  // The server refuses larger listings: do not send hundreds of megabytes to hear it.
  if (walked.entries.length > DEFAULT_MAX_LISTING_ENTRIES) {
    log(`no listing of ${copy.path}: ${walked.entries.length} entries, more than the ${DEFAULT_MAX_LISTING_ENTRIES} a server takes by default`);
    return null;
  }
  return walked;
}

/**
 * Uploads the listing of each copy (each bound to its own NAR hash, checked
 * by hashing the copy again in the walk that lists it, unless `known` holds
 * that walk), then diffoscope's output between the first two copies when
 * asked and diffoscope is installed. Never throws: a listing is not an
 * attestation, and nothing fails for want of one.
 */
export async function uploadOutputFiles(config: HookConfig, uploads: OutputUploads, known: ReadonlyMap<string, NarDigestWithListing> = new Map()): Promise<UploadsOutcome> {
  const { server, token } = config;
  if (server === null || token === null) return 'again';
  let again = false;
  for (const copy of uploads.copies) {
    const walked = walkCopy(copy, known);
    if (walked === null) continue;
    const outcome = await putListing(server, token, uploads.outPath, { narHash: copy.narHash, narSize: walked.narSize, entries: walked.entries! }, uploadTimeout(config));
    again = reportUpload(`listing of ${copy.path} (${copy.narHash}, ${walked.entries!.length} entries)`, outcome) || again;
  }
  const [a, b] = uploads.copies;
  if (uploads.diffoscope && a !== undefined && b !== undefined) again = (await diffoscopeBetween(config, uploads.outPath, a, b)) || again;
  return again ? 'again' : 'done';
}

/** Runs diffoscope between the two copies and uploads each report; true when trying again later may help. */
async function diffoscopeBetween(config: HookConfig, outPath: string, a: CopyOfOutput, b: CopyOfOutput): Promise<boolean> {
  if (config.diffoscope.timeoutMs === 0) return false;
  const program = findDiffoscope();
  if (program === null) {
    log(`diffoscope is not installed (not on PATH): no diffoscope output for ${outPath}`);
    return false;
  }
  let again = false;
  try {
    const run = await runDiffoscope(program, a.path, b.path, config.diffoscope);
    if (run.timedOut) log(`diffoscope between ${a.path} and ${b.path} stopped after ${config.diffoscope.timeoutMs / 1000} s; sending what it printed`);
    for (const report of run.reports) {
      const upload: DiffoscopeUpload = {
        a: a.narHash,
        b: b.narHash,
        ...report,
        timedOut: run.timedOut,
        ...(run.version !== undefined && { diffoscopeVersion: run.version }),
      };
      const outcome = await putDiffoscope(config.server!, config.token!, outPath, upload, uploadTimeout(config));
      again = reportUpload(`diffoscope ${report.format} output for ${outPath} (${report.content.length} characters${report.truncated ? ', truncated' : ''})`, outcome) || again;
    }
  } catch (error) {
    log(`diffoscope between ${a.path} and ${b.path} failed: ${(error as Error).message}`);
  }
  return again;
}
