import { randomUUID } from 'node:crypto';
import { insertNew } from '../store/insertNew.ts';
import type { Models } from '../store/models.ts';
import { chunkId, listingId } from './listingModel.ts';

/** Well under MongoDB's 16 MiB document limit; a million entries gzip to about 60 MB, eight chunks. */
const CHUNK_BYTES = 8 * 1024 * 1024;
const CHUNKS_PER_READ = 4;

export interface ListingToStore {
  readonly outPath: string;
  readonly narHash: string;
  readonly narSize: number;
  readonly entryCount: number;
  /** The entries as gzipped JSON (listingCodec.ts). */
  readonly compressed: Uint8Array;
  readonly builder: string;
}

/** Lean reads hand out BSON `Binary`, documents a Buffer. */
export function bytesOf(data: unknown): Buffer {
  if (Buffer.isBuffer(data)) return data;
  const binary = data as { buffer: Uint8Array; position: number };
  return Buffer.from(binary.buffer.buffer, binary.buffer.byteOffset, binary.position);
}

/**
 * Stores a checked listing once per (output, NAR hash): the chunks under a
 * name of this upload's own, then the header, whose unique `_id` decides
 * who stored it. Returns false when another upload got there first (its
 * chunks stay, this one's go). A crash before the header leaves chunks no
 * header names, never a listing that reads short.
 */
export async function storeListing(models: Models, listing: ListingToStore): Promise<boolean> {
  const _id = listingId(listing.outPath, listing.narHash);
  if (await models.OutputListing.exists({ _id })) return false;
  const compressed = Buffer.from(listing.compressed.buffer, listing.compressed.byteOffset, listing.compressed.byteLength);
  const upload = randomUUID();
  const writtenAt = new Date();
  let chunks = 0;
  for (let offset = 0; offset < compressed.length || chunks === 0; offset += CHUNK_BYTES, chunks++) {
    await models.ListingChunk.collection.insertOne({ _id: chunkId(upload, chunks), upload, seq: chunks, data: compressed.subarray(offset, offset + CHUNK_BYTES), writtenAt } as never);
  }
  const header = {
    _id,
    outPath: listing.outPath,
    narHash: listing.narHash,
    narSize: listing.narSize,
    entryCount: listing.entryCount,
    upload,
    chunks,
    builder: listing.builder,
    storedAt: new Date(),
  };
  const taken = await insertNew(models.OutputListing.collection, [header]);
  if (taken.size === 0) return true;
  await models.ListingChunk.collection.deleteMany({ _id: { $in: Array.from({ length: chunks }, (_, seq) => chunkId(upload, seq)) } } as never);
  return false;
}

/** A stored listing as gzipped JSON, or null when none is stored for that hash. */
export async function readCompressedListing(models: Models, outPath: string, narHash: string): Promise<Buffer | null> {
  const header = await models.OutputListing.findOne({ _id: listingId(outPath, narHash) }).lean();
  if (!header) return null;
  const parts: { seq: number; data: unknown }[] = [];
  for (let seq = 0; seq < header.chunks; seq += CHUNKS_PER_READ) {
    const ids = Array.from({ length: Math.min(CHUNKS_PER_READ, header.chunks - seq) }, (_, index) => chunkId(header.upload, seq + index));
    parts.push(...(await models.ListingChunk.find({ _id: { $in: ids } }, { seq: 1, data: 1 }).lean()));
  }
  if (parts.length !== header.chunks) throw new Error(`listing of ${outPath} (${narHash}) has ${parts.length} of its ${header.chunks} chunks`);
  parts.sort((a, b) => a.seq - b.seq);
  return Buffer.concat(parts.map((part) => bytesOf(part.data)));
}

/** Of the given (output, NAR hash) pairs, the `listingId`s a listing is stored for: one `_id: {$in}` read. */
export async function storedListingIds(models: Models, pairs: readonly { outPath: string; narHash: string }[]): Promise<Set<string>> {
  if (pairs.length === 0) return new Set();
  const ids = [...new Set(pairs.map(({ outPath, narHash }) => listingId(outPath, narHash)))];
  const found = await models.OutputListing.collection.find({ _id: { $in: ids } } as never, { projection: { _id: 1 } }).toArray();
  return new Set(found.map((document) => String(document._id)));
}

/**
 * Deletes the chunks written before `writtenBefore` that no header names:
 * an upload killed between its chunks and its header left them. Reads the
 * old chunks' upload names only (not their data), then the headers naming
 * those uploads. Returns how many chunks went.
 */
export async function sweepOrphanedChunks(models: Models, writtenBefore: Date): Promise<number> {
  const old = await models.ListingChunk.collection.find({ writtenAt: { $lt: writtenBefore } } as never, { projection: { upload: 1 } }).toArray();
  if (old.length === 0) return 0;
  const uploads = [...new Set(old.map((chunk) => String(chunk.upload)))];
  const named = await models.OutputListing.collection.find({ upload: { $in: uploads } } as never, { projection: { upload: 1 } }).toArray();
  const listed = new Set(named.map((header) => String(header.upload)));
  const orphans = old.filter((chunk) => !listed.has(String(chunk.upload))).map((chunk) => chunk._id);
  if (orphans.length === 0) return 0;
  const { deletedCount } = await models.ListingChunk.collection.deleteMany({ _id: { $in: orphans } } as never);
  return deletedCount;
}
