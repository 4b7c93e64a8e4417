import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import type { AttestationSubmission } from '@lilac/common';

/** One submission kept for later: signed when the hook had a key, else signed by the run that sends it. */
export interface SpooledSubmission {
  readonly drvHash: string;
  readonly submissions: readonly AttestationSubmission[];
  readonly spooledAt: string;
  /** Why it was spooled (or rejected). */
  readonly reason: string;
}

export interface ClaimedSubmission<Entry = SpooledSubmission> {
  readonly file: string;
  readonly entry: Entry;
}

const CLAIM_MARK = '.claimed-';

/**
 * A sender holds a claim for one request, which times out long before this:
 * an older claim is stale even if its pid now names another process (the
 * sender was killed, the machine rebooted and the pid was reused).
 */
const STALE_CLAIM_MS = 10 * 60 * 1000;

/** Writes `text` to `file` and waits until it is on disk. */
function writeDurably(file: string, text: string): void {
  const fd = openSync(file, 'w', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Whether a process with that pid runs (one of another user's counts). */
export function pidIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A directory of pending submissions, one JSON file each. Files are written
 * under `tmp/` and renamed in, so a reader never sees half a file; a sender
 * claims a file by renaming it to `<name>.claimed-<pid>`, so hooks of parallel
 * builds never send the same one twice. Claims of processes that died go back
 * to the queue. Refused submissions move to `rejected/` to be looked at.
 */
export class Spool<Entry extends object = SpooledSubmission> {
  readonly rejectedDir: string;
  private readonly tmpDir: string;

  constructor(readonly dir: string) {
    this.rejectedDir = path.join(dir, 'rejected');
    this.tmpDir = path.join(dir, 'tmp');
  }

  /** Keeps `entry`; once this returns, it survives a crash or a power cut. */
  add(entry: Entry): string {
    mkdirSync(this.tmpDir, { recursive: true, mode: 0o700 });
    const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}-${randomBytes(4).toString('hex')}.json`;
    const tmp = path.join(this.tmpDir, name);
    writeDurably(tmp, `${JSON.stringify(entry)}\n`);
    renameSync(tmp, path.join(this.dir, name));
    syncDirectory(this.dir);
    return name;
  }

  /** Keeps a refused submission where a person can look at it, never to be retried by itself. */
  addRejected(entry: Entry): void {
    const name = this.add(entry);
    mkdirSync(this.rejectedDir, { recursive: true, mode: 0o700 });
    renameSync(path.join(this.dir, name), path.join(this.rejectedDir, name));
  }

  /** Names waiting to be sent, oldest first; stale claims go back in the queue first. */
  pending(): string[] {
    for (const claim of this.claims()) {
      if (claim.pid !== process.pid && this.isStale(claim.name, claim.pid)) this.tryRename(claim.name, claim.name.slice(0, claim.name.indexOf(CLAIM_MARK)));
    }
    return this.names().filter((name) => name.endsWith('.json')).sort();
  }

  /** Files other live senders are sending right now. */
  claimedByOthers(): string[] {
    return this.claims()
      .filter((claim) => claim.pid !== process.pid && !this.isStale(claim.name, claim.pid))
      .map((claim) => claim.name)
      .sort();
  }

  private names(): string[] {
    try {
      return readdirSync(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  }

  private claims(): { name: string; pid: number }[] {
    return this.names().flatMap((name) => {
      const mark = name.indexOf(CLAIM_MARK);
      return mark < 0 ? [] : [{ name, pid: Number(name.slice(mark + CLAIM_MARK.length)) }];
    });
  }

  /** A claim's ctime is when it was renamed, that is claimed. */
  private isStale(name: string, pid: number): boolean {
    if (!pidIsAlive(pid)) return true;
    try {
      return Date.now() - statSync(path.join(this.dir, name)).ctimeMs > STALE_CLAIM_MS;
    } catch {
      return false;
    }
  }

  /** Takes a pending file for this process; null when another sender took it first. */
  claim(name: string): ClaimedSubmission<Entry> | null {
    const claimed = `${name}${CLAIM_MARK}${process.pid}`;
    if (!this.tryRename(name, claimed)) return null;
    const file = path.join(this.dir, claimed);
    try {
      return { file: claimed, entry: JSON.parse(readFileSync(file, 'utf8')) as Entry };
    } catch (error) {
      this.reject({ file: claimed, entry: {} as Entry }, `unreadable: ${(error as Error).message}`);
      return null;
    }
  }

  /** Sent: the file goes away. */
  done(claimed: ClaimedSubmission<Entry>): void {
    unlinkSync(path.join(this.dir, claimed.file));
  }

  /** Not sent this time: back in the queue. */
  release(claimed: ClaimedSubmission<Entry>): void {
    this.tryRename(claimed.file, claimed.file.slice(0, claimed.file.indexOf(CLAIM_MARK)));
  }

  reject(claimed: ClaimedSubmission<Entry>, reason: string): void {
    mkdirSync(this.rejectedDir, { recursive: true, mode: 0o700 });
    const name = claimed.file.slice(0, claimed.file.indexOf(CLAIM_MARK));
    const entry = { ...claimed.entry, reason };
    writeFileSync(path.join(this.dir, claimed.file), `${JSON.stringify(entry)}\n`, { mode: 0o600 });
    renameSync(path.join(this.dir, claimed.file), path.join(this.rejectedDir, name));
  }

  /** Puts rejected submissions back in the queue (e.g. after fixing a token). */
  requeueRejected(): number {
    let names: string[];
    try {
      names = readdirSync(this.rejectedDir).filter((name) => name.endsWith('.json'));
    } catch {
      return 0;
    }
    for (const name of names) renameSync(path.join(this.rejectedDir, name), path.join(this.dir, name));
    return names.length;
  }

  private tryRename(from: string, to: string): boolean {
    try {
      renameSync(path.join(this.dir, from), path.join(this.dir, to));
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
  }
}
