import { execFileSync } from 'node:child_process';
import { chmodSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatKey } from '@lilac/common';
import type { TestBuilder } from '@lilac/server/testing';
import { tempDir } from './nix.ts';

export const HOOK_DIR = fileURLToPath(new URL('../..', import.meta.url));
export const LILAC_BIN = path.join(HOOK_DIR, 'bin', 'lilac');

/**
 * The hook runs as Nix runs it: the esbuild bundle behind `bin/lilac`, rebuilt
 * from the current sources. Built aside and renamed in, so test files running
 * in parallel never execute a half-written bundle.
 */
export function buildBundle(): void {
  const bundle = path.join(HOOK_DIR, 'dist', 'lilac.mjs');
  const aside = `${bundle}.${process.pid}.tmp`;
  execFileSync('npm', ['run', '--silent', 'build', '--', `--outfile=${aside}`], { cwd: HOOK_DIR, stdio: 'inherit' });
  renameSync(aside, bundle);
}

/** A builder machine's hook set-up: an env file, and the scripts nix.conf would name. */
export interface BuilderMachine {
  readonly envFile: string;
  readonly spoolDir: string;
  readonly env: NodeJS.ProcessEnv;
  readonly postBuildHook: string;
  readonly diffHook: string;
}

export function builderMachine(builder: TestBuilder, server: string): BuilderMachine {
  const dir = tempDir(`machine-${builder.name}`);
  const keyFile = path.join(dir, 'secret-key');
  writeFileSync(keyFile, `${formatKey(builder.secretKey)}\n`, { mode: 0o600 });
  const tokenFile = path.join(dir, 'token');
  writeFileSync(tokenFile, `${builder.token}\n`, { mode: 0o600 });
  const spoolDir = path.join(dir, 'spool');
  const envFile = path.join(dir, 'hook.env');
  const settings = { LILAC_SERVER: server, LILAC_TOKEN_FILE: tokenFile, LILAC_SECRET_KEY_FILE: keyFile, LILAC_SPOOL_DIR: spoolDir, LILAC_TIMEOUT_MS: '3000' };
  writeFileSync(envFile, Object.entries(settings).map(([key, value]) => `${key}=${value}\n`).join(''));
  // nix.conf takes a program without arguments, so each machine gets a two-line script naming its env file.
  const script = (name: string, wrapper: string): string => {
    const file = path.join(dir, name);
    writeFileSync(file, `#!/bin/sh\nLILAC_ENV_FILE=${envFile} exec ${path.join(HOOK_DIR, 'bin', wrapper)} "$@"\n`);
    chmodSync(file, 0o755);
    return file;
  };
  return {
    envFile,
    spoolDir,
    env: { ...process.env, ...settings },
    postBuildHook: script('post-build-hook', 'lilac-post-build-hook-wrapper'),
    diffHook: script('diff-hook', 'lilac-diff-hook-wrapper'),
  };
}
