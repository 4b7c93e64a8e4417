import { execFile, spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, openSync, readSync, closeSync, fstatSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DiffoscopeFormat } from '@lilac/common';
import type { DiffoscopeSettings } from './diffoscopeSettings.ts';

/** One of diffoscope's reports, bounded. */
export interface DiffoscopeReport {
  readonly format: DiffoscopeFormat;
  readonly content: string;
  readonly truncated: boolean;
}

export interface DiffoscopeRun {
  readonly reports: readonly DiffoscopeReport[];
  readonly timedOut: boolean;
  /** `diffoscope --version`, when it said. */
  readonly version: string | undefined;
}

/** After SIGTERM at the time bound, diffoscope gets this long before SIGKILL. */
const KILL_GRACE_MS = 5000;

/** Where `diffoscope` is on PATH, or null when it is not installed. */
export function findDiffoscope(env: NodeJS.ProcessEnv = process.env): string | null {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, 'diffoscope');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

function versionOf(program: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(program, ['--version'], { timeout: 30_000 }, (error, stdout) => resolve(error ? undefined : stdout.trim() || undefined));
  });
}

/** Cuts text at `maxBytes` bytes without splitting a UTF-8 character. */
function cut(bytes: Buffer, maxBytes: number): { content: string; truncated: boolean } {
  if (bytes.length <= maxBytes) return { content: bytes.toString('utf8'), truncated: false };
  let end = maxBytes;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return { content: bytes.subarray(0, end).toString('utf8'), truncated: true };
}

/** The first `maxBytes` (plus one, to know it was more) of a file diffoscope wrote. */
function readBounded(file: string, maxBytes: number): Buffer | null {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return null;
  }
  try {
    const length = Math.min(fstatSync(fd).size, maxBytes + 1);
    const buffer = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const read = readSync(fd, buffer, done, length - done, done);
      if (read === 0) break;
      done += read;
    }
    return buffer.subarray(0, done);
  } finally {
    closeSync(fd);
  }
}

/**
 * Runs `diffoscope --text - A B` without file metadata (and `--html` to a temporary file when asked)
 * in a process group of its own, bounded in time (the whole group is killed
 * at the bound: diffoscope starts helpers of its own) and in size (its own
 * limits, and the text cut here). What it printed until a time-out is kept.
 */
export async function runDiffoscope(program: string, a: string, b: string, settings: DiffoscopeSettings): Promise<DiffoscopeRun> {
  const version = await versionOf(program);
  const workDir = mkdtempSync(path.join(tmpdir(), 'lilac-diffoscope-'));
  const htmlFile = path.join(workDir, 'report.html');
  const limit = String(settings.maxBytes);
  // A NAR keeps no times, owners or link counts, so they differ between two copies for no reason that
  // matters; the one mode bit it keeps (executable) is shown apart, in the listings.
  const args = ['--no-progress', '--exclude-directory-metadata', 'yes', '--text', '-', '--text-color', 'never', '--max-text-report-size', limit];
  if (settings.html) args.push('--html', htmlFile, '--max-report-size', limit);
  args.push(a, b);
  try {
    const child = spawn(program, args, { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
    const chunks: Buffer[] = [];
    let kept = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      // One byte over the bound is enough to know the text was cut.
      if (kept > settings.maxBytes) return;
      chunks.push(chunk);
      kept += chunk.length;
    });
    let timedOut = false;
    const killGroup = (signal: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // already gone
      }
    };
    let grace: NodeJS.Timeout | undefined;
    const bound = setTimeout(() => {
      timedOut = true;
      killGroup('SIGTERM');
      grace = setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS);
    }, settings.timeoutMs);
    await new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', () => resolve());
    });
    clearTimeout(bound);
    clearTimeout(grace);
    if (timedOut) killGroup('SIGKILL');
    const reports: DiffoscopeReport[] = [{ format: 'text', ...cut(Buffer.concat(chunks), settings.maxBytes) }];
    const html = settings.html ? readBounded(htmlFile, settings.maxBytes) : null;
    if (html !== null) reports.push({ format: 'html', ...cut(html, settings.maxBytes) });
    return { reports, timedOut, version };
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}
