import { normaliseNarHash, parseStoreBaseName, parseStorePath, type AttestationSubmission, type Narinfo } from '@lilac/common';
import { postAttestations } from '../delivery/attestationClient.ts';
import { withBackoff, type BackoffPolicy } from './backoff.ts';
import type { DoneList } from './doneList.ts';
import { fetchNarinfoOnce } from './narinfoFetcher.ts';
import type { Progress, ProgressCounts } from './progress.ts';

export interface ImportOptions {
  /** Binary cache base URL, e.g. `https://cache.example.org`. */
  readonly cache: string;
  readonly server: string;
  readonly token: string;
  /** Submit the `Sig` made with this key; null: the first one. */
  readonly keyName: string | null;
  readonly concurrency: number;
  readonly backoff: BackoffPolicy;
  /** Per request. */
  readonly timeoutMs: number;
  readonly doneList: DoneList;
  readonly progress?: Progress;
}

export interface ImportSummary extends ProgressCounts {
  /** Out paths the cache does not have. */
  readonly missingPaths: string[];
  readonly failures: { outPath: string; reason: string }[];
}

type PathOutcome = { kind: 'imported' } | { kind: 'missing' } | { kind: 'failed'; reason: string };

/** The attestation a cache's narinfo amounts to; the cache's own signature travels unchanged. */
export function submissionFromNarinfo(narinfo: Narinfo, keyName: string | null): { drvHash: string; submission: AttestationSubmission } {
  const signature = keyName === null ? narinfo.sigs[0] : narinfo.sigs.find((sig) => sig.startsWith(`${keyName}:`));
  if (signature === undefined) {
    throw new Error(keyName === null ? 'narinfo has no signature' : `narinfo has no signature by key ${keyName}`);
  }
  if (narinfo.deriver === undefined) throw new Error('narinfo names no deriver, and the server files attestations by derivation');
  const deriver = parseStoreBaseName(narinfo.deriver);
  if (!deriver.isDerivation) throw new Error(`narinfo deriver is not a derivation: ${narinfo.deriver}`);
  const { digest, name } = parseStorePath(narinfo.storePath);
  return {
    drvHash: deriver.baseName.slice(0, -'.drv'.length),
    submission: {
      output_digest: digest,
      output_name: name,
      output_hash: normaliseNarHash(narinfo.narHash),
      output_sig: signature,
      ...(narinfo.narSize !== undefined && { nar_size: narinfo.narSize }),
      references: (narinfo.references ?? []).map((reference) => parseStoreBaseName(reference).path).sort(),
      source: 'cache-import',
    },
  };
}

async function importOne(outPath: string, options: ImportOptions): Promise<PathOutcome> {
  const lookup = await withBackoff(options.backoff, () => fetchNarinfoOnce(options.cache, outPath, options.timeoutMs));
  if (!lookup.done) return { kind: 'failed', reason: `cache: ${lookup.reason} (gave up after ${options.backoff.retries + 1} tries)` };
  if (lookup.value.kind !== 'found') return lookup.value;
  let attestation: ReturnType<typeof submissionFromNarinfo>;
  try {
    attestation = submissionFromNarinfo(lookup.value.narinfo, options.keyName);
  } catch (error) {
    return { kind: 'failed', reason: (error as Error).message };
  }
  const sent = await withBackoff<string | null>(options.backoff, async () => {
    const result = await postAttestations(options.server, options.token, attestation.drvHash, [attestation.submission], options.timeoutMs);
    if (result.kind === 'unavailable') return { done: false, reason: result.reason };
    return { done: true, value: result.kind === 'rejected' ? result.reason : null };
  });
  if (!sent.done) return { kind: 'failed', reason: `server: ${sent.reason} (gave up after ${options.backoff.retries + 1} tries)` };
  if (sent.value !== null) return { kind: 'failed', reason: `server refused: ${sent.value}` };
  options.doneList.add(outPath);
  return { kind: 'imported' };
}

/** Imports every out path's narinfo as an attestation, a bounded number at a time; paths already done are skipped. */
export async function importFromCache(outPaths: readonly string[], options: ImportOptions): Promise<ImportSummary> {
  const queue = [...new Set(outPaths)];
  const summary: ImportSummary = { imported: 0, skipped: 0, missing: 0, failed: 0, missingPaths: [], failures: [] };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < queue.length) {
      const outPath = queue[next++]!;
      if (options.doneList.has(outPath)) {
        summary.skipped += 1;
      } else {
        const outcome = await importOne(outPath, options);
        if (outcome.kind === 'imported') summary.imported += 1;
        else if (outcome.kind === 'missing') {
          summary.missing += 1;
          summary.missingPaths.push(outPath);
        } else {
          summary.failed += 1;
          summary.failures.push({ outPath, reason: outcome.reason });
        }
      }
      options.progress?.update(summary);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, queue.length)) }, worker));
  summary.missingPaths.sort();
  summary.failures.sort((a, b) => (a.outPath < b.outPath ? -1 : 1));
  return summary;
}
