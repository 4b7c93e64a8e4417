import { execFile } from 'node:child_process';

/** A Nix command failed; the message ends with what Nix itself printed. */
export class NixCommandError extends Error {
  override name = 'NixCommandError';
}

/** Runs a Nix command and returns its stdout; `nix` itself gets `nix-command` enabled whatever nix.conf says. */
export function runNix(program: 'nix' | 'nix-store', args: readonly string[], timeoutMs = 30_000): Promise<string> {
  const fullArgs = program === 'nix' ? ['--extra-experimental-features', 'nix-command', ...args] : [...args];
  return new Promise((resolve, reject) => {
    execFile(program, fullArgs, { maxBuffer: 256 * 1024 * 1024, timeout: timeoutMs }, (error, stdout, stderr) => {
      if (error) reject(new NixCommandError(`${program} ${args.join(' ')} failed: ${stderr.trim() || error.message}`));
      else resolve(stdout);
    });
  });
}
