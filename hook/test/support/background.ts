import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

/**
 * Whether no background flush runs on `spoolDir` or was asked for (see
 * bin/lilac-background-flush), and no build waits there to be attested.
 */
export function backgroundIdle(spoolDir: string): boolean {
  if (existsSync(path.join(spoolDir, 'flush-wanted'))) return false;
  try {
    if (readdirSync(path.join(spoolDir, 'built')).some((name) => name.includes('.json'))) return false;
  } catch {
    // no build recorded yet
  }
  try {
    execFileSync('flock', ['-n', path.join(spoolDir, 'flush.lock'), 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
