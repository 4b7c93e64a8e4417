/**
 * Polls `condition` until it holds: the hooks send in the background, so a
 * test waits for what it expects to arrive. The bound is generous (a loaded
 * machine is slow); reaching it fails the test, saying what never happened.
 */
export async function waitFor<T>(what: string, condition: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value !== null && value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
