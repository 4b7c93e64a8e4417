import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
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
