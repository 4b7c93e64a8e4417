import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { gzipSync } from 'node:zlib';
import { after, before, test } from 'node:test';
import { narSizeOfListing, type ListingEntry } from '@lilac/common';
import { ORPHANED_AFTER_MS, OrphanedChunkSweep } from '../src/listings/orphanedChunkSweep.ts';
import { batchItem, drvPath, narHash, storePath } from './support/attestationFixtures.ts';
import { startTestServer, type TestServer } from './support/testServer.ts';

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(() => server.close());

const listing: ListingEntry[] = [
  { path: '', type: 'directory' },
  { path: 'file', type: 'regular', size: 3, sha256: createHash('sha256').update('abc').digest('hex') },
];

async function chunkUploads(): Promise<string[]> {
  return (await server.context.models.ListingChunk.find({}, { upload: 1 }).lean()).map((chunk) => chunk.upload).sort();
}

test('chunks a killed upload left without a header are swept once older than the bound; a stored listing and an upload under way are not', async () => {
  const alice = await server.createBuilder('alice');
  const outPath = storePath('chunked');
  const hash = narHash('chunked');
  const narSize = narSizeOfListing(listing);
  const attested = await server.request('/api/v1/attestations', { method: 'POST', token: alice.token, json: { attestations: [batchItem(alice, drvPath('chunked'), { outPath, narHash: hash, narSize })] } });
  assert.equal(attested.status, 200);
  const put = await server.request(`/api/v1/outputs/${outPath.slice('/nix/store/'.length)}/listing`, { method: 'PUT', token: alice.token, json: { narHash: hash, narSize, entries: listing } });
  assert.equal(put.status, 201);
  const [listed] = await chunkUploads();
  const writtenAt = new Date();
  await server.context.models.ListingChunk.collection.insertMany([
    { _id: 'killed:0', upload: 'killed', seq: 0, data: Buffer.from('x'), writtenAt },
    { _id: 'killed:1', upload: 'killed', seq: 1, data: Buffer.from('y'), writtenAt },
  ] as never);
  const sweepAt = (now: number) => new OrphanedChunkSweep(server.context.models, server.context.log, () => now).sweep();

  assert.equal(await sweepAt(Date.now()), 0, 'a young chunk may belong to an upload whose header is still to come');
  assert.deepEqual(await chunkUploads(), ['killed', 'killed', listed].sort());
  assert.equal(await sweepAt(Date.now() + ORPHANED_AFTER_MS + 1000), 2);
  assert.deepEqual(await chunkUploads(), [listed]);
  const diff = await server.request(`/api/v1/outputs/${outPath.slice('/nix/store/'.length)}/diff`);
  assert.equal(diff.status, 200, 'the stored listing still reads');
});

/** A listing of `count` files in one directory, in NAR order. */
function manyFiles(count: number): ListingEntry[] {
  const digest = createHash('sha256').update('same').digest('hex');
  return [{ path: '', type: 'directory' }, ...Array.from({ length: count }, (_, index) => ({ path: `f${String(index).padStart(8, '0')}`, type: 'regular' as const, size: 4, sha256: digest }))];
}

test('the server answers /healthz while it parses, checks and stores a large listing', async () => {
  const carol = await server.createBuilder('carol');
  const outPath = storePath('large-listing');
  const hash = narHash('large-listing');
  const entries = manyFiles(300_000);
  const narSize = narSizeOfListing(entries);
  const attested = await server.request('/api/v1/attestations', { method: 'POST', token: carol.token, json: { attestations: [batchItem(carol, drvPath('large-listing'), { outPath, narHash: hash, narSize })] } });
  assert.equal(attested.status, 200);
  const body = gzipSync(JSON.stringify({ narHash: hash, narSize, entries }));

  const order: string[] = [];
  const url = new URL(`/api/v1/outputs/${outPath.slice('/nix/store/'.length)}/listing`, server.url);
  const uploaded = new Promise<number>((resolve, reject) => {
    const request = httpRequest(url, { method: 'PUT', headers: { authorization: `Bearer ${carol.token}`, 'content-type': 'application/json', 'content-encoding': 'gzip' } }, (response) => {
      response.resume();
      response.on('end', () => {
        order.push('upload answered');
        resolve(response.statusCode ?? 0);
      });
    });
    request.on('error', reject);
    // Once the whole body is handed to the socket the server holds (nearly) all of it: ask for its health from then on.
    request.end(body, () => {
      void (async () => {
        while (!order.includes('upload answered')) {
          const health = await fetch(new URL('/healthz', server.url));
          order.push(health.status === 200 ? 'healthy' : `health ${health.status}`);
        }
      })();
    });
  });
  assert.equal(await uploaded, 201);
  assert.ok(order.indexOf('healthy') >= 0 && order.indexOf('healthy') < order.indexOf('upload answered'), `the server answered /healthz before it had stored the listing: ${order.join(', ')}`);
  const stored = await server.context.models.OutputListing.findOne({ outPath }).lean();
  assert.equal(stored?.entryCount, entries.length);
});
