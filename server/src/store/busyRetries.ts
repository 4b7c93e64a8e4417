const BUSY_RETRIES = 8;

export function isBusy(error: unknown): boolean {
  return /SQLITE_BUSY|database is locked/.test((error as Error | undefined)?.message ?? '');
}

/**
 * FerretDB's SQLite backend answers concurrent writers with "database is
 * locked (SQLITE_BUSY)"; work that is safe to repeat is retried after a short
 * random pause. MongoDB never says so, and its work runs once.
 */
export async function withBusyRetries<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= BUSY_RETRIES || !isBusy(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
    }
  }
}
