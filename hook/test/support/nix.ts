import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { run } from './run.ts';

/** How these tests run Debian's Nix 2.8 here: as root, no sandbox, no build users. */
// No substituters: offline, Nix would otherwise wait on cache.nixos.org before every build.
export const NIX_CONFIG_LINES = ['sandbox = false', 'build-users-group =', 'experimental-features = nix-command', 'substituters ='];

export function nixEnv(extraConfig: readonly string[] = []): NodeJS.ProcessEnv {
  return { ...process.env, NIX_CONFIG: [...NIX_CONFIG_LINES, ...extraConfig].join('\n') };
}

process.env.NIX_CONFIG = NIX_CONFIG_LINES.join('\n');

export function nix(args: readonly string[], env: NodeJS.ProcessEnv = nixEnv()): string {
  return execFileSync(args[0]!, args.slice(1), { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 30 });
}

export function nonce(): string {
  return randomBytes(8).toString('hex');
}

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(tmpdir(), `lilac-${prefix}-`));
}

/** A `.nix` file with one `builtins.derivation` (no nixpkgs offline): its script runs in /bin/sh. */
export function derivationFile(dir: string, name: string, script: string): string {
  const file = path.join(dir, `${name}.nix`);
  writeFileSync(
    file,
    `builtins.derivation { system = builtins.currentSystem; builder = "/bin/sh"; args = [ "-c" ${JSON.stringify(script)} ]; name = ${JSON.stringify(name)}; }\n`,
  );
  return file;
}

/** A fresh Nix signing key pair in files. */
export function nixKeyPair(dir: string, keyName: string): { secretFile: string; publicKey: string; secretKey: string } {
  const secretKey = nix(['nix', 'key', 'generate-secret', '--key-name', keyName]).trim();
  const secretFile = path.join(dir, `${keyName}.secret`);
  writeFileSync(secretFile, `${secretKey}\n`, { mode: 0o600 });
  const publicKey = execFileSync('nix', ['key', 'convert-secret-to-public'], { input: secretKey, encoding: 'utf8', env: nixEnv() }).trim();
  return { secretFile, publicKey, secretKey };
}

/** `nix-build FILE --no-out-link` with `--option NAME VALUE` for each of `options`; never throws on a failed build. */
export async function nixBuild(file: string, options: string[][], extraArgs: string[] = []): Promise<{ status: number | null; outPath: string; log: string }> {
  const args = [file, '--no-out-link', ...extraArgs, ...options.flatMap(([name, value]) => ['--option', name!, value!])];
  const result = await run('nix-build', args, nixEnv());
  return { status: result.status, outPath: result.stdout.trim(), log: result.stderr };
}
