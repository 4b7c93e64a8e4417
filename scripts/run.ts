import { spawn } from 'node:child_process';

/** Runs a command with inherited output; resolves with its exit code. */
export function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: 'inherit', env });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

export async function step(title: string, command: string, args: string[], env?: NodeJS.ProcessEnv): Promise<void> {
  console.log(`\n== ${title}`);
  const code = await run(command, args, env);
  if (code !== 0) {
    console.error(`== ${title} failed (exit ${code})`);
    process.exit(code);
  }
}
