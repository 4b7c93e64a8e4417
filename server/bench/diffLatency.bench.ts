/**
 * The time from a differing rebuild's attestation to the file list on an
 * open output page: alice's copy of each output is attested and listed;
 * bob's rebuild attests another hash, is asked for his listing
 * (`listingWanted`) and uploads it, as `lilac rebuild` does; a `/monitor`
 * client standing in for the open page hears `output:diff` and fetches the
 * diff, as the page does. Timed from bob's attestation to the diff answer
 * naming the differing file. Outputs of `DIFF_LATENCY_ENTRIES` entries
 * (default 1,000), `DIFF_LATENCY_RUNS` of them (default 20); prints the median
 * and the slowest. Builders and page talk HTTP and Socket.IO to a real server
 * and store; no Nix build is timed (`npm run bench -- listing` has the hook's cost).
 * `npm run bench -- diffLatency`
 */
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { narSizeOfListing, type AttestationResult, type ListingEntry, type OutputDiff, type OutputDiffEvent } from '@lilac/common';
import { io as connect } from 'socket.io-client';
import { batchItem, drvPath, narHash, storePath } from '../test/support/attestationFixtures.ts';
import { startTestServer, type TestBuilder, type TestServer } from '../test/support/testServer.ts';

const ENTRIES = Number(process.env.DIFF_LATENCY_ENTRIES ?? 1000);
const RUNS = Number(process.env.DIFF_LATENCY_RUNS ?? 20);

function listing(variant: string): ListingEntry[] {
  const file = (name: string, contents: string): ListingEntry => ({ path: name, type: 'regular', size: contents.length, sha256: createHash('sha256').update(contents).digest('hex') });
  const entries: ListingEntry[] = [{ path: '', type: 'directory' }, file('random', `random ${variant}`)];
  for (let index = 0; entries.length < ENTRIES; index++) entries.push(file(`share-${String(index).padStart(7, '0')}`, `fixed ${index}`));
  return entries;
}

async function attest(server: TestServer, builder: TestBuilder, outPath: string, hash: string, entries: ListingEntry[]): Promise<AttestationResult> {
  const item = batchItem(builder, drvPath('latency'), { outPath, narHash: hash, narSize: narSizeOfListing(entries) });
  const response = await server.request('/api/v1/attestations', { method: 'POST', token: builder.token, json: { attestations: [item] } });
  if (response.status !== 200) throw new Error(await response.text());
  return ((await response.json()) as { results: AttestationResult[] }).results[0] as AttestationResult;
}

async function putListing(server: TestServer, builder: TestBuilder, outPath: string, hash: string, entries: ListingEntry[]): Promise<void> {
  const body = gzipSync(JSON.stringify({ narHash: hash, narSize: narSizeOfListing(entries), entries }));
  const response = await server.request(`/api/v1/outputs/${outPath.slice('/nix/store/'.length)}/listing`, {
    method: 'PUT',
    token: builder.token,
    headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    body,
  });
  if (response.status !== 201) throw new Error(`${response.status} ${await response.text()}`);
}

const server = await startTestServer();
const page = connect(`${server.url}/monitor`, { transports: ['websocket'] });
await new Promise<void>((resolve) => page.once('connect', () => resolve()));
try {
  const [alice, bob] = await Promise.all([server.createBuilder('alice'), server.createBuilder('bob')]);
  const [copyA, copyB] = [listing('a'), listing('b')];
  const times: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const name = `latency-${run}`;
    const outPath = storePath(name);
    const [hashA, hashB] = [narHash(`${name}-a`), narHash(`${name}-b`)];
    await attest(server, alice, outPath, hashA, copyA);
    await putListing(server, alice, outPath, hashA, copyA);
    // The open page: refetches the diff on each event about its output, until the file list is there.
    const shown = new Promise<number>((resolve) => {
      const listener = (event: OutputDiffEvent) => {
        if (event.outPath !== outPath) return;
        void (async () => {
          const diff = (await (await server.request(`/api/v1/outputs/${outPath.slice('/nix/store/'.length)}/diff`)).json()) as OutputDiff;
          if (diff.pairs[0]?.differences.some((difference) => difference.path === 'random')) {
            page.off('output:diff', listener);
            resolve(performance.now());
          }
        })();
      };
      page.on('output:diff', listener);
    });
    const started = performance.now();
    const answer = await attest(server, bob, outPath, hashB, copyB);
    if (answer.listingWanted !== true) throw new Error(`bob's attestation of ${outPath} was not asked for a listing`);
    await putListing(server, bob, outPath, hashB, copyB);
    times.push((await shown) - started);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)] as number;
  console.log(`attestation of a differing rebuild to its file list on an open output page (${ENTRIES} entries, ${RUNS} outputs): median ${median.toFixed(0)} ms, slowest ${(times.at(-1) as number).toFixed(0)} ms`);
} finally {
  page.disconnect();
  await server.close();
}
