import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DerivationFormatError, derivationOutputs, derivationRequirements, InvalidPriorityError, InvalidStorePathError, parseDerivationPath, parsePriorityText, type JobRequest } from '@lilac/common';
import { CONFIG_FLAGS, ConfigError, loadHookConfig, settingsSource } from '../config.ts';
import type { Command } from './command.ts';
import { withCause } from '../delivery/errorDetail.ts';

const USAGE = 'lilac enqueue DRV_PATH... [--output NAME] [--priority N] [--env-file F] [--server URL] [--token T | --token-file F]';

/** An enqueue of thousands of outputs is one request; the server decides them in chunks. */
const ENQUEUE_TIMEOUT_MS = 5 * 60_000;

/**
 * The jobs for a `.drv` of this machine's store: each output it names (or
 * `only`), with the system and required features read from the derivation,
 * so the pool offers them only to workers that can build them. Outputs
 * known only once built (content-addressed) cannot be asked for.
 */
function jobsOf(drvPath: string, only: string | undefined): JobRequest[] {
  const text = readFileSync(parseDerivationPath(drvPath).path, 'utf8');
  const { system, requiredSystemFeatures } = derivationRequirements(text);
  const outputs = derivationOutputs(text).filter((output) => only === undefined || output.name === only);
  if (outputs.length === 0) throw new ConfigError(`${drvPath} has no output ${JSON.stringify(only)}`);
  return outputs.flatMap((output) => (output.path === null ? [] : [{ drvPath, output: output.name, outPath: output.path, system, requiredSystemFeatures }]));
}

/** `lilac enqueue`: asks the pool to rebuild derivations of this machine's store, saying what each needs. */
export const enqueue: Command = {
  summary: 'ask the rebuild pool for rebuilds of derivations, with the system and features each needs',
  usage: USAGE,
  async run(args, env) {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, strict: true, options: { ...CONFIG_FLAGS, output: { type: 'string' }, priority: { type: 'string' } } });
    if (positionals.length === 0) throw new ConfigError(`expected: ${USAGE}`);
    const config = loadHookConfig(env, values);
    if (config.server === null) throw new ConfigError(`no server configured: set LILAC_SERVER in ${settingsSource(config)}, or pass --server`);
    if (config.token === null) throw new ConfigError(`no token configured: set LILAC_TOKEN_FILE in ${settingsSource(config)}, or pass --token-file`);
    let priority: number | undefined;
    try {
      // Higher is claimed first; without it, a job already in the pool keeps its priority.
      priority = values.priority === undefined ? undefined : parsePriorityText(values.priority);
    } catch (error) {
      if (!(error instanceof InvalidPriorityError)) throw error;
      process.stderr.write(`lilac enqueue: ${error.message}\n`);
      return 1;
    }
    let jobs: JobRequest[];
    try {
      jobs = positionals.flatMap((drvPath) => jobsOf(drvPath, values.output)).map((job) => (priority === undefined ? job : { ...job, priority }));
    } catch (error) {
      // Not a readable derivation: a bad path, a missing file, or not a .drv.
      const unreadable = error instanceof DerivationFormatError || error instanceof InvalidStorePathError || (error as NodeJS.ErrnoException).code !== undefined;
      if (!unreadable) throw error;
      process.stderr.write(`lilac enqueue: ${(error as Error).message}\n`);
      return 1;
    }
    let response: Response;
    try {
      response = await fetch(`${config.server}/api/v1/jobs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${config.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(jobs),
        signal: AbortSignal.timeout(ENQUEUE_TIMEOUT_MS),
      });
    } catch (error) {
      process.stderr.write(`lilac enqueue: ${config.server}: ${withCause(error)}\n`);
      return 1;
    }
    const text = await response.text();
    if (!response.ok) {
      process.stderr.write(`lilac enqueue: ${config.server} refused: ${response.status} ${text.slice(0, 500)}\n`);
      return 1;
    }
    console.log(`enqueued ${jobs.length} output(s): ${text}`);
    return 0;
  },
};
