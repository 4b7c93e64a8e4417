import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls until `holds` answers true: the server returns leases, writes history
 * and sweeps in the background. The bound is generous (CI machines are slower
 * than ours); reaching it fails the test, naming what never happened.
 */
export async function waitUntil(what: string, holds: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await holds())) {
    if (Date.now() > deadline) throw new Error(`gave up after ${timeoutMs / 1000} s waiting until ${what}`);
    await sleep(20);
  }
}
