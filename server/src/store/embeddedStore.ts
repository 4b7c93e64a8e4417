import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { StoreSync } from '../config.ts';
import type { Logger } from '../log.ts';

/**
 * The embedded default store: FerretDB v1 with its SQLite backend, built from
 * `server/embedded-store/main.go` with the machine's Go toolchain the first
 * time it is needed, and reused afterwards.
 */
const sourceDir = fileURLToPath(new URL('../../embedded-store/', import.meta.url));
export const embeddedStoreBinary = path.join(sourceDir, 'bin', 'ferretdb-embedded');
const patchFile = path.join(sourceDir, 'ferretdb-patches.json');
const sources = ['main.go', 'go.mod', 'go.sum', 'ferretdb-patches.json'].map((file) => path.join(sourceDir, file));

interface FerretdbPatches {
  readonly module: string;
  readonly edits: readonly { file: string; find: string; replace: string; count?: number }[];
  /** Whole files added to the module, by path. */
  readonly files?: Readonly<Record<string, string>>;
}

export class EmbeddedStoreError extends Error {
  override name = 'EmbeddedStoreError';
}

function binaryIsCurrent(): boolean {
  if (!existsSync(embeddedStoreBinary)) return false;
  const built = statSync(embeddedStoreBinary).mtimeMs;
  return sources.every((source) => statSync(source).mtimeMs <= built);
}

function goOrFail(args: string[], cwd: string, what: string): string {
  const result = spawnSync('go', args, { cwd, encoding: 'utf8', env: { ...process.env, GOFLAGS: '-mod=mod', CGO_ENABLED: '0' } });
  if (result.status !== 0) throw new EmbeddedStoreError(`${what} failed:\n${result.stderr}`);
  return result.stdout;
}

/**
 * Lays out a module tree in `buildDir` whose FerretDB is the released source
 * with `ferretdb-patches.json` applied (edits and added files), so a fix
 * never depends on a fork.
 * An edit that no longer matches exactly stops the build rather than
 * producing a store without it.
 */
function preparePatchedTree(buildDir: string): void {
  const patches = JSON.parse(readFileSync(patchFile, 'utf8')) as FerretdbPatches;
  rmSync(buildDir, { recursive: true, force: true });
  mkdirSync(buildDir, { recursive: true });
  for (const file of ['main.go', 'go.mod', 'go.sum']) copyFileSync(path.join(sourceDir, file), path.join(buildDir, file));
  const { Dir: released } = JSON.parse(goOrFail(['mod', 'download', '-json', patches.module], buildDir, `downloading ${patches.module}`)) as { Dir: string };
  const patched = path.join(buildDir, 'ferretdb');
  cpSync(released, patched, { recursive: true });
  for (const edit of patches.edits) {
    const file = path.join(patched, edit.file);
    const text = readFileSync(file, 'utf8');
    const found = text.split(edit.find).length - 1;
    if (found !== (edit.count ?? 1)) {
      throw new EmbeddedStoreError(`ferretdb-patches.json: expected ${edit.count ?? 1} match(es) in ${edit.file}, found ${found}`);
    }
    chmodSync(file, 0o644);
    writeFileSync(file, text.replaceAll(edit.find, edit.replace));
  }
  for (const [file, content] of Object.entries(patches.files ?? {})) writeFileSync(path.join(patched, file), content);
  goOrFail(['mod', 'edit', `-replace=${patches.module}=./ferretdb`], buildDir, 'pointing the build at the patched FerretDB');
}

/** Builds the store binary unless an up-to-date one exists; safe to call from several processes at once. */
export function ensureEmbeddedStoreBinary(log?: Logger): string {
  if (binaryIsCurrent()) return embeddedStoreBinary;
  const go = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (go.error || go.status !== 0) {
    throw new EmbeddedStoreError(
      'The embedded store (FerretDB) is built with Go, and no `go` command was found. ' +
        'Either install Go 1.22 or newer (Debian: `apt-get install golang-go`, or https://go.dev/dl) ' +
        'or set MONGODB_URI to a MongoDB server, e.g. `docker compose up -d mongodb` and ' +
        'MONGODB_URI=mongodb://127.0.0.1:27017/?replicaSet=rs0.',
    );
  }
  log?.info({ go: go.stdout.trim() }, 'building the embedded FerretDB store (first run only)');
  const started = Date.now();
  mkdirSync(path.dirname(embeddedStoreBinary), { recursive: true });
  // Each build has its own tree and output beside the target, renamed into place, so concurrent builds or starts never see half a binary.
  const buildDir = path.join(sourceDir, 'bin', `build.${process.pid}`);
  const partial = `${embeddedStoreBinary}.${process.pid}.partial`;
  try {
    preparePatchedTree(buildDir);
    goOrFail(['build', '-trimpath', '-o', partial, '.'], buildDir, 'go build of the embedded store');
    renameSync(partial, embeddedStoreBinary);
  } finally {
    rmSync(buildDir, { recursive: true, force: true });
    rmSync(partial, { force: true });
  }
  log?.info({ seconds: (Date.now() - started) / 1000 }, 'built the embedded FerretDB store');
  return embeddedStoreBinary;
}

