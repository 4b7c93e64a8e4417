import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
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

export interface EmbeddedStore {
  readonly uri: string;
  readonly dataDir: string;
  stop(): Promise<void>;
}

export interface EmbeddedStoreOptions {
  readonly dataDir: string;
  readonly log?: Logger;
  /** Defaults to a free loopback port picked by the kernel. */
  readonly listen?: string;
}

/** Written into the data directory while a store runs on it, so other lilac processes join it instead of opening the same files twice. */
function announcementFile(dataDir: string): string {
  return path.join(dataDir, 'embedded-store.json');
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function runningStoreOn(dataDir: string): { uri: string; pid: number } | null {
  try {
    const announced = JSON.parse(readFileSync(announcementFile(dataDir), 'utf8')) as { uri: string; pid: number };
    return isAlive(announced.pid) ? announced : null;
  } catch {
    return null;
  }
}

/**
 * Joins the store another lilac process (the server, say) runs on this data
 * directory, or starts one. Only the process that started it stops it.
 */
export async function startOrJoinEmbeddedStore(options: EmbeddedStoreOptions): Promise<EmbeddedStore> {
  const running = runningStoreOn(options.dataDir);
  if (running) {
    options.log?.info({ uri: running.uri, pid: running.pid }, 'joining the embedded store already running on this data directory');
    return { uri: running.uri, dataDir: options.dataDir, stop: () => Promise.resolve() };
  }
  return startEmbeddedStore(options);
}

export async function startEmbeddedStore(options: EmbeddedStoreOptions): Promise<EmbeddedStore> {
  const binary = ensureEmbeddedStoreBinary(options.log);
  mkdirSync(options.dataDir, { recursive: true });
  // stdin stays a pipe we hold: when this process dies, it closes and the store exits with it.
  const child = spawn(binary, ['-listen', options.listen ?? '127.0.0.1:0', '-data-dir', options.dataDir, '-log-level', 'error'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderrTail = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    stderrTail = (stderrTail + chunk).slice(-4000);
    for (const line of chunk.split('\n')) if (line.trim()) options.log?.error({ ferretdb: line }, 'embedded store');
  });
  const uri = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once('line', (line) => {
      try {
        resolve((JSON.parse(line) as { uri: string }).uri);
      } catch {
        reject(new EmbeddedStoreError(`unexpected first line from the embedded store: ${line}`));
      }
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new EmbeddedStoreError(`embedded store exited with ${code} before listening:\n${stderrTail}`)));
  });
  options.log?.info({ uri, dataDir: options.dataDir }, 'embedded FerretDB store listening');
  const announcement = announcementFile(options.dataDir);
  writeFileSync(announcement, JSON.stringify({ uri, pid: child.pid }));
  return {
    uri,
    dataDir: options.dataDir,
    async stop() {
      await stopChild(child);
      rmSync(announcement, { force: true });
    },
  };
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
