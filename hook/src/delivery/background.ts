import { spawn } from 'node:child_process';
import { closeSync, openSync, renameSync, statSync } from 'node:fs';
import path from 'node:path';
import type { AttestationSubmission } from '@lilac/common';
import { isSigned } from '../attest/submission.ts';
import type { ConfigFlags, HookConfig } from '../config.ts';
import { log } from '../log.ts';
import { Spool } from './spool.ts';

/** What the background senders write, in the spool directory: one line per run, and what went wrong. */
export const DELIVERY_LOG = 'delivery.log';
/** Past this size the log moves to `delivery.log.1`, replacing the one before. */
const DELIVERY_LOG_MAX_BYTES = 1024 * 1024;

/**
 * What the hooks do with their attestations, as Nix waits for them: spool
 * them (synced to disk: from then on they are safe) and start a detached
 * `lilac flush --background` to send them, instead of waiting for the server.
 * Spooled submissions are only ever sent by a process that has claimed their
 * file, so background senders of parallel builds never send the same one.
 * Without a server, a token or a key nothing can be sent yet: the hook says
 * so in the build log, and a later flush sends them.
 */
export function spoolAndSendInBackground(config: HookConfig, flags: ConfigFlags, drvHash: string, submissions: readonly AttestationSubmission[]): void {
  const spool = new Spool(config.spoolDir);
  const waitingFor = config.server === null || config.token === null ? 'no server or token configured' : submissions.every(isSigned) ? null : 'no secret key to sign with';
  spool.add({ drvHash, submissions, spooledAt: new Date().toISOString(), reason: waitingFor ?? 'sent in the background' });
  if (waitingFor !== null) {
    log(`spooled attestations for ${drvHash} in ${spool.dir} (${waitingFor}); \`lilac flush\` sends them`);
    return;
  }
  try {
    startBackgroundFlush(config.spoolDir, flags);
  } catch (error) {
    log(`spooled attestations for ${drvHash} in ${spool.dir}, but could not start sending them (${(error as Error).message}); \`lilac flush\` sends them`);
  }
}

/**
 * Runs this very `lilac` (bundle or sources) as `flush --background` in its
 * own session with its output in the delivery log: Nix reads the hook's
 * output until the pipe closes, so the sender must not hold it.
 */
function startBackgroundFlush(spoolDir: string, flags: ConfigFlags): void {
  const logFile = path.join(spoolDir, DELIVERY_LOG);
  rotate(logFile);
  const output = openSync(logFile, 'a', 0o600);
  try {
    const args = Object.entries(flags).flatMap(([name, value]) => (value === undefined ? [] : [`--${name}=${value}`]));
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, 'flush', '--background', ...args], {
      detached: true,
      stdio: ['ignore', output, output],
    });
    child.once('error', (error) => log(`could not start sending spooled attestations: ${error.message}; \`lilac flush\` sends them`));
    child.unref();
  } finally {
    closeSync(output);
  }
}

function rotate(logFile: string): void {
  try {
    if (statSync(logFile).size > DELIVERY_LOG_MAX_BYTES) renameSync(logFile, `${logFile}.1`);
  } catch {
    // no log yet, or another hook rotated it first
  }
}