/** `running` while the store process serves; `restarting` from its unexpected death until a new one listens. */
export type EmbeddedStoreState = 'running' | 'restarting' | 'stopped';

export interface EmbeddedStore {
  readonly uri: string;
  readonly dataDir: string;
  /** Whether this process started the store (and restarts it) or joined one another lilac process runs. */
  readonly joined: boolean;
  state(): EmbeddedStoreState;
  stop(): Promise<void>;
}

export interface EmbeddedStoreOptions {
  readonly dataDir: string;
  /** `Config.storeSync`; `full` when not given. */
  readonly sync?: StoreSync;
  readonly log?: Logger;
}

/** Written into the data directory while a store runs on it, so other lilac processes join it instead of opening the same files twice. */
interface Announcement {
  readonly uri: string;
  /** The lilac process that runs (and restarts) the store. */
  readonly pid: number;
  /** That process's start time (Linux), so a recycled pid is not mistaken for it. */
  readonly processStart: string | null;
  /** The FerretDB process serving now, for operators (and tests) that need to find it. */
  readonly storePid: number | undefined;
}

function announcementFile(dataDir: string): string {
  return path.join(dataDir, 'embedded-store.json');
}

/** `sun_path` holds 108 bytes with its terminating NUL on Linux (104 on macOS). */
const MAX_SOCKET_PATH_BYTES = 103;

/**
 * The store listens on a Unix socket inside the data directory, which only
 * lilac's user may enter: FerretDB has no authentication, and on TCP loopback
 * every local user could write into it. A data directory too deep for a socket
 * path is reached through a short symbolic link in a private temporary
 * directory; the socket itself still lives in the data directory.
 */
function socketPathFor(dataDir: string): { socket: string; alias: string | null } {
  const socket = path.join(dataDir, 'ferretdb.sock');
  if (Buffer.byteLength(socket) <= MAX_SOCKET_PATH_BYTES) return { socket, alias: null };
  const alias = mkdtempSync(path.join(tmpdir(), 'lilac-'));
  symlinkSync(dataDir, path.join(alias, 'data'));
  const short = path.join(alias, 'data', 'ferretdb.sock');
  if (Buffer.byteLength(short) > MAX_SOCKET_PATH_BYTES) {
    rmSync(alias, { recursive: true, force: true });
    throw new EmbeddedStoreError(`no socket path short enough for the embedded store: set TMPDIR to a shorter directory than ${tmpdir()}`);
  }
  return { socket: short, alias };
}

/** The MongoDB driver reads a percent-encoded host ending in `.sock` as a Unix socket path. */
export function socketUri(socket: string): string {
  return `mongodb://${encodeURIComponent(socket)}/`;
}

function socketOf(uri: string): string | null {
  const match = /^mongodb:\/\/([^/?]+\.sock)\//.exec(uri);
  return match?.[1] ? decodeURIComponent(match[1]) : null;
}

/** Whether something accepts connections on the socket: a dying store has closed its listener. */
function socketAnswers(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const connection = connect(socket);
    const done = (answers: boolean) => {
      connection.destroy();
      resolve(answers);
    };
    connection.setTimeout(2_000, () => done(false));
    connection.once('connect', () => done(true));
    connection.once('error', () => done(false));
  });
}

type ProcessLife = { readonly alive: false } | { readonly alive: true; readonly start: string | null };

/** Whether a process lives (a zombie does not), and its start time where Linux's `/proc` tells it. */
function processLife(pid: number): ProcessLife {
  if (existsSync('/proc/self/stat')) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      return { alive: false };
    }
    // The command name in parentheses may hold spaces; fields are counted after it. Field 22 is the start time.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' ? { alive: false } : { alive: true, start: fields[19] ?? null };
  }
  try {
    process.kill(pid, 0);
    return { alive: true, start: null };
  } catch {
    return { alive: false };
  }
}

function ownerAlive(announced: Announcement): boolean {
  const life = processLife(announced.pid);
  return life.alive && (life.start === null || life.start === announced.processStart);
}

function readAnnouncement(dataDir: string): Announcement | null {
  try {
    return JSON.parse(readFileSync(announcementFile(dataDir), 'utf8')) as Announcement;
  } catch {
    return null;
  }
}

/** Longer than the longest restart backoff, so a server restarting its store is waited for, not raced. */
const JOIN_WAIT_MS = 20_000;

/**
 * Joins the store another lilac process (the server, say) runs on this data
 * directory, or starts one. A store is joined only when it answers: the
 * announcement of a process that died uncleanly, or whose pid now belongs to
 * another program, is replaced. Only the process that started it stops it.
 */
