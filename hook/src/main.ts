import { COMMANDS } from './cli.ts';
import { ConfigError } from './config.ts';

async function usage(): Promise<string> {
  const commands = await Promise.all(Object.entries(COMMANDS).map(async ([name, load]) => [name, await load()] as const));
  const lines = commands.map(([name, command]) => `  ${name.padEnd(16)} ${command.summary}`);
  return `usage: lilac <command> [options]\n\ncommands:\n${lines.join('\n')}\n`;
}

const [name, ...args] = process.argv.slice(2);
const load = name !== undefined && Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
if (load === undefined) {
  const asked = name === undefined || name === '--help' || name === 'help';
  process.stderr.write(asked ? await usage() : `lilac: unknown command ${name}\n\n${await usage()}`);
  process.exitCode = asked ? 0 : 2;
} else {
  const command = await load();
  if (args.includes('--help')) {
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
}
