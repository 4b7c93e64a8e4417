/**
 * File listings at the entry bound: two copies of an output of 1,000,000
 * entries (1,000 directories of 999 files; `LISTING_BENCH_ENTRIES`) differing in 10 files are
 * uploaded gzipped, then diffed. Prints upload and diff times, the gzipped
 * size and how many chunks a listing takes.
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { DEFAULT_MAX_LISTING_ENTRIES, narSizeOfListing, type ListingEntry, type OutputDiff } from '@lilac/common';
import { batchItem, drvPath, narHash, storePath } from '../test/support/attestationFixtures.ts';
import { startTestServer, type TestBuilder, type TestServer } from '../test/support/testServer.ts';

/** `LISTING_BENCH_ENTRIES` smaller than the bound (a multiple of 1,000) makes a quicker run. */
const ENTRIES = Number(process.env.LISTING_BENCH_ENTRIES ?? DEFAULT_MAX_LISTING_ENTRIES);
const FILES_PER_DIRECTORY = 999;
const DIRECTORIES = ENTRIES / (FILES_PER_DIRECTORY + 1);
const DIFFERING = 10;

function listing(variant: string): ListingEntry[] {
  const entries: ListingEntry[] = [{ path: '', type: 'directory' }];
  for (let directory = 0; directory < DIRECTORIES; directory++) {
    const name = `share/lib-${String(directory).padStart(4, '0')}`;
    if (directory === 0) entries.push({ path: 'share', type: 'directory' });
    entries.push({ path: name, type: 'directory' });
    for (let file = 0; file < FILES_PER_DIRECTORY - (directory === 0 ? 2 : 0); file++) {
      const differs = directory < DIFFERING && file === 0;
      const contents = `${name}/${file}${differs ? variant : ''}`;
      entries.push({ path: `${name}/module-${String(file).padStart(4, '0')}.py`, type: 'regular', size: contents.length, sha256: createHash('sha256').update(contents).digest('hex') });
    }
  }
  return entries;
}

async function upload(server: TestServer, builder: TestBuilder, base: string, hash: string, entries: ListingEntry[]): Promise<{ ms: number; gzipped: number }> {
  const body = gzipSync(JSON.stringify({ narHash: hash, narSize: narSizeOfListing(entries), entries }));
  const started = performance.now();
  const response = await server.request(`/api/v1/outputs/${base}/listing`, { method: 'PUT', token: builder.token, headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body });
  if (response.status !== 201) throw new Error(`${response.status} ${await response.text()}`);
  return { ms: performance.now() - started, gzipped: body.length };
}

const server = await startTestServer({ requestTimeoutMs: 600_000, headersTimeoutMs: 600_000 });
try {
  const [alice, bob] = await Promise.all([server.createBuilder('alice'), server.createBuilder('bob')]);
  const outPath = storePath('million-files');
  const drv = drvPath('million-files');
  const base = outPath.slice('/nix/store/'.length);
  const built = performance.now();
  const copies = [listing('a'), listing('b!')] as const;
  console.log(`built two listings in ${(performance.now() - built).toFixed(0)} ms`);
  console.log(`listing: ${copies[0].length} entries`);
  const hashes = [narHash('million-a'), narHash('million-b')] as const;
  for (const [index, builder] of [alice, bob].entries()) {
    const item = batchItem(builder, drv, { outPath, narHash: hashes[index]!, narSize: narSizeOfListing(copies[index]!) });
    const response = await server.request('/api/v1/attestations', { method: 'POST', token: builder.token, json: { attestations: [item] } });
    if (response.status !== 200) throw new Error(await response.text());
  }
  for (const [index, builder] of [alice, bob].entries()) {
    const { ms, gzipped } = await upload(server, builder, base, hashes[index]!, copies[index]!);
    console.log(`upload ${builder.name}: ${(gzipped / 1e6).toFixed(1)} MB gzipped in ${ms.toFixed(0)} ms (checked, stored, diffed and announced)`);
  }
  const chunks = await server.context.models.ListingChunk.countDocuments();
  console.log(`stored: ${chunks} chunks for 2 listings`);
  const started = performance.now();
  const response = await server.request(`/api/v1/outputs/${base}/diff`);
  const diff = (await response.json()) as OutputDiff;
  console.log(`diff: ${diff.pairs[0]?.differenceCount} differing files of ${copies[0].length} entries in ${(performance.now() - started).toFixed(0)} ms (the pair diffed once, at the second upload)`);
} finally {
  await server.close();
}
