/**
 * The hook's own cost per output (Nix waits for it after every build) and
 * NAR hashing throughput against `nix-store --dump | sha256sum`.
 * `npm run bench -- hook`
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { formatKey, formatNarHash } from '@lilac/common';
import { startTestServer } from '@lilac/server/testing';
import { narDigestOfPath } from '../src/nar/narHash.ts';
import { buildBundle, LILAC_BIN } from '../test/support/builderSetup.ts';
import { derivationFile, nix, nixEnv, nonce, tempDir } from '../test/support/nix.ts';
import { run } from '../test/support/run.ts';

const RUNS = 50;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function hookCost(): Promise<void> {
  buildBundle();
  const server = await startTestServer();
  try {
    const builder = await server.createBuilder('bench');
    const dir = tempDir('bench-hook');
    const keyFile = path.join(dir, 'key');
    writeFileSync(keyFile, formatKey(builder.secretKey));
    const file = derivationFile(dir, 'lilac-bench', `echo bench ${nonce()} > $out`);
    const outPath = nix(['nix-build', file, '--no-out-link']).trim();
    const drvPath = nix(['nix-store', '--query', '--deriver', outPath]).trim();
    const env = {
      ...nixEnv(),
      LILAC_SERVER: server.url,
      LILAC_TOKEN: builder.token,
      LILAC_SECRET_KEY_FILE: keyFile,
      LILAC_SPOOL_DIR: path.join(dir, 'spool'),
      DRV_PATH: drvPath,
    };
    for (const [label, outPaths] of [
      ['OUT_PATHS given (newer Nix)', outPath],
      ['OUT_PATHS empty (Nix 2.8: asks nix-store --query --outputs)', ''],
    ] as const) {
      const times: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const start = process.hrtime.bigint();
        const result = await run(LILAC_BIN, ['post-build-hook'], { ...env, OUT_PATHS: outPaths });
        times.push(Number(process.hrtime.bigint() - start) / 1e6);
        if (result.status !== 0 || result.stderr !== '') throw new Error(`hook run failed: ${result.stderr}`);
      }
      times.sort((a, b) => a - b);
      console.log(`post-build-hook, one output, server local, ${label}: median ${percentile(times, 50).toFixed(1)} ms, p99 ${percentile(times, 99).toFixed(1)} ms (${RUNS} runs of bin/lilac)`);
    }
    const count = await server.context.models.Attestation.countDocuments({ builder: 'bench' });
    if (count !== 1) throw new Error(`expected one idempotent attestation, found ${count}`);
  } finally {
    await server.close();
  }
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

await hookCost();
narThroughput();
