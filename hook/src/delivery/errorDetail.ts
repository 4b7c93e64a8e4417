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
