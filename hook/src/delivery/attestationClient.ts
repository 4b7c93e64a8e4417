import type { AttestationResult, AttestationSubmission } from '@lilac/common';
import { detailOf, networkReason } from './errorDetail.ts';

export type DeliveryResult =
  /** `results`: lilac's answer per output (lila answers nothing a builder reads: empty). */
  | { readonly kind: 'delivered'; readonly results: readonly AttestationResult[] }
  /** The server refused the content (4xx): sending it again would not help. */
  | { readonly kind: 'rejected'; readonly reason: string }
  /** Unreachable, too slow, or 5xx: keep it for later. */
  | { readonly kind: 'unavailable'; readonly reason: string };

/** Statuses that mean "not now" rather than "never". */
const RETRYABLE_CLIENT_STATUSES = new Set([408, 425, 429]);

/** lila's route: `POST /attestation/{drv_hash}` with the builder's bearer token. */
export async function postAttestations(
  server: string,
  token: string,
  drvHash: string,
  submissions: readonly AttestationSubmission[],
  timeoutMs: number,
): Promise<DeliveryResult> {
  let response: Response;
  try {
    response = await fetch(`${server}/attestation/${encodeURIComponent(drvHash)}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(submissions),
      signal: AbortSignal.timeout(Math.max(1, timeoutMs)),
    });
  } catch (error) {
    return { kind: 'unavailable', reason: networkReason(error) };
  }
  const text = await response.text().catch(() => '');
  if (response.ok) return { kind: 'delivered', results: resultsOf(text) };
  const reason = `${response.status} ${detailOf(text)}`;
  if (response.status >= 500 || RETRYABLE_CLIENT_STATUSES.has(response.status)) return { kind: 'unavailable', reason };
  return { kind: 'rejected', reason };
}

/** lilac answers lila's route with an array of results, and its batch route with `{results}`. */
function resultsOf(body: string): AttestationResult[] {
  try {
    const parsed = JSON.parse(body) as unknown;
    const results = Array.isArray(parsed) ? parsed : (parsed as { results?: unknown } | null)?.results;
    return Array.isArray(results) ? results.filter((result): result is AttestationResult => typeof result?.outPath === 'string') : [];
  } catch {
    return [];
  }
}
