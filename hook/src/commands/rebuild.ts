import { parseArgs } from 'node:util';
import { CONFIG_FLAGS, ConfigError, loadHookConfig, type HookConfig } from '../config.ts';
import { withDiffoscopeFlags } from '../listings/diffoscopeSettings.ts';
import { runRebuildWorker } from '../rebuild/rebuildWorker.ts';
import type { Command } from './command.ts';

function positiveInteger(text: string | undefined, fallback: number, what: string): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw new ConfigError(`${what} must be a positive integer: ${text}`);
  return value;
}

/**
 * Joins the server's work pool and rebuilds what it hands out until stopped
 * (SIGINT/SIGTERM release the claims held). A rebuild whose claim was lost is
 * delivered or spooled like a post-build-hook's (`--spool-dir`, `--timeout-ms`).
 * A rebuild that differs uploads the listings of both copies and, when
 * diffoscope is installed, its output between them.
 */
export const rebuild: Command = {
  summary: 'join the rebuild pool: claim derivations, rebuild them with Nix, attest the results',
  usage:
    'lilac rebuild [--jobs N] [--poll-ms MS] [--until-empty] [--diffoscope-timeout SECONDS] [--diffoscope-html] [--server URL] [--token T | --token-file F] [--secret-key-file F] [--spool-dir D] [--timeout-ms N]',
  async run(args, env) {
    const { values } = parseArgs({
      args,
      options: {
        ...CONFIG_FLAGS,
        jobs: { type: 'string' },
        'poll-ms': { type: 'string' },
        'until-empty': { type: 'boolean' },
        'diffoscope-timeout': { type: 'string' },
        'diffoscope-html': { type: 'boolean' },
      },
      strict: true,
    });
    const { jobs, 'poll-ms': pollMs, 'until-empty': untilEmpty, 'diffoscope-timeout': diffoscopeTimeout, 'diffoscope-html': diffoscopeHtml, ...flags } = values;
    const loaded = loadHookConfig(env, flags);
    let config: HookConfig;
    try {
      config = { ...loaded, diffoscope: withDiffoscopeFlags(loaded.diffoscope, { timeoutSeconds: diffoscopeTimeout, html: diffoscopeHtml }) };
    } catch (error) {
      throw new ConfigError((error as Error).message);
    }
    if (config.server === null) throw new ConfigError('no server configured (--server or LILAC_SERVER)');
    if (config.token === null) throw new ConfigError('no token configured (--token, --token-file or LILAC_TOKEN)');
    if (config.secretKey === null) throw new ConfigError('no secret key configured (--secret-key-file or LILAC_SECRET_KEY_FILE)');
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      return await runRebuildWorker({
        server: config.server,
        token: config.token,
        secretKey: config.secretKey,
        delivery: config,
        jobs: positiveInteger(jobs, 1, '--jobs'),
        pollMs: positiveInteger(pollMs, 5000, '--poll-ms'),
        untilEmpty: untilEmpty ?? false,
        signal: stop.signal,
      });
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};