export async function startOrJoinEmbeddedStore(options: EmbeddedStoreOptions): Promise<EmbeddedStore> {
  const announced = readAnnouncement(options.dataDir);
  const socket = announced ? socketOf(announced.uri) : null;
  if (announced && socket) {
    const deadline = Date.now() + JOIN_WAIT_MS;
    for (;;) {
      if (await socketAnswers(socket)) {
        options.log?.info({ uri: announced.uri, pid: announced.pid }, 'joining the embedded store already running on this data directory');
        return { uri: announced.uri, dataDir: options.dataDir, joined: true, state: () => 'running', stop: () => Promise.resolve() };
      }
      if (!ownerAlive(announced) || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    options.log?.warn({ pid: announced.pid }, 'the embedded store announced on this data directory does not answer; starting a new one');
  }
  return startEmbeddedStore(options);
}

/** Restarts after an unexpected death wait this long, doubling up to the maximum; a store that ran this long resets it. */
const RESTART_INITIAL_DELAY_MS = 250;
const RESTART_MAX_DELAY_MS = 10_000;
const RESTART_STABLE_MS = 60_000;

/** Starts FerretDB on the data directory and restarts it, with backoff, whenever it dies until `stop()`. */
export async function startEmbeddedStore(options: EmbeddedStoreOptions): Promise<EmbeddedStore> {
  const binary = ensureEmbeddedStoreBinary(options.log);
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  // A directory made before lilac restricted it keeps its old mode otherwise.
  chmodSync(options.dataDir, 0o700);
  const { socket, alias } = socketPathFor(options.dataDir);
  const uri = socketUri(socket);
  const log = options.log;

  let child: ChildProcess;
  let state: EmbeddedStoreState = 'running';
  let failures = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  const announcement = announcementFile(options.dataDir);
  const self = processLife(process.pid);
  const announce = () => {
    const announced: Announcement = { uri, pid: process.pid, processStart: self.alive ? self.start : null, storePid: child.pid };
    writeFileSync(announcement, JSON.stringify(announced), { mode: 0o600 });
  };

  const supervise = (running: ChildProcess, startedAt: number) => {
    running.once('exit', (code, signal) => {
      if (state === 'stopped') return;
      state = 'restarting';
      if (Date.now() - startedAt >= RESTART_STABLE_MS) failures = 0;
      scheduleRestart({ code, signal });
    });
  };
  const scheduleRestart = (why: object) => {
    const delay = Math.min(RESTART_MAX_DELAY_MS, RESTART_INITIAL_DELAY_MS * 2 ** failures);
    failures += 1;
    log?.error({ ...why, retryInMs: delay }, 'embedded store is down; restarting it');
    restartTimer = setTimeout(() => {
      spawnStore(binary, options.dataDir, socket, options.sync ?? 'full', log).then(
        (restarted) => {
          if (state === 'stopped') return void stopChild(restarted);
          child = restarted;
          state = 'running';
          announce();
          log?.info({ uri }, 'embedded store restarted');
          supervise(restarted, Date.now());
        },
        (error: unknown) => {
          if (state !== 'stopped') scheduleRestart({ err: (error as Error).message });
        },
      );
    }, delay);
  };

  try {
    child = await spawnStore(binary, options.dataDir, socket, options.sync ?? 'full', log);
  } catch (error) {
    if (alias) rmSync(alias, { recursive: true, force: true });
    throw error;
  }
  supervise(child, Date.now());
  log?.info({ uri, dataDir: options.dataDir }, 'embedded FerretDB store listening');
  announce();
  return {
    uri,
    dataDir: options.dataDir,
    joined: false,
    state: () => state,
    async stop() {
      state = 'stopped';
      clearTimeout(restartTimer);
      await stopChild(child);
      if (readAnnouncement(options.dataDir)?.pid === process.pid) rmSync(announcement, { force: true });
      if (alias) rmSync(alias, { recursive: true, force: true });
    },
  };
}

/** Starts one FerretDB process and resolves once it listens. */
async function spawnStore(binary: string, dataDir: string, socket: string, sync: StoreSync, log: Logger | undefined): Promise<ChildProcess> {
  // stdin stays a pipe we hold: when this process dies, it closes and the store exits with it.
  const child = spawn(binary, ['-socket', socket, '-data-dir', dataDir, '-synchronous', sync, '-log-level', 'error'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderrTail = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderrTail = (stderrTail + chunk).slice(-4000);
    for (const line of chunk.split('\n')) if (line.trim()) log?.error({ ferretdb: line }, 'embedded store');
  });
  await new Promise<void>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once('line', (line) => {
      try {
        if ((JSON.parse(line) as { socket?: string }).socket === socket) return resolve();
      } catch {
        // reported below
      }
      reject(new EmbeddedStoreError(`unexpected first line from the embedded store: ${line}`));
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new EmbeddedStoreError(`embedded store exited with ${code} before listening:\n${stderrTail}`)));
  });
  return child;
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(killer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
