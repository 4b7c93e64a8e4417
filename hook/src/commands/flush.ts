import { parseArgs } from 'node:util';
import { CONFIG_FLAGS, ConfigError, loadHookConfig, settingsSource } from '../config.ts';
import { flushSpool } from '../delivery/deliver.ts';
import { Spool } from '../delivery/spool.ts';
import type { Command } from './command.ts';

/** Sends everything spooled; exits 1 when some of it could not be delivered yet, 2 when there is nowhere to send it. */
export const flush: Command = {
  summary: 'send spooled attestations now',
  usage: 'lilac flush [--include-rejected] [--env-file F] [--server URL] [--token T | --token-file F] [--secret-key-file F] [--spool-dir D] [--timeout-ms N]',
  async run(args, env) {
    const { values } = parseArgs({
      args,
      options: { ...CONFIG_FLAGS, 'include-rejected': { type: 'boolean' } },
      strict: true,
    });
    const config = loadHookConfig(env, values);
    if (config.server === null) throw new ConfigError(`no server configured: set LILAC_SERVER in ${settingsSource(config)}, or pass --server`);
    if (config.token === null) throw new ConfigError(`no token configured: set LILAC_TOKEN_FILE in ${settingsSource(config)}, or pass --token-file`);
    if (values['include-rejected']) {
      const requeued = new Spool(config.spoolDir).requeueRejected();
      if (requeued > 0) console.log(`requeued ${requeued} rejected submission(s)`);
    }
    const result = await flushSpool(config, Number.POSITIVE_INFINITY);
    console.log(`delivered ${result.delivered}, rejected ${result.rejected}, left in ${config.spoolDir}: ${result.left}`);
    if (result.stopped !== null) console.error(`lilac: stopped: ${result.stopped}`);
    return result.left > 0 || result.rejected > 0 ? 1 : 0;
  },
};
