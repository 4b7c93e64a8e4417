import { parseArgs } from 'node:util';
import { CONFIG_FLAGS, ConfigError, loadHookConfig, readHookConfig, settingsSource, type HookConfig, type LoadedConfig } from '../config.ts';
import { setAttention } from '../delivery/attention.ts';
import { flushSpool, type FlushResult } from '../delivery/deliver.ts';
import { attestRecordedBuilds, recordedBuilds } from '../delivery/recordedBuilds.ts';
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
    if (values.background) return flushInBackground(readHookConfig(env, values));
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
    if (result.left > 0 || result.rejected > 0) return 1;
    setAttention(config.spoolDir, null);
    return 0;
  },
};

/**
 * What the hook wrappers start (see bin/lilac-background-flush): attests the
 * builds the post-build-hook wrapper recorded, then sends the spool. Its
 * output is the spool's delivery log, one line per run, and it has nobody to
 * report an exit code to; what the builder owner must fix (settings, nowhere
 * to send) goes to the attention file, which the wrapper prints in the next
 * build's log. Settings that cannot be used are left out; what can be used is.
 */
async function flushInBackground({ config, problems }: LoadedConfig): Promise<number> {
  stampLogLines();
  const attention: string[] = problems.length > 0 ? [`settings: ${problems.join('; ')}`] : [];
  try {
    const built = await attestRecordedBuilds(config);
    const result = await flushSpool(config, Number.POSITIVE_INFINITY);
    const builds = `attested ${built.attested} build(s)${built.gone > 0 ? `, ${built.gone} garbage-collected first` : ''}${built.left > 0 ? `, ${built.left} not yet` : ''}`;
    log(`background flush: ${builds}; delivered ${result.delivered}, rejected ${result.rejected}, left ${result.left}${result.stopped === null ? '' : `; stopped: ${result.stopped}`}`);
    const waiting = config.server === null || config.token === null ? 'no server or token configured' : config.secretKey === null ? 'no secret key to sign with' : null;
    if (waiting !== null && result.left > 0) attention.push(`spooled attestations wait in ${config.spoolDir} (${waiting}); \`lilac flush\` sends them`);
    if (built.left > 0) attention.push(`${built.left} build(s) could not be attested yet, see ${config.spoolDir}/delivery.log`);
  } catch (error) {
    log(`background flush failed: ${(error as Error).stack}`);
    attention.push(`the background flush failed (${(error as Error).message}), see ${config.spoolDir}/delivery.log`);
  }
  setAttention(config.spoolDir, attention.length > 0 ? attention.join('; ') : null);
  return 0;
}

/**
 * Attests the recorded builds and sends the spool, then waits for what
 * background senders hold (a person
 * flushing before a machine goes away wants it all sent, or to know what is
 * left) and sends what they gave back. It stops waiting when their claims
 * have not moved for two request timeouts.
 */
async function flushAll(config: HookConfig): Promise<FlushResult> {
  const spool = new Spool(config.spoolDir);
  const records = recordedBuilds(config.spoolDir);
  const total: FlushResult = { delivered: 0, rejected: 0, left: 0, stopped: null };
  for (;;) {
    const built = await attestRecordedBuilds(config);
    const result = await flushSpool(config, Number.POSITIVE_INFINITY);
    total.delivered += result.delivered;
    total.rejected += result.rejected;
    total.left = result.left + built.left;
    total.stopped = result.stopped ?? (built.left > 0 ? `${built.left} build(s) could not be attested yet` : null);
    if (total.stopped !== null) return total;
    const held = await whenOthersAreDone(() => [...spool.claimedByOthers(), ...records.claimedByOthers().map((name) => `built/${name}`)], 2 * config.timeoutMs);
    if (held.length > 0) return { ...total, left: total.left + held.length, stopped: `${held.length} still being sent by other processes` };
    if (spool.pending().length === 0 && records.pending().length === 0) return total;
  }
}

/** Waits until no other live process holds a claim, or the claims have not changed for `patienceMs`; returns those left. */
async function whenOthersAreDone(claimedByOthers: () => string[], patienceMs: number): Promise<string[]> {
  let held = claimedByOthers();
  let lastChange = Date.now();
  while (held.length > 0 && Date.now() - lastChange < patienceMs) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    const now = claimedByOthers();
    if (now.join('\n') !== held.join('\n')) lastChange = Date.now();
    held = now;
  }
  return held;
}
