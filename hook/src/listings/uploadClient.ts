import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { parseStorePath, type DiffoscopeUpload, type ListingUpload } from '@lilac/common';
import { detailOf, networkReason } from '../delivery/errorDetail.ts';

const gzipped = promisify(gzip);

export type UploadOutcome =
  /** `created`: the server had none; false: it had this one already. */
  | { readonly kind: 'stored'; readonly created: boolean }
  /** The server will not take it (4xx), e.g. 403: this builder did not attest that hash (yet). */
  | { readonly kind: 'refused'; readonly status: number; readonly reason: string }
  /** Unreachable, too slow, or 5xx. */
  | { readonly kind: 'unavailable'; readonly reason: string };

/** PUTs JSON gzipped: a listing of a large output compresses well (paths and hex digests). */
async function putGzippedJson(url: string, token: string, body: unknown, timeoutMs: number): Promise<UploadOutcome> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: await gzipped(JSON.stringify(body)),
      signal: AbortSignal.timeout(Math.max(1, timeoutMs)),
    });
  } catch (error) {
    return { kind: 'unavailable', reason: networkReason(error) };
  }
  const text = await response.text().catch(() => '');
  if (response.ok) return { kind: 'stored', created: response.status === 201 };
  const reason = `${response.status} ${detailOf(text)}`;
  if (response.status >= 500 || response.status === 408 || response.status === 429) return { kind: 'unavailable', reason };
  return { kind: 'refused', status: response.status, reason };
}

function outputUrl(server: string, outPath: string, what: 'listing' | 'diffoscope'): string {
  const { digest, name } = parseStorePath(outPath);
  return `${server}/api/v1/outputs/${encodeURIComponent(`${digest}-${name}`)}/${what}`;
}

/** `PUT /api/v1/outputs/{digest-name}/listing`: the listing of this builder's copy with that NAR hash. */
export function putListing(server: string, token: string, outPath: string, upload: ListingUpload, timeoutMs: number): Promise<UploadOutcome> {
  return putGzippedJson(outputUrl(server, outPath, 'listing'), token, upload, timeoutMs);
}

/** `PUT /api/v1/outputs/{digest-name}/diffoscope`: diffoscope's output between two copies this builder holds. */
export function putDiffoscope(server: string, token: string, outPath: string, upload: DiffoscopeUpload, timeoutMs: number): Promise<UploadOutcome> {
  return putGzippedJson(outputUrl(server, outPath, 'diffoscope'), token, upload, timeoutMs);
}
