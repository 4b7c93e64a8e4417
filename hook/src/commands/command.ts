/** A `lilac` subcommand: gets its arguments (after the command name) and the environment, returns the exit code. */
export interface Command {
  readonly summary: string;
  readonly usage: string;
  run(args: string[], env: NodeJS.ProcessEnv): Promise<number>;
}
