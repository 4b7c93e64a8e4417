import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatKey } from '@lilac/common';
import { startServerWithAliceAndBob, type TestBuilder, type TestServer } from '@lilac/server/testing';
import { tempDir } from './nix.ts';

export const HOOK_DIR = fileURLToPath(new URL('../..', import.meta.url));
export const HOOK_BIN_DIR = path.join(HOOK_DIR, 'bin');
export const LILAC_BIN = path.join(HOOK_BIN_DIR, 'lilac');
const REPO_NODE_MODULES = path.join(HOOK_DIR, '..', 'node_modules');

/**
 * The hook runs as Nix runs it: the esbuild bundle behind `bin/lilac`, rebuilt
 * from the current sources (the build renames it in whole, so test files
 * building in parallel never execute half a bundle).
 */
export function buildBundle(): void {
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: HOOK_DIR, stdio: 'inherit' });
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
  return { envFile, spoolDir, env: { ...process.env, ...settings }, ...hookScripts(dir, { LILAC_ENV_FILE: envFile }) };
}

/** What tests of the builder side start from: the hook bundle built, a test server, and alice's and bob's machines. */
export async function serverWithTwoMachines(): Promise<{ server: TestServer; alice: BuilderMachine; bob: BuilderMachine; aliceToken: string }> {
  buildBundle();
  const { server, alice, bob } = await startServerWithAliceAndBob();
  return { server, alice: builderMachine(alice, server.url), bob: builderMachine(bob, server.url), aliceToken: alice.token };
}

/**
 * The programs nix.conf would name: nix.conf takes a program without
 * arguments, so each is a two-line script setting `variables` (the env file,
 * usually) before running the wrapper in `binDir`.
 */
export function hookScripts(dir: string, variables: Readonly<Record<string, string>>, binDir = HOOK_BIN_DIR): { postBuildHook: string; diffHook: string } {
  const assignments = Object.entries(variables).map(([name, value]) => `${name}=${value} `).join('');
  const script = (name: string, wrapper: string): string => {
    const file = path.join(dir, name);
    writeFileSync(file, `#!/bin/sh\n${assignments}exec ${path.join(binDir, wrapper)} "$@"\n`);
    chmodSync(file, 0o755);
    return file;
  };
  return { postBuildHook: script('post-build-hook', 'lilac-post-build-hook-wrapper'), diffHook: script('diff-hook', 'lilac-diff-hook-wrapper') };
}

/**
 * A checkout of the hook as a builder may have it: this `bin/` and `src/`, with
 * or without the repository's node_modules, and `bundle` (source text) as
 * `dist/lilac.mjs` or no bundle at all. Returns its `bin/`.
 */
export function hookCheckout(options: { bundle: string | null; nodeModules: boolean }): string {
  const root = tempDir('checkout');
  const hook = path.join(root, 'hook');
  cpSync(HOOK_BIN_DIR, path.join(hook, 'bin'), { recursive: true });
  symlinkSync(path.join(HOOK_DIR, 'src'), path.join(hook, 'src'));
  if (options.nodeModules) symlinkSync(REPO_NODE_MODULES, path.join(root, 'node_modules'));
  if (options.bundle !== null) {
    mkdirSync(path.join(hook, 'dist'));
    writeFileSync(path.join(hook, 'dist', 'lilac.mjs'), options.bundle);
  }
  return path.join(hook, 'bin');
}
