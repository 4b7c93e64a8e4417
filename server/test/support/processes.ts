import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

const tsxLoader = import.meta.resolve('tsx');
const adminCli = fileURLToPath(new URL('../../src/admin/cli.ts', import.meta.url));

/** Runs `npm run admin -- ...` as an operator would, against the given environment, with `input` on its standard input. */
export function runAdmin(args: string[], env: NodeJS.ProcessEnv, options: { input?: string; cwd?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('node', ['--import', tsxLoader, adminCli, ...args], { cwd: options.cwd ?? repoRoot, env });
    child.stdin.end(options.input ?? '');
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

export interface ServerProcess {
  readonly url: string;
  readonly child: ChildProcessWithoutNullStreams;
  readonly output: () => string;
  /** Sends SIGTERM and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `server/src/main.ts` as `npm start` does and waits for it to listen. */
export function startServerProcess(env: NodeJS.ProcessEnv): Promise<ServerProcess> {
  const child = spawn('node', ['--import', 'tsx', 'server/src/main.ts'], { cwd: repoRoot, env: { ...env, PORT: '0' } });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 60_000);
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    let started = false;
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (started) return;
      const match = /"url":"(http:\/\/[^"]+)".*"msg":"lilac listening"/.exec(output);
      if (match?.[1]) {
        started = true;
        clearTimeout(timer);
        resolve({
          url: match[1],
          child,
          output: () => output,
          stop: () =>
            new Promise((done) => {
              child.once('exit', (code) => done(code));
              child.kill('SIGTERM');
            }),
        });
      }
    });
    child.on('exit', (code) => reject(new Error(`server exited with ${code}:\n${output}`)));
  });
}

export async function waitForHealthy(url: string, timeoutMs = 30_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await fetch(`${url}/healthz`).catch(() => null);
    if (response?.status === 200) return (await response.json()) as Record<string, unknown>;
    if (Date.now() > deadline) throw new Error(`${url} not healthy within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
