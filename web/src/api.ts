/** An API answer that was not a success, with the server's `detail` when it gave one. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    detail: string,
  ) {
    super(detail);
  }
}

/** GETs JSON from the server; any failure becomes an ApiError worth showing as is. */
export async function getJson<T>(path: string): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, { headers: { accept: 'application/json' } });
  } catch (error) {
    throw new ApiError(0, `cannot reach the server (${(error as Error).message})`);
  }
  if (!response.ok) {
    let detail = `${response.status} ${response.statusText}`;
    try {
      const body = (await response.json()) as { detail?: unknown };
      if (typeof body.detail === 'string') detail = body.detail;
    } catch {
      // Not JSON: the status line is all there is to say.
    }
    throw new ApiError(response.status, detail);
  }
  return (await response.json()) as T;
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Runs `fn` at most once per `ms`, always with a trailing call, so bursts of events cost one refetch. */
export function throttle(fn: () => void, ms: number): () => void {
  let timer: ReturnType<typeof setTimeout> | null = null;
  return () => {
    if (timer !== null) return;
    timer = setTimeout(() => {
      timer = null;
      fn();
    }, ms);
  };
}

/**
 * Runs `fetch` one at a time: a call while one runs is answered by one more run after it. The
 * server holds a read until the store catalog's first count is done (minutes in a large store), and
 * events ask again every few hundred ms, so without this they would take every connection the
 * browser allows this site and stall the page's other requests.
 */
export function singleFlight(fetch: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | null = null;
  let again: Promise<void> | null = null;
  const run = (): Promise<void> => {
    running = fetch().finally(() => (running = null));
    return running;
  };
  return () => {
    if (running === null) return run();
    // The next run waits for this one to end, failed or not.
    again ??= running.then(
      () => undefined,
      () => undefined,
    ).then(() => {
      again = null;
      // A caller between the end of that run and this turn may have started the next one already.
      return running ?? run();
    });
    return again;
  };
}

/**
 * Sends a change as the signed-in member: the session cookie goes along by
 * itself, the CSRF token (from `GET /api/v1/me`) must be added by hand.
 */
export async function sendJson<T>(method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, csrfToken: string | null, body?: unknown): Promise<T | null> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (csrfToken !== null) headers['x-csrf-token'] = csrfToken;
  let response: Response;
  try {
    response = await fetch(path, { method, headers, credentials: 'same-origin', ...(body !== undefined && { body: JSON.stringify(body) }) });
  } catch (error) {
    throw new ApiError(0, `cannot reach the server (${(error as Error).message})`);
  }
  if (!response.ok) {
    let detail = `${response.status} ${response.statusText}`;
    try {
      const answer = (await response.json()) as { detail?: unknown };
      if (typeof answer.detail === 'string') detail = answer.detail;
    } catch {
      // Not JSON: the status line is all there is to say.
    }
    throw new ApiError(response.status, detail);
  }
  return response.status === 204 ? null : ((await response.json()) as T);
}
