import { COMMANDS } from './cli.ts';
import { ConfigError } from './config.ts';

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, command]) => `  ${name.padEnd(16)} ${command.summary}`);
  return `usage: lilac <command> [options]\n\ncommands:\n${lines.join('\n')}\n`;
}

const [name, ...args] = process.argv.slice(2);
const command = name === undefined ? undefined : COMMANDS[name];
if (command === undefined) {
  process.stderr.write(name === undefined || name === '--help' || name === 'help' ? usage() : `lilac: unknown command ${name}\n\n${usage()}`);
  process.exitCode = name === undefined || name === '--help' || name === 'help' ? 0 : 2;
} else if (args.includes('--help')) {
  process.stdout.write(`${command.usage}\n`);
} else {
  try {
    process.exitCode = await command.run(args, process.env);
  } catch (error) {
    const known = error instanceof ConfigError || (error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS');
    process.stderr.write(`lilac ${name}: ${known ? (error as Error).message : (error as Error).stack}\n`);
    process.exitCode = known ? 2 : 1;
  }
}
