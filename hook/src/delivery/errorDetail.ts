/** What a server's error answer says: its `{"detail": ...}`, or the start of whatever came back. */
export function detailOf(body: string): string {
  try {
    const parsed = JSON.parse(body) as { detail?: unknown };
    if (typeof parsed.detail === 'string') return parsed.detail;
  } catch {
    // not JSON: show the start of what came back
  }
  return body.slice(0, 200);
}

/** Why a request never got an answer: fetch's own message is "fetch failed", its cause says what happened (refused, timed out, …). */
export function networkReason(error: unknown): string {
  return (error as Error & { cause?: Error }).cause?.message ?? (error as Error).message;
}

/** An error's message followed by its cause's, for a person reading a command's failure. */
export function withCause(error: unknown): string {
  const cause = (error as Error & { cause?: Error }).cause;
  return `${(error as Error).message}${cause ? `: ${cause.message}` : ''}`;
}
