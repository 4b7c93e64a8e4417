import { parseArgs } from 'node:util';
import { CONFIG_FLAGS, ConfigError, loadHookConfig, readHookConfig, settingsSource, type HookConfig } from '../config.ts';
import { flushSpool, type FlushResult } from '../delivery/deliver.ts';
import { Spool } from '../delivery/spool.ts';
import { log, stampLogLines } from '../log.ts';
import type { Command } from './command.ts';

/** How often a flush looks whether background senders are done. */
const POLL_MS = 100;

/** Sends everything spooled; exits 1 when some of it could not be delivered yet, 2 when there is nowhere to send it. */
export const flush: Command = {
  summary: 'send spooled attestations now',
  usage:
    'lilac flush [--include-rejected] [--background] [--env-file F] [--server URL] [--token T | --token-file F] [--secret-key-file F] [--spool-dir D] [--timeout-ms N]',
  async run(args, env) {
    const { values } = parseArgs({
      args,
      options: { ...CONFIG_FLAGS, 'include-rejected': { type: 'boolean' }, background: { type: 'boolean' } },
      strict: true,
    });
    if (values.background) return flushInBackground(readHookConfig(env, values).config);
    const config = loadHookConfig(env, values);
    if (config.server === null) throw new ConfigError(`no server configured: set LILAC_SERVER in ${settingsSource(config)}, or pass --server`);
    if (config.token === null) throw new ConfigError(`no token configured: set LILAC_TOKEN_FILE in ${settingsSource(config)}, or pass --token-file`);
    if (values['include-rejected']) {
      const requeued = new Spool(config.spoolDir).requeueRejected();
      if (requeued > 0) console.log(`requeued ${requeued} rejected submission(s)`);
    }
    const result = await flushAll(config);
    console.log(`delivered ${result.delivered}, rejected ${result.rejected}, left in ${config.spoolDir}: ${result.left}`);
    if (result.stopped !== null) console.error(`lilac: stopped: ${result.stopped}`);
    return result.left > 0 || result.rejected > 0 ? 1 : 0;
  },
};

/**
 * What the hooks start after spooling (see spoolAndSendInBackground): its
 * output is the spool's delivery log, one line per run, and it has nobody to
 * report an exit code to. Settings that cannot be used were already named in
 * the build log; what can be used is.
 */
async function flushInBackground(config: HookConfig): Promise<number> {
  stampLogLines();
  try {
    const result = await flushSpool(config, Number.POSITIVE_INFINITY);
    log(`background flush: delivered ${result.delivered}, rejected ${result.rejected}, left ${result.left}${result.stopped === null ? '' : `; stopped: ${result.stopped}`}`);
  } catch (error) {
    log(`background flush failed: ${(error as Error).stack}`);
  }
  return 0;
}

/**
 * Sends the spool, then waits for what background senders hold (a person
 * flushing before a machine goes away wants it all sent, or to know what is
 * left) and sends what they gave back. It stops waiting when their claims
 * have not moved for two request timeouts.
 */
async function flushAll(config: HookConfig): Promise<FlushResult> {
  const spool = new Spool(config.spoolDir);
  const total: FlushResult = { delivered: 0, rejected: 0, left: 0, stopped: null };
  for (;;) {
    const result = await flushSpool(config, Number.POSITIVE_INFINITY);
    total.delivered += result.delivered;
    total.rejected += result.rejected;
    total.left = result.left;
    total.stopped = result.stopped;
    if (result.stopped !== null) return total;
    const held = await whenOthersAreDone(spool, 2 * config.timeoutMs);
    if (held.length > 0) return { ...total, left: total.left + held.length, stopped: `${held.length} still being sent by other processes` };
    if (spool.pending().length === 0) return total;
  }
}

/** Waits until no other live process holds a claim, or the claims have not changed for `patienceMs`; returns those left. */
async function whenOthersAreDone(spool: Spool, patienceMs: number): Promise<string[]> {
  let held = spool.claimedByOthers();
  let lastChange = Date.now();
  while (held.length > 0 && Date.now() - lastChange < patienceMs) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    const now = spool.claimedByOthers();
    if (now.join('\n') !== held.join('\n')) lastChange = Date.now();
    held = now;
  }
  return held;
}
