// Bundles the CLI into dist/: `lilac.mjs` and, split off it, one chunk per
// command and the code they share, so each command loads only what it runs
// (Nix waits for the hooks after every build). Built aside and renamed in,
// chunks before the entry, so a hook starting meanwhile (a build during
// `npm ci`, test files building in parallel) never loads half a bundle.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, renameSync, rmSync, statSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const hookDir = fileURLToPath(new URL('..', import.meta.url));
const dist = path.join(hookDir, 'dist');
const chunks = path.join(dist, 'chunks');
/** Chunks of earlier builds stay this long for hooks that loaded their entry just before. */
const STALE_CHUNK_MS = 10 * 60 * 1000;

const aside = path.join(dist, `.build-${process.pid}-${randomBytes(4).toString('hex')}`);
try {
  await build({
    entryPoints: { lilac: path.join(hookDir, 'src', 'main.ts') },
    bundle: true,
    splitting: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    outdir: aside,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
    logLevel: 'warning',
  });
  mkdirSync(chunks, { recursive: true });
  const built = new Set(readdirSync(path.join(aside, 'chunks')));
  for (const name of built) renameSync(path.join(aside, 'chunks', name), path.join(chunks, name));
  renameSync(path.join(aside, 'lilac.mjs'), path.join(dist, 'lilac.mjs'));
  for (const name of readdirSync(chunks)) {
    const file = path.join(chunks, name);
    if (!built.has(name) && Date.now() - statSync(file).mtimeMs > STALE_CHUNK_MS) unlinkSync(file);
  }
} finally {
  rmSync(aside, { recursive: true, force: true });
}
