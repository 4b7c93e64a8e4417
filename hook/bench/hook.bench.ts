/**
 * The hook's own cost per output, as the time Nix waits for it, and NAR
 * hashing throughput against `nix-store --dump | sha256sum`.
 * `npm run bench -- hook`
 *
 * Nix waits for the post-build-hook to exit and for the pipe it reads the
 * hook's output from to close, so "Nix waits" is measured two ways:
 * - inside real `nix-build`s (Nix 2.8, which leaves OUT_PATHS empty): the
 *   median build with the hook minus the median build without it, fresh
 *   derivations, the kinds interleaved; next to the wrapper (sh: records
 *   the build, attests in the background), `lilac post-build-hook` run by
 *   `lilac-run-hook` (Node attests before Nix goes on), as the wrapper did
 *   before;
 * - the nix.conf script run exactly as Nix runs it (output on a pipe, stderr
 *   merged, done when the pipe closes and the process has exited), with
 *   OUT_PATHS given (newer Nix) and empty (Nix 2.8).
 * Every attestation must then reach the server once, whenever it is sent.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { formatNarHash } from '@lilac/common';
import { startTestServer, type TestServer } from '@lilac/server/testing';
import { narDigestOfPath } from '../src/nar/narHash.ts';
import { buildBundle, builderMachine, HOOK_BIN_DIR, type BuilderMachine } from '../test/support/builderSetup.ts';
import { derivationFile, nix, nixBuild, nixEnv, nonce, tempDir } from '../test/support/nix.ts';

const BUILDS = 30;
const HOOK_RUNS = 50;

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function median(times: readonly number[]): number {
  return percentile([...times].sort((a, b) => a - b), 50);
}

function milliseconds(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Runs `program` as Nix runs its post-build-hook; resolves with the milliseconds until Nix could go on. */
function runAsNix(program: string, env: NodeJS.ProcessEnv): Promise<{ ms: number; output: string; status: number | null }> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn('sh', ['-c', 'exec "$0" 2>&1', program], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (status) => resolve({ ms: milliseconds(start), output, status }));
  });
}

