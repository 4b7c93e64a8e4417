import { parseArgs } from 'node:util';
import { CONFIG_FLAGS, ConfigError, loadHookConfig, settingsSource, type HookConfig } from '../config.ts';
import { withDiffoscopeFlags } from '../listings/diffoscopeSettings.ts';
import { log } from '../log.ts';
import { runRebuildWorker } from '../rebuild/rebuildWorker.ts';
import { narrowCapabilities, nixCapabilities } from '../rebuild/workerCapabilities.ts';
import type { Command } from './command.ts';

function positiveInteger(text: string | undefined, fallback: number, what: string): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw new ConfigError(`${what} must be a positive integer: ${text}`);
  return value;
}

/** `--max-build-seconds`: a positive number of seconds, or no limit when absent. */
function maxBuildSeconds(text: string | undefined): number | null {
  if (text === undefined) return null;
  const value = Number(text);
  // setTimeout takes at most 2^31-1 ms; a limit of 24 days is no limit.
  if (text.trim() === '' || !Number.isFinite(value) || value <= 0 || value * 1000 > 2 ** 31 - 1) {
    throw new ConfigError(`--max-build-seconds must be a positive number of seconds (at most ${Math.floor((2 ** 31 - 1) / 1000)}): ${text}`);
  }
  return value;
}

/**
 * Joins the server's work pool and rebuilds what it hands out until stopped
 * (SIGINT/SIGTERM release the claims held). A rebuild whose claim was lost is
 * delivered or spooled like a post-build-hook's (`--spool-dir`, `--timeout-ms`).
 * A rebuild that differs uploads the listings of both copies and, when
 * diffoscope is installed, its output between them. The worker announces
 * the systems and features its Nix builds (narrowed by `--system` and
 * `--features`) and is offered only jobs it can build. A rebuild that runs
 * past `--max-build-seconds` is stopped, its whole process group, and
 * reported as timed out with its log's tail.
 */
export const rebuild: Command = {
  summary: 'join the rebuild pool: claim derivations, rebuild them with Nix, attest the results',
  usage:
    'lilac rebuild [--jobs N] [--max-build-seconds N] [--system S]... [--features A,B] [--poll-ms MS] [--until-empty] [--diffoscope-timeout SECONDS] [--diffoscope-html] [--server URL] [--token T | --token-file F] [--secret-key-file F] [--spool-dir D] [--timeout-ms N]',
  async run(args, env) {
    const { values } = parseArgs({
      args,
      options: {
        ...CONFIG_FLAGS,
        jobs: { type: 'string' },
        'max-build-seconds': { type: 'string' },
        'poll-ms': { type: 'string' },
        'until-empty': { type: 'boolean' },
        'diffoscope-timeout': { type: 'string' },
        'diffoscope-html': { type: 'boolean' },
        system: { type: 'string', multiple: true },
        features: { type: 'string' },
      },
      strict: true,
    });
    const { jobs, 'max-build-seconds': maxSeconds, 'poll-ms': pollMs, 'until-empty': untilEmpty, 'diffoscope-timeout': diffoscopeTimeout, 'diffoscope-html': diffoscopeHtml, system, features, ...flags } = values;
    const limit = maxBuildSeconds(maxSeconds);
    const loaded = loadHookConfig(env, flags);
    let config: HookConfig;
    try {
      config = { ...loaded, diffoscope: withDiffoscopeFlags(loaded.diffoscope, { timeoutSeconds: diffoscopeTimeout, html: diffoscopeHtml }) };
    } catch (error) {
      throw new ConfigError((error as Error).message);
    }
    if (config.server === null) throw new ConfigError(`no server configured: set LILAC_SERVER in ${settingsSource(config)}, or pass --server`);
    if (config.token === null) throw new ConfigError(`no token configured: set LILAC_TOKEN_FILE in ${settingsSource(config)}, or pass --token-file`);
    if (config.secretKey === null) throw new ConfigError(`no secret key configured: set LILAC_SECRET_KEY_FILE in ${settingsSource(config)}, or pass --secret-key-file`);
    // Announced when connecting: the pool offers only jobs for these systems needing only these features.
    const capabilities = narrowCapabilities(await nixCapabilities(), system, features);
    log(`building for ${capabilities.systems.join(', ')}; features: ${capabilities.features.join(', ') || 'none'}`);
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      return await runRebuildWorker({
        server: config.server,
        token: config.token,
        secretKey: config.secretKey,
        capabilities,
        delivery: config,
        jobs: positiveInteger(jobs, 1, '--jobs'),
        maxBuildSeconds: limit,
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
