/** What the ingest benchmarks share: a server process of their own, fast signing, and timed concurrent requests. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { narinfoFingerprint } from '@lilac/common';

export interface BenchBuilder {
  readonly name: string;
  readonly token: string;
  /** Signs as `nix store sign` does; Node's crypto, since tweetnacl would take minutes for a million. */
  signFingerprint(fingerprint: string): string;
}

export interface BenchServer {
  readonly url: string;
  readonly pid: number;
  readonly builders: BenchBuilder[];
  /** The server process's resident set, in MiB (the embedded store is a process of its own, not counted). */
  rssMiB(): number;
  /** CPU seconds the server process and the store (when it runs on this machine) spent so far. */
  cpuSeconds(): { own: number; store: number };
  close(): Promise<void>;
}

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

function signerOf(keyName: string, seed: string): (fingerprint: string) => string {
  const key: KeyObject = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, Buffer.from(seed, 'base64')]), format: 'der', type: 'pkcs8' });
  return (fingerprint) => `${keyName}:${sign(null, Buffer.from(fingerprint), key).toString('base64')}`;
}

export function rssMiBOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((entry) => entry.startsWith('VmRSS:'));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? 0) / 1024;
}

/**
 * The embedded store serving MONGODB_URI (a Unix socket), when this machine runs it: `npm run bench`
 * starts one for all benchmarks, so it is no child of the bench server.
 */
function storeProcessOf(uri: string | undefined): number | null {
  const socket = /^mongodb:\/\/([^/?]+)/.exec(uri ?? '')?.[1];
  if (socket === undefined || !socket.startsWith('%2F')) return null;
  const wanted = ['-socket', decodeURIComponent(socket)];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (args.some((arg, index) => arg === wanted[0] && args[index + 1] === wanted[1])) return Number(entry);
    } catch {
      // The process ended while the list was read.
    }
  }
  return null;
}

/** CPU seconds used so far by the process, and by the store: its child processes still running (an embedded store of its own), or the one serving MONGODB_URI. */
export function cpuSecondsOf(pid: number, storePid: number | null): { own: number; store: number } {
  const ticks = (id: number) => {
    const fields = readFileSync(`/proc/${id}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  };
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  const stores = storePid === null ? children : [storePid];
  return { own: ticks(pid), store: stores.reduce((sum, store) => sum + ticks(store), 0) };
}

export async function startBenchServer(builders: number): Promise<BenchServer> {
  // e.g. LILAC_BENCH_SERVER_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' to profile the server.
  const nodeArgs = (process.env.LILAC_BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', fileURLToPath(new URL('./ingestServer.ts', import.meta.url))], {
    env: { ...process.env, LILAC_BENCH_BUILDERS: String(builders) },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines = createInterface({ input: child.stdout! });
  const first = await new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code} before it was ready`)));
  });
  const storePid = storeProcessOf(process.env.MONGODB_URI);
  const ready = JSON.parse(first) as { url: string; pid: number; builders: { name: string; keyName: string; token: string; seed: string }[] };
  return {
    url: ready.url,
    pid: ready.pid,
    builders: ready.builders.map(({ name, keyName, token, seed }) => ({ name, token, signFingerprint: signerOf(keyName, seed) })),
    rssMiB: () => rssMiBOf(ready.pid),
    cpuSeconds: () => cpuSecondsOf(ready.pid, storePid),
    async close() {
      child.stdin!.end();
      await exited;
    },
  };
}

export interface Signed {
  readonly outPath: string;
  readonly narHash: string;
  readonly narSize: number;
  readonly references: string[];
  readonly signature: string;
}

export function signed(builder: BenchBuilder, outPath: string, narHash: string): Signed {
  const narSize = 1024;
  const references: string[] = [];
  return { outPath, narHash, narSize, references, signature: builder.signFingerprint(narinfoFingerprint({ outPath, narHash, narSize, references })) };
}

export interface BenchRequest {
  readonly builder: BenchBuilder;
  readonly path: string;
  readonly body: string;
  readonly count: number;
}

export interface RunResult {
  readonly attestations: number;
  readonly seconds: number;
  readonly rate: number;
  readonly p50: number;
  readonly p99: number;
  readonly clientCpuSeconds: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;
}

/** One POST over the keep-alive connections of `agent`: Node's http client, since fetch spends about 1 ms of the bench's CPU a request, which the server would otherwise compete with. */
function post(agent: Agent, url: URL, request: BenchRequest): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const body = Buffer.from(request.body);
    const outgoing = httpRequest(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: request.path,
        method: 'POST',
        headers: { authorization: `Bearer ${request.builder.token}`, 'content-type': 'application/json', 'content-length': body.length },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

/**
 * Sends the requests from `clients` concurrent clients, each taking the next request as its previous one is answered.
 * `clientCpuSeconds` is what sending them cost this process: on a machine shared with the server, it is CPU the server did not get.
 */
export async function runRequests(url: string, clients: number, next: () => BenchRequest | null): Promise<RunResult> {
  const latencies: number[] = [];
  let attestations = 0;
  const target = new URL(url);
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  try {
    await Promise.all(
      Array.from({ length: clients }, async () => {
        for (let request = next(); request !== null; request = next()) {
          const sent = performance.now();
          const { status, text } = await post(agent, target, request);
          if (status !== 200) throw new Error(`${request.path}: ${status} ${text.slice(0, 500)}`);
          latencies.push(performance.now() - sent);
          attestations += request.count;
        }
      }),
    );
  } finally {
    agent.destroy();
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  latencies.sort((a, b) => a - b);
  return { attestations, seconds, rate: attestations / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99), clientCpuSeconds: (cpu.user + cpu.system) / 1e6 };
}
