import { parseArgs } from 'node:util';
import { CONFIG_FLAGS, readHookConfig, type ConfigFlags, type HookConfig } from '../config.ts';
import { log } from '../log.ts';

/**
 * The hooks' settings: whatever is wrong with them is said in one line and
 * left out, so the hook still attests (or spools) what it can and Nix goes on.
 * The default env file may be absent when the environment says it all.
 */
export function hookConfig(args: string[], env: NodeJS.ProcessEnv): { config: HookConfig; flags: ConfigFlags; positionals: string[] } {
  const { values, positionals } = parseArgs({ args, options: CONFIG_FLAGS, strict: true, allowPositionals: true });
  const { config, problems, missingEnvFile } = readHookConfig(env, values);
  const named = values['env-file'] !== undefined || env.LILAC_ENV_FILE !== undefined;
  const incomplete = config.server === null || config.token === null || config.secretKey === null;
  const wrong = missingEnvFile !== null && (named || incomplete) ? [`no env file at ${missingEnvFile} (LILAC_ENV_FILE)`, ...problems] : problems;
  if (wrong.length > 0) log(`settings: ${wrong.join('; ')}`);
  return { config, flags: values, positionals };
}