async function waitFor(what: string, condition: () => Promise<boolean> | boolean): Promise<void> {
  const deadline = Date.now() + 300_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function waitForDelivery(server: TestServer, machine: BuilderMachine, builder: string, expected: number): Promise<void> {
  await waitFor(`${expected} attestation(s) from ${builder}`, async () => (await server.context.models.Attestation.countDocuments({ builder })) >= expected);
  await waitFor(`an empty spool at ${machine.spoolDir}`, () => {
    try {
      return readdirSync(machine.spoolDir).every((name) => !name.includes('.json'));
    } catch {
      return true;
    }
  });
  const count = await server.context.models.Attestation.countDocuments({ builder });
  if (count !== expected) throw new Error(`expected ${expected} attestation(s) from ${builder}, found ${count}`);
}

/** A nix.conf script running the Node post-build-hook (`lilac post-build-hook`) before Nix goes on. */
function nodeHookScript(machine: BuilderMachine): string {
  const file = path.join(tempDir('bench-node-hook'), 'post-build-hook');
  writeFileSync(file, `#!/bin/sh\nLILAC_ENV_FILE=${machine.envFile} exec ${path.join(HOOK_BIN_DIR, 'lilac-run-hook')} post-build-hook "$@"\n`);
  chmodSync(file, 0o755);
  return file;
}

async function insideNixBuild(server: TestServer): Promise<void> {
  const machine = builderMachine(await server.createBuilder('bench-nix-build'), server.url);
  const dir = tempDir('bench-nix-build');
  const kinds = [
    { label: 'plain', options: [] as string[][], times: [] as number[] },
    { label: 'wrapper', options: [['post-build-hook', machine.postBuildHook]], times: [] as number[] },
    { label: 'node', options: [['post-build-hook', nodeHookScript(machine)]], times: [] as number[] },
  ];
  for (let i = 0; i < BUILDS; i++) {
    for (const { label, options, times } of kinds) {
      const file = derivationFile(dir, `lilac-bench-${label}-${i}`, `echo ${nonce()} > $out`);
      const start = process.hrtime.bigint();
      const build = await nixBuild(file, options);
      times.push(milliseconds(start));
      if (build.status !== 0 || /^lilac: /m.test(build.log)) throw new Error(`build failed or the hook spoke: ${build.log}`);
    }
  }
  const [plain, wrapper, node] = kinds.map(({ times }) => median(times)) as [number, number, number];
  console.log(
    `post-build-hook inside nix-build (Nix 2.8, OUT_PATHS empty), one output, server local: the wrapper adds ${(wrapper - plain).toFixed(1)} ms, ` +
      `lilac post-build-hook (Node, before Nix goes on) ${(node - plain).toFixed(1)} ms ` +
      `(median build ${wrapper.toFixed(1)} ms with the wrapper, ${node.toFixed(1)} ms with the Node hook, ${plain.toFixed(1)} ms without; ${BUILDS} builds each)`,
  );
  await waitForDelivery(server, machine, 'bench-nix-build', 2 * BUILDS);
}

async function asNixRunsIt(server: TestServer): Promise<void> {
  const machine = builderMachine(await server.createBuilder('bench'), server.url);
  const file = derivationFile(tempDir('bench-hook'), 'lilac-bench', `echo bench ${nonce()} > $out`);
  const outPath = nix(['nix-build', file, '--no-out-link']).trim();
  const drvPath = nix(['nix-store', '--query', '--deriver', outPath]).trim();
  for (const [label, outPaths] of [
    ['OUT_PATHS given (newer Nix)', outPath],
    ['OUT_PATHS empty (Nix 2.8)', ''],
  ] as const) {
    const times: number[] = [];
    for (let i = 0; i < HOOK_RUNS; i++) {
      const result = await runAsNix(machine.postBuildHook, { ...nixEnv(), DRV_PATH: drvPath, OUT_PATHS: outPaths });
      times.push(result.ms);
      if (result.status !== 0 || result.output !== '') throw new Error(`hook run failed: ${result.output}`);
    }
    times.sort((a, b) => a - b);
    console.log(
      `post-build-hook run as Nix runs it, one output, server local, ${label}: median ${percentile(times, 50).toFixed(1)} ms, p99 ${percentile(times, 99).toFixed(1)} ms (${HOOK_RUNS} runs)`,
    );
  }
  // Every run attests the same output: the server keeps one.
  await waitForDelivery(server, machine, 'bench', 1);
}

/** About 100 MB: one large file, a few mid-sized ones, and thousands of small ones in nested directories. */
function hundredMegabyteTree(): string {
  const root = path.join(tempDir('bench-nar'), 'tree');
  mkdirSync(root);
  writeFileSync(path.join(root, 'large.bin'), randomBytes(60 * 1024 * 1024));
  for (let i = 0; i < 10; i++) writeFileSync(path.join(root, `mid-${i}.bin`), randomBytes(2 * 1024 * 1024));
  for (let d = 0; d < 20; d++) {
    const sub = path.join(root, `dir-${d}`);
    mkdirSync(sub);
    for (let f = 0; f < 100; f++) writeFileSync(path.join(sub, `file-${f}`), randomBytes(10 * 1024));
  }
  return root;
}

function best(times: number): (fn: () => void) => number {
  return (fn) => {
    let fastest = Number.POSITIVE_INFINITY;
    for (let i = 0; i < times; i++) {
      const start = process.hrtime.bigint();
      fn();
      fastest = Math.min(fastest, Number(process.hrtime.bigint() - start) / 1e9);
    }
    return fastest;
  };
}

function narThroughput(): void {
  const root = hundredMegabyteTree();
  let ours = { narHash: '', narSize: 0 };
  const lilacSeconds = best(3)(() => {
    ours = narDigestOfPath(root);
  });
  let theirs = '';
  const nixSeconds = best(3)(() => {
    theirs = execFileSync('sh', ['-c', 'nix-store --dump "$1" | sha256sum', 'sh', root], { env: nixEnv(), encoding: 'utf8' }).split(' ')[0]!;
  });
  if (formatNarHash(new Uint8Array(Buffer.from(theirs, 'hex'))) !== ours.narHash) throw new Error('NAR hashes differ');
  const megabytes = ours.narSize / 1e6;
  console.log(`NAR hashing, ${megabytes.toFixed(1)} MB tree (2,011 files), best of 3: lilac ${(megabytes / lilacSeconds).toFixed(0)} MB/s, nix-store --dump | sha256sum ${(megabytes / nixSeconds).toFixed(0)} MB/s`);
}

buildBundle();
const server = await startTestServer();
try {
  await insideNixBuild(server);
  await asNixRunsIt(server);
} finally {
  await server.close();
}
narThroughput();
