import { renameSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * One line in the spool directory saying what the builder owner must fix
 * (settings, nowhere to send, a flush that failed). The background flush
 * learns it after Nix has moved on, so `bin/lilac-post-build-hook-wrapper`
 * prints it in the next build's log, as long as it is there.
 */
export const ATTENTION_FILE = 'attention';

/** Sets the line, or removes it when nothing needs fixing; renamed in, so the wrapper never reads half of it. */
export function setAttention(spoolDir: string, message: string | null): void {
  const file = path.join(spoolDir, ATTENTION_FILE);
  if (message === null) {
    try {
      unlinkSync(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    return;
  }
  const tmp = `${file}.${process.pid}`;
  writeFileSync(tmp, `${message.replace(/\n/g, ' ')}\n`, { mode: 0o600 });
  renameSync(tmp, file);
}
