import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { parseSecretKey, type NamedKey } from '@lilac/common';

/** Everything the builder-side commands need to sign and deliver. */
export interface HookConfig {
  /** Base URL of the lilac (or lila) server; null when not configured. */
  readonly server: string | null;
  readonly token: string | null;
  readonly secretKey: NamedKey | null;
  readonly spoolDir: string;
  /** Budget for delivering one hook run's attestations (spooled ones included). */
  readonly timeoutMs: number;
}

/** Command-line flags every command accepts; they win over the environment. */
export const CONFIG_FLAGS = {
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

function readSecretFile(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw new ConfigError(`cannot read the ${what} file ${file}: ${(error as Error).message}`);
  }
}

/**
 * Flags first, then lilac's variables, then lila's (`HASH_COLLECTION_*`), so
 * a builder set up for lila keeps working unchanged.
 */
export function loadHookConfig(env: NodeJS.ProcessEnv, flags: ConfigFlags = {}): HookConfig {
  const server = flags.server ?? env.LILAC_SERVER ?? env.HASH_COLLECTION_SERVER ?? null;
  const tokenFile = flags['token-file'] ?? env.LILAC_TOKEN_FILE;
  const token =
    flags.token ??
    (flags['token-file'] !== undefined ? readSecretFile(flags['token-file'], 'token') : undefined) ??
    env.LILAC_TOKEN ??
    (tokenFile !== undefined ? readSecretFile(tokenFile, 'token') : undefined) ??
    env.HASH_COLLECTION_TOKEN ??
    null;
  const keyFile = flags['secret-key-file'] ?? env.LILAC_SECRET_KEY_FILE;
  const keyText = keyFile !== undefined ? readSecretFile(keyFile, 'secret key') : env.HASH_COLLECTION_SECRET_KEY;
  let secretKey: NamedKey | null = null;
  if (keyText !== undefined && keyText !== '') {
    try {
      secretKey = parseSecretKey(keyText);
    } catch (error) {
      throw new ConfigError(`the secret key is not a Nix secret key: ${(error as Error).message}`);
    }
  }
  const timeoutText = flags['timeout-ms'] ?? env.LILAC_TIMEOUT_MS;
  const timeoutMs = timeoutText === undefined ? DEFAULT_TIMEOUT_MS : Number(timeoutText);
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0) throw new ConfigError(`timeout must be a positive number of milliseconds: ${timeoutText}`);
  if (server !== null) {
    try {
      new URL(server);
    } catch {
      throw new ConfigError(`server is not a URL: ${server}`);
    }
  }
  return {
    server: server === null ? null : server.replace(/\/+$/, ''),
    token: token === null || token === '' ? null : token,
    secretKey,
    spoolDir: flags['spool-dir'] ?? env.LILAC_SPOOL_DIR ?? defaultSpoolDir(env),
    timeoutMs,
  };
}
