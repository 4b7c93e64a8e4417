let stamped = false;

/** The hook's voice: one line on stderr, which Nix shows in the build log. */
export function log(message: string): void {
  process.stderr.write(`${stamped ? `${new Date().toISOString()} [${process.pid}] ` : ''}lilac: ${message}\n`);
}

/** For a process whose stderr is a log file rather than a build log: each line says when and who. */
export function stampLogLines(): void {
  stamped = true;
}
