import { parseArgs } from 'node:util';
import { CONFIG_FLAGS, readHookConfig, type HookConfig } from '../config.ts';
import { log } from '../log.ts';

/**
 * The hooks' settings: whatever is wrong with them is said in one line and
 * left out, so the hook still attests (or spools) what it can and Nix goes on.
 */
export function hookConfig(args: string[], env: NodeJS.ProcessEnv): { config: HookConfig; positionals: string[] } {
  const { values, positionals } = parseArgs({ args, options: CONFIG_FLAGS, strict: true, allowPositionals: true });
  const { config, problems, missingEnvFile } = readHookConfig(env, values);
  const wrong = missingEnvFile === null ? problems : [`no env file at ${missingEnvFile} (LILAC_ENV_FILE)`, ...problems];
  if (wrong.length > 0) log(`settings: ${wrong.join('; ')}`);
  return { config, positionals };
}
