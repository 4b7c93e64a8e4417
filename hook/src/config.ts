import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { parseSecretKey, type NamedKey } from '@lilac/common';
import { DEFAULT_ENV_FILE, parseEnvFile } from './envFile.ts';
import { readDiffoscopeSettings, type DiffoscopeSettings } from './listings/diffoscopeSettings.ts';

/** Everything the builder-side commands need to sign and deliver. */
export interface HookConfig {
  /** Base URL of the lilac (or lila) server; null when not configured. */
  readonly server: string | null;
  readonly token: string | null;
  readonly secretKey: NamedKey | null;
  readonly spoolDir: string;
  /** Budget for delivering one hook run's attestations (spooled ones included). */
  readonly timeoutMs: number;
  /** The env file the settings were read from; null when there was none to read. */
  readonly envFile: string | null;
  /** How diffoscope runs between two differing copies (`lilac rebuild`, the diff hook). */
  readonly diffoscope: DiffoscopeSettings;
}

/** Command-line flags every command accepts; they win over the environment. */
export const CONFIG_FLAGS = {
  'env-file': { type: 'string' },
  server: { type: 'string' },
  token: { type: 'string' },
  'token-file': { type: 'string' },
  'secret-key-file': { type: 'string' },
  'spool-dir': { type: 'string' },
  'timeout-ms': { type: 'string' },
} as const;

export type ConfigFlags = Partial<Record<keyof typeof CONFIG_FLAGS, string | undefined>>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export const DEFAULT_TIMEOUT_MS = 5000;

/** Root's spool lives with system state; anyone else's under XDG_STATE_HOME. */
export function defaultSpoolDir(env: NodeJS.ProcessEnv): string {
  if (process.getuid?.() === 0) return '/var/lib/lilac/spool';
  const stateHome = env.XDG_STATE_HOME || path.join(env.HOME || homedir(), '.local', 'state');
  return path.join(stateHome, 'lilac', 'spool');
}

/** A configuration and what was wrong on the way to it, each problem one sentence. */
export interface LoadedConfig {
  readonly config: HookConfig;
  readonly problems: readonly string[];
  /** The env file asked for (or the default one) when it does not exist. */
  readonly missingEnvFile: string | null;
}

interface EnvSettings {
  readonly settings: NodeJS.ProcessEnv;
  readonly envFile: string | null;
  readonly missingEnvFile: string | null;
}

/**
 * The env file (`--env-file`, `LILAC_ENV_FILE`, default /etc/lilac/hook.env;
 * empty for none) under the environment: a variable set in the environment
 * wins over the same one in the file.
 */
function withEnvFile(env: NodeJS.ProcessEnv, flags: ConfigFlags, problems: string[]): EnvSettings {
  const file = flags['env-file'] ?? env.LILAC_ENV_FILE ?? DEFAULT_ENV_FILE;
  if (file === '') return { settings: env, envFile: null, missingEnvFile: null };
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { settings: env, envFile: null, missingEnvFile: file };
    problems.push(`cannot read the env file ${file}: ${(error as Error).message}`);
    return { settings: env, envFile: null, missingEnvFile: null };
  }
  const parsed = parseEnvFile(text, file);
  problems.push(...parsed.problems);
  return { settings: { ...parsed.values, ...env }, envFile: file, missingEnvFile: null };
}

function readSecretFile(file: string, what: string, problems: string[]): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (error) {
    problems.push(`cannot read the ${what} file ${file}: ${(error as Error).message}`);
    return undefined;
  }
}

/**
 * Flags first, then lilac's variables, then lila's (`HASH_COLLECTION_*`), so
 * a builder set up for lila keeps working unchanged. Never throws: a setting
 * that cannot be used is left out (a bad timeout falls back to the default)
 * and named in `problems`, so a hook can still spool what it can.
 */
export function readHookConfig(env: NodeJS.ProcessEnv, flags: ConfigFlags = {}): LoadedConfig {
  const problems: string[] = [];
  const { settings, envFile, missingEnvFile } = withEnvFile(env, flags, problems);

  let server = flags.server ?? settings.LILAC_SERVER ?? settings.HASH_COLLECTION_SERVER ?? null;
  if (server === '') server = null;
  if (server !== null) {
    try {
      new URL(server);
    } catch {
      problems.push(`server is not a URL: ${server}`);
      server = null;
    }
  }

  const tokenFile = flags['token-file'] ?? settings.LILAC_TOKEN_FILE;
  const token =
    flags.token ??
    (flags['token-file'] !== undefined ? readSecretFile(flags['token-file'], 'token', problems) : undefined) ??
    settings.LILAC_TOKEN ??
    (tokenFile !== undefined ? readSecretFile(tokenFile, 'token', problems) : undefined) ??
    settings.HASH_COLLECTION_TOKEN ??
    null;

  const keyFile = flags['secret-key-file'] ?? settings.LILAC_SECRET_KEY_FILE;
  const keyText = keyFile !== undefined ? readSecretFile(keyFile, 'secret key', problems) : settings.HASH_COLLECTION_SECRET_KEY;
  let secretKey: NamedKey | null = null;
  if (keyText !== undefined && keyText !== '') {
    try {
      secretKey = parseSecretKey(keyText);
    } catch (error) {
      problems.push(`the secret key is not a Nix secret key: ${(error as Error).message}`);
    }
  }

  const timeoutText = flags['timeout-ms'] ?? settings.LILAC_TIMEOUT_MS;
  let timeoutMs = timeoutText === undefined ? DEFAULT_TIMEOUT_MS : Number(timeoutText);
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0) {
    problems.push(`timeout must be a positive number of milliseconds, not ${JSON.stringify(timeoutText)}: using ${DEFAULT_TIMEOUT_MS}`);
    timeoutMs = DEFAULT_TIMEOUT_MS;
  }

  const config: HookConfig = {
    server: server === null ? null : server.replace(/\/+$/, ''),
    token: token === null || token === '' ? null : token,
    secretKey,
    spoolDir: flags['spool-dir'] ?? settings.LILAC_SPOOL_DIR ?? defaultSpoolDir(settings),
    timeoutMs,
    envFile,
    diffoscope: readDiffoscopeSettings(settings, problems),
  };
  return { config, problems, missingEnvFile };
}

/**
 * For commands a person runs: any problem stops them (exit 2). A missing env
 * file is one only when it was named; the default one is optional for them,
 * whose settings may all come from flags.
 */
export function loadHookConfig(env: NodeJS.ProcessEnv, flags: ConfigFlags = {}): HookConfig {
  const named = flags['env-file'] !== undefined || env.LILAC_ENV_FILE !== undefined;
  const { config, problems, missingEnvFile } = readHookConfig(env, flags);
  const fatal = named && missingEnvFile !== null ? [`no env file at ${missingEnvFile}`, ...problems] : problems;
  if (fatal.length > 0) throw new ConfigError(fatal.join('; '));
  return config;
}

/** Where a person should put a missing setting, for messages. */
export function settingsSource(config: HookConfig): string {
  return config.envFile ?? 'the env file (LILAC_ENV_FILE, default /etc/lilac/hook.env)';
}
