import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import type { Models } from '../store/models.ts';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);
/** Well under MongoDB's 16 MB document limit. */
const CHUNK_BYTES = 8 * 1024 * 1024;

/** Chunks asked for per read: a graph or SBOM of 50,000 components is one. */
const CHUNKS_PER_READ = 4;

export type BlobKind = 'sbom' | 'graph';

function blobChunkId(version: string, kind: BlobKind, seq: number): string {
  return `${version}:${kind}:${seq}`;
}

export async function writeBlob(models: Models, report: string, version: string, kind: BlobKind, bytes: Buffer): Promise<void> {
  const compressed = await gzipAsync(bytes);
  const docs = [];
  for (let offset = 0, seq = 0; offset < compressed.length || seq === 0; offset += CHUNK_BYTES, seq++) {
    docs.push({ _id: blobChunkId(version, kind, seq), report, version, kind, seq, data: compressed.subarray(offset, offset + CHUNK_BYTES) });
  }
  for (const doc of docs) await models.ReportBlob.create(doc);
}

export async function readBlob(models: Models, version: string, kind: BlobKind): Promise<Buffer> {
  const chunks: { seq: number; data: unknown }[] = [];
  // By `_id`, a few chunks at a time: a query on the other fields scans every blob on the embedded store.
  for (let seq = 0; ; seq += CHUNKS_PER_READ) {
    const ids = Array.from({ length: CHUNKS_PER_READ }, (_, index) => blobChunkId(version, kind, seq + index));
    const found = await models.ReportBlob.find({ _id: { $in: ids } }, { seq: 1, data: 1 }).lean();
    chunks.push(...found);
    if (found.length < CHUNKS_PER_READ) break;
  }
  if (chunks.length === 0) chunks.push(...(await models.ReportBlob.find({ version, kind }, { seq: 1, data: 1 }).lean()));
  if (chunks.length === 0) throw new Error(`report blob ${kind} of version ${version} is missing`);
  chunks.sort((a, b) => a.seq - b.seq);
  return gunzipAsync(Buffer.concat(chunks.map((chunk) => bytesOf(chunk.data))));
}

/** Lean reads hand out BSON `Binary`, documents a Buffer. */
function bytesOf(data: unknown): Buffer {
  if (Buffer.isBuffer(data)) return data;
  const binary = data as { buffer: Uint8Array; position: number };
  return Buffer.from(binary.buffer.buffer, binary.buffer.byteOffset, binary.position);
}
