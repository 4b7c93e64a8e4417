/**
 * The cost of a file listing: NAR hashing a 100 MiB tree alone, against NAR
 * hashing it and listing it in the same walk (each file read once, its bytes
 * fed to the NAR hash and to the file's own SHA-256), and against what two
 * walks would cost (the NAR hash, then a walk hashing each file for the
 * listing). Two trees of the same size: a few large files, and many small
 * ones (per-file costs show).
 * `npm run bench -- listing`
 *
 * The listing's file hashes run on a second thread: with a free core the
 * wall-clock cost stays near the NAR hash's, the CPU cost does not.
 * The trees sit in the page cache (written just before, read once untimed),
 * so the figures are hashing, not the disk. Walks alternate, and each figure
 * is the median of several.
 */
import { createHash, randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { narDigestAndListingOfPath, narDigestOfPath } from '../src/nar/narHash.ts';
import { tempDir } from '../test/support/nix.ts';

const TREE_BYTES = 100 * 1024 * 1024;
const ROUNDS = 7;

function tree(fileBytes: number): string {
  const root = path.join(tempDir('listing-bench'), 'out');
  const files = TREE_BYTES / fileBytes;
  const perDir = 256;
  const block = randomBytes(fileBytes);
  for (let index = 0; index < files; index++) {
    const dir = path.join(root, `d${Math.floor(index / perDir)}`);
    if (index % perDir === 0) mkdirSync(dir, { recursive: true });
    // Same length, different bytes: the first 8 name the file.
    block.writeBigUInt64LE(BigInt(index));
    writeFileSync(path.join(dir, `f${index}`), block);
  }
  return root;
}

/** The reference a second walk would be: every file read again and SHA-256-hashed on its own. */
function listingWalk(dir: string): number {
  let files = 0;
  for (const name of readdirSync(dir).sort()) {
    const child = path.join(dir, name);
    if (lstatSync(child).isDirectory()) files += listingWalk(child);
    else {
      createHash('sha256').update(readFileSync(child)).digest('hex');
      files += 1;
    }
  }
  return files;
}

/** Wall-clock seconds; the CPU seconds of this process (both threads) are added to `cpu`. */
function seconds(action: () => void, cpu?: number[]): number {
  const start = process.hrtime.bigint();
  const used = process.cpuUsage();
  action();
  const { user, system } = process.cpuUsage(used);
  cpu?.push((user + system) / 1e6);
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

for (const [label, fileBytes] of [
  ['100 files of 1 MiB', 1024 * 1024],
  ['25,600 files of 4 KiB', 4 * 1024],
] as const) {
  const root = tree(fileBytes);
  narDigestOfPath(root);
  const hashOnly: number[] = [];
  const withListing: number[] = [];
  const cpuAlone: number[] = [];
  const cpuListed: number[] = [];
  const secondWalk: number[] = [];
  let entries = 0;
  for (let round = 0; round < ROUNDS; round++) {
    hashOnly.push(seconds(() => narDigestOfPath(root), cpuAlone));
    secondWalk.push(seconds(() => listingWalk(root)));
    withListing.push(
      seconds(() => {
        entries = narDigestAndListingOfPath(root).entries?.length ?? 0;
      }, cpuListed),
    );
  }
  const mbPerSecond = (time: number) => TREE_BYTES / 1e6 / time;
  const alone = median(hashOnly);
  const listed = median(withListing);
  const twoWalks = alone + median(secondWalk);
  console.log(
    `${label} (${entries} listing entries): NAR hash alone ${mbPerSecond(alone).toFixed(0)} MB/s, ` +
      `NAR hash + listing in one walk ${mbPerSecond(listed).toFixed(0)} MB/s (${(listed / alone).toFixed(2)}× the time), ` +
      `in two walks ${mbPerSecond(twoWalks).toFixed(0)} MB/s (${(twoWalks / alone).toFixed(2)}×); ` +
      `CPU seconds ${median(cpuAlone).toFixed(2)} alone, ${median(cpuListed).toFixed(2)} with the listing (its file hashes run on a second thread)`,
  );
}
