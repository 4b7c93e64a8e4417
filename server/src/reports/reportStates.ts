import { VERDICTS, type Verdict } from '@lilac/common';
import type { Models } from '../store/models.ts';
import { withReportLock } from './reportLock.ts';

/** A verdict as stored in memory and in `report_states`: its index in VERDICTS. */
export type VerdictCode = number;

export const NO_BUILDS: VerdictCode = VERDICTS.indexOf('no-builds');
/** Summaries read per `$in` query: one indexed read each on both stores. */
const LOOKUP_BATCH = 5_000;
const LOOKUP_PARALLELISM = 2;
const CODE_BASE = '0'.charCodeAt(0);

export function codeOf(verdict: Verdict): VerdictCode {
  return VERDICTS.indexOf(verdict);
}

export function verdictOfCode(code: VerdictCode): Verdict {
  return VERDICTS[code] ?? 'no-builds';
}

function encode(codes: Uint8Array): string {
  const bytes = Buffer.allocUnsafe(codes.length);
  for (let index = 0; index < codes.length; index++) bytes[index] = CODE_BASE + (codes[index] as number);
  return bytes.toString('latin1');
}

/** Null when the stored state cannot be trusted for these paths: then it is rebuilt from the summaries. */
function decode(stored: { legend: string[]; verdicts: string }, paths: number): Uint8Array | null {
  if (stored.verdicts.length !== paths) return null;
  const translation = stored.legend.map((verdict) => VERDICTS.indexOf(verdict as Verdict));
  const codes = new Uint8Array(paths);
  const bytes = Buffer.from(stored.verdicts, 'latin1');
  for (let index = 0; index < paths; index++) {
    const code = translation[(bytes[index] as number) - CODE_BASE];
    if (code === undefined || code < 0) return null;
    codes[index] = code;
  }
  return codes;
}

/** The report version's stored verdicts, or null when there are none it can use. One read by `_id`. */
export async function readReportState(models: Models, version: string, paths: number): Promise<Uint8Array | null> {
  const stored = await models.ReportState.findById(version, { legend: 1, verdicts: 1 }).lean();
  return stored ? decode(stored, paths) : null;
}

/**
 * Stores a state built from the summaries, unless another process stored a
 * usable one first: answers the state stored now (`codes` itself when ours).
 * A version replaced or removed while its state was being built gets none:
 * its deletion took the same lock, so it cannot come back after it.
 */
export async function storeBuiltState(models: Models, report: string, version: string, codes: Uint8Array): Promise<Uint8Array> {
  return withReportLock(models, `state:${version}`, async () => {
    const existing = await readReportState(models, version, codes.length);
    if (existing) return existing;
    if (!(await models.Report.exists({ name: report, version }))) return codes;
    await models.ReportState.replaceOne({ _id: version }, { report, legend: [...VERDICTS], verdicts: encode(codes) }, { upsert: true });
    return codes;
  });
}

/** Call once `version` is no longer any report's: a build of its state that is under way then stores nothing. */
export async function deleteReportState(models: Models, version: string): Promise<void> {
  await withReportLock(models, `state:${version}`, () => models.ReportState.deleteOne({ _id: version }));
}

/** The verdict of each of `outPaths` that has a summary: a few large indexed `$in` reads, never one per path. */
export async function summaryVerdicts(models: Models, outPaths: readonly string[]): Promise<Map<string, VerdictCode>> {
  const verdicts = new Map<string, VerdictCode>();
  const batches: string[][] = [];
  for (let offset = 0; offset < outPaths.length; offset += LOOKUP_BATCH) batches.push(outPaths.slice(offset, offset + LOOKUP_BATCH));
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      const batch = batches[next++] as string[];
      const summaries = await models.OutputSummary.find({ outPath: { $in: batch } }, { _id: 0, outPath: 1, verdict: 1 }).lean();
      for (const summary of summaries) verdicts.set(summary.outPath, codeOf(summary.verdict as Verdict));
    }
  };
  await Promise.all(Array.from({ length: Math.min(LOOKUP_PARALLELISM, batches.length) }, worker));
  return verdicts;
}

/** Each of `outPaths`' verdict code as the summaries say now. */
export async function currentCodes(models: Models, outPaths: readonly string[]): Promise<Uint8Array> {
  const verdicts = await summaryVerdicts(models, outPaths);
  return Uint8Array.from(outPaths, (outPath) => verdicts.get(outPath) ?? NO_BUILDS);
}

/**
 * Sets the stored verdicts of the paths at `indexes` to what their summaries
 * say now, and answers the whole stored state (null when the version has
 * none: the report was replaced or removed). Writers of one state take turns
 * under a lock, and each reads the summaries inside it, so the last write
 * carries the latest summaries whichever process changed them: the verdicts
 * are one string changed in memory and written whole, so two unlocked
 * writers would each write back the other's paths as they were.
 */
export async function storeCurrentVerdicts(models: Models, version: string, outPaths: readonly string[], indexes: readonly number[]): Promise<Uint8Array | null> {
  return withReportLock(models, `state:${version}`, async () => {
    const codes = await readReportState(models, version, outPaths.length);
    if (!codes) return null;
    const verdicts = await summaryVerdicts(models, indexes.map((index) => outPaths[index] as string));
    for (const index of indexes) codes[index] = verdicts.get(outPaths[index] as string) ?? NO_BUILDS;
    await models.ReportState.updateOne({ _id: version }, { $set: { legend: [...VERDICTS], verdicts: encode(codes) } });
    return codes;
  });
}
