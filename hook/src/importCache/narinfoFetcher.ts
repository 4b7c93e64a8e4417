import { parseNarinfo, parseStorePath, type Narinfo } from '@lilac/common';
import type { Attempt } from './backoff.ts';
import { networkReason } from '../delivery/errorDetail.ts';

export type NarinfoLookup = { readonly kind: 'found'; readonly narinfo: Narinfo } | { readonly kind: 'missing' } | { readonly kind: 'failed'; readonly reason: string };

/**
 * One try at `<cache>/<digest>.narinfo`. 404/403 mean the cache does not
 * have it (S3-backed caches answer 403); 5xx, 429 and dropped connections are
 * worth another try; anything else is final.
 */
export async function fetchNarinfoOnce(cache: string, outPath: string, timeoutMs: number): Promise<Attempt<NarinfoLookup>> {
  const { digest } = parseStorePath(outPath);
  let response: Response;
  try {
    response = await fetch(`${cache}/${digest}.narinfo`, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    return { done: false, reason: networkReason(error) };
  }
  let body: string;
  try {
    body = await response.text();
  } catch (error) {
    return { done: false, reason: `connection dropped while reading: ${(error as Error).message}` };
  }
  if (response.status === 404 || response.status === 403) return { done: true, value: { kind: 'missing' } };
  if (response.status >= 500 || response.status === 429 || response.status === 408) {
    return { done: false, reason: `${response.status} from the cache` };
  }
  if (!response.ok) return { done: true, value: { kind: 'failed', reason: `${response.status} from the cache` } };
  try {
    const narinfo = parseNarinfo(body);
    if (narinfo.storePath !== outPath) {
      return { done: true, value: { kind: 'failed', reason: `narinfo is for ${narinfo.storePath}` } };
    }
    return { done: true, value: { kind: 'found', narinfo } };
  } catch (error) {
    return { done: true, value: { kind: 'failed', reason: `bad narinfo: ${(error as Error).message}` } };
  }
}
