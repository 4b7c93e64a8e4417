/** The hook's voice: one line on stderr, which Nix shows in the build log. */
export function log(message: string): void {
  process.stderr.write(`lilac: ${message}\n`);
}
