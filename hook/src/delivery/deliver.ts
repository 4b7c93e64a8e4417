import type { AttestationSubmission } from '@lilac/common';
import { isSigned, signSubmission } from '../attest/submission.ts';
import type { HookConfig } from '../config.ts';
import { askForWantedListings, journalAttested } from '../listings/attestedJournal.ts';
import { runFollowUps, saveWantedListings } from '../listings/followUps.ts';
import { log } from '../log.ts';
import { postAttestations } from './attestationClient.ts';
import { Spool } from './spool.ts';

export interface FlushResult {
  delivered: number;
  rejected: number;
  /** Still spooled when the flush stopped. */
  left: number;
  /** Why it stopped early, if it did. */
  stopped: string | null;
}

function remaining(deadline: number): number {
  return deadline - Date.now();
}

/**
 * Sends the spool (see sendSpooled); a flush without a deadline (the
 * background sender, `lilac flush`) then asks which listings of copies
 * attested earlier are wanted now, and uploads them with the listings and
 * diffoscope output waiting for their attestations to be delivered.
 */
export async function flushSpool(config: HookConfig, deadline: number): Promise<FlushResult> {
  const result = await sendSpooled(config, deadline);
  if (result.left === 0 && deadline === Number.POSITIVE_INFINITY) {
    await askForWantedListings(config);
    await runFollowUps(config);
  }
  return result;
}

/**
 * Sends spooled submissions oldest first until the spool is empty, the
 * deadline passes, or the server proves unavailable (then the rest waits:
 * hammering a down server would only spend the build's time). No request
 * waits longer than the configured timeout. Submissions spooled unsigned
 * (the hook had no usable key) are signed now, or wait for a key.
 */
async function sendSpooled(config: HookConfig, deadline: number): Promise<FlushResult> {
  const requestBudget = (): number => Math.min(remaining(deadline), config.timeoutMs);
  const spool = new Spool(config.spoolDir);
  const result: FlushResult = { delivered: 0, rejected: 0, left: 0, stopped: null };
  const names = spool.pending();
  if (names.length === 0) return result;
  if (config.server === null || config.token === null) {
    return { ...result, left: names.length, stopped: 'no server or token configured' };
  }
  let waitingForKey = 0;
  for (const [index, name] of names.entries()) {
    if (remaining(deadline) <= 0) {
      result.stopped = 'out of time';
      result.left = names.length - index + waitingForKey;
      return result;
    }
    const claimed = spool.claim(name);
    if (claimed === null) continue;
    const { drvHash } = claimed.entry;
    let { submissions } = claimed.entry;
    if (!submissions.every(isSigned)) {
      if (config.secretKey === null) {
        spool.release(claimed);
        waitingForKey += 1;
        continue;
      }
      const key = config.secretKey;
      submissions = submissions.map((submission) => (isSigned(submission) ? submission : signSubmission(submission, key)));
    }
    const outcome = await postAttestations(config.server, config.token, drvHash, submissions, requestBudget());
    if (outcome.kind === 'delivered') {
      spool.done(claimed);
      result.delivered += 1;
      saveWantedListings(config.spoolDir, submissions, outcome.results);
      journalAttested(config.spoolDir, submissions, outcome.results);
    } else if (outcome.kind === 'rejected') {
      spool.reject(claimed, outcome.reason);
      log(`server refused spooled attestations for ${drvHash} (${outcome.reason}); moved to ${spool.rejectedDir}`);
      result.rejected += 1;
    } else {
      spool.release(claimed);
      result.stopped = outcome.reason;
      result.left = names.length - index + waitingForKey;
      return result;
    }
  }
  if (waitingForKey > 0) {
    result.left = waitingForKey;
    result.stopped = `${waitingForKey} spooled unsigned, waiting for a secret key to sign them`;
  }
  return result;
}

export type SubmitOutcome = 'delivered' | 'spooled' | 'rejected';

/**
 * Delivers one derivation's attestations within the configured budget,
 * sending what earlier runs spooled first; whatever cannot be delivered now
 * is spooled. Never throws for delivery problems: the hook must not fail a build.
 */
export async function deliverWithSpool(
  config: HookConfig,
  drvHash: string,
  submissions: readonly AttestationSubmission[],
): Promise<SubmitOutcome> {
  const deadline = Date.now() + config.timeoutMs;
  const spool = new Spool(config.spoolDir);
  const keep = (reason: string): SubmitOutcome => {
    spool.add({ drvHash, submissions, spooledAt: new Date().toISOString(), reason });
    log(`spooled attestations for ${drvHash} in ${spool.dir} (${reason}); \`lilac flush\` sends them`);
    return 'spooled';
  };
  if (config.server === null || config.token === null) return keep('no server or token configured');
  const unsigned = !submissions.every(isSigned);
  const flushed = await flushSpool(config, deadline);
  if (flushed.delivered + flushed.rejected > 0) log(`sent ${flushed.delivered} spooled submission(s), ${flushed.rejected} refused`);
  if (unsigned) return keep('no secret key to sign with');
  if (flushed.stopped !== null && flushed.left > 0) return keep(flushed.stopped);
  if (remaining(deadline) <= 0) return keep('out of time');
  const outcome = await postAttestations(config.server, config.token, drvHash, submissions, remaining(deadline));
  if (outcome.kind === 'delivered') {
    saveWantedListings(config.spoolDir, submissions, outcome.results);
    journalAttested(config.spoolDir, submissions, outcome.results);
    return 'delivered';
  }
  if (outcome.kind === 'unavailable') return keep(outcome.reason);
  spool.addRejected({ drvHash, submissions, spooledAt: new Date().toISOString(), reason: outcome.reason });
  log(`server refused attestations for ${drvHash} (${outcome.reason}); kept in ${spool.rejectedDir}`);
  return 'rejected';
}
