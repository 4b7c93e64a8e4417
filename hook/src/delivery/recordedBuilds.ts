import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { drvHashOf, parseDerivationPath, parseStorePath } from '@lilac/common';
import { builtOutputSubmissions } from '../attest/builtOutputs.ts';
import type { HookConfig } from '../config.ts';
import { log } from '../log.ts';
import { outputsOfDerivation } from '../store/pathInfo.ts';
import { Spool } from './spool.ts';

/**
 * What `bin/lilac-post-build-hook-wrapper` writes before Nix goes on: Nix's
 * post-build-hook environment as Nix set it, and the time the build ended.
 * The wrapper is a shell script (Node alone takes longer to start than Nix
 * should wait), so a record holds no more than it can know.
 */
export interface RecordedBuild {
  readonly DRV_PATH: string;
  /** Space separated; empty on Nix 2.8. */
  readonly OUT_PATHS: string;
  /** ISO 8601, from `date`. */
  readonly builtAt: string;
}

/** Where the wrapper puts its records, inside the spool directory: `<spool>/built/`, one file per build. */
export const RECORDED_BUILDS_DIR = 'built';

/** The records, claimed and released as spooled submissions are (see Spool). */
export function recordedBuilds(spoolDir: string): Spool<RecordedBuild> {
  return new Spool<RecordedBuild>(path.join(spoolDir, RECORDED_BUILDS_DIR));
}

export interface AttestResult {
  /** Records turned into spooled attestations. */
  attested: number;
  /** Records whose outputs were all garbage-collected first, dropped. */
  gone: number;
  /** Records that could not be attested this time and wait for the next flush. */
  left: number;
}

/**
 * Turns the builds the wrapper recorded into attestations (NAR hash, size
 * and references from the Nix database, signed when there is a key) and
 * spools them, to be sent as everything spooled is. A record is removed only
 * once its attestations are in the spool; one that cannot be attested now
 * (Nix failed) goes back for the next flush; outputs garbage-collected before
 * this ran cannot be attested and are named in the log and dropped.
 */
export async function attestRecordedBuilds(config: HookConfig): Promise<AttestResult> {
  const records = recordedBuilds(config.spoolDir);
  const spool = new Spool(config.spoolDir);
  const result: AttestResult = { attested: 0, gone: 0, left: 0 };
  for (const name of records.pending()) {
    const claimed = records.claim(name);
    if (claimed === null) continue;
    const record = claimed.entry;
    let drvPath: string;
    let given: string[];
    try {
      drvPath = parseDerivationPath(String(record.DRV_PATH)).path;
      given = String(record.OUT_PATHS ?? '').split(/\s+/).filter((outPath) => outPath !== '').map((outPath) => parseStorePath(outPath).path);
    } catch (error) {
      records.reject(claimed, `not a build Nix recorded: ${(error as Error).message}`);
      log(`${path.join(records.dir, name)} is not a build Nix recorded (${(error as Error).message}); moved to ${records.rejectedDir}`);
      continue;
    }
    const builtAt = buildTime(record.builtAt, path.join(records.dir, claimed.file));
    try {
      if (given.length === 0 && !existsSync(drvPath)) {
        log(`${drvPath} was garbage-collected before its outputs were attested (Nix left OUT_PATHS empty): nothing to attest, record dropped`);
        records.done(claimed);
        result.gone += 1;
        continue;
      }
      const outPaths = given.length > 0 ? given : await outputsOfDerivation(drvPath);
      const present = outPaths.filter((outPath) => existsSync(outPath));
      for (const outPath of outPaths) if (!present.includes(outPath)) log(`${outPath} (built by ${drvPath}) was garbage-collected before it was attested: dropped`);
      if (present.length > 0) {
        const submissions = await builtOutputSubmissions(present, config.secretKey, builtAt);
        spool.add({ drvHash: drvHashOf(drvPath), submissions, spooledAt: new Date().toISOString(), reason: waitingFor(config) });
      }
      records.done(claimed);
      if (present.length > 0) result.attested += 1;
      else result.gone += 1;
    } catch (error) {
      records.release(claimed);
      log(`could not attest the build of ${drvPath} yet (${(error as Error).message}); it stays in ${records.dir} for the next flush`);
      result.left += 1;
    }
  }
  return result;
}

/** The recorded time; a record from a `date` that cannot print milliseconds falls back to when it was written. */
function buildTime(recorded: unknown, file: string): Date {
  const time = new Date(String(recorded));
  return Number.isNaN(time.getTime()) ? statSync(file).mtime : time;
}

function waitingFor(config: HookConfig): string {
  if (config.server === null || config.token === null) return 'no server or token configured';
  return config.secretKey === null ? 'no secret key to sign with' : 'recorded by the post-build-hook';
}
