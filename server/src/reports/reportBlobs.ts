import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import type { Models } from '../store/models.ts';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);
/** Well under MongoDB's 16 MB document limit. */
const CHUNK_BYTES = 8 * 1024 * 1024;

export type BlobKind = 'sbom' | 'graph';

export async function writeBlob(models: Models, report: string, version: string, kind: BlobKind, bytes: Buffer): Promise<void> {
  const compressed = await gzipAsync(bytes);
  const docs = [];
  for (let offset = 0, seq = 0; offset < compressed.length || seq === 0; offset += CHUNK_BYTES, seq++) {
    docs.push({ report, version, kind, seq, data: compressed.subarray(offset, offset + CHUNK_BYTES) });
  }
  for (const doc of docs) await models.ReportBlob.create(doc);
}

export async function readBlob(models: Models, version: string, kind: BlobKind): Promise<Buffer> {
  const chunks = await models.ReportBlob.find({ version, kind }).sort({ seq: 1 }).lean();
  if (chunks.length === 0) throw new Error(`report blob ${kind} of version ${version} is missing`);
  return gunzipAsync(Buffer.concat(chunks.map((chunk) => bytesOf(chunk.data))));
}

/** Lean reads hand out BSON `Binary`, documents a Buffer. */
function bytesOf(data: unknown): Buffer {
  if (Buffer.isBuffer(data)) return data;
  const binary = data as { buffer: Uint8Array; position: number };
  return Buffer.from(binary.buffer.buffer, binary.buffer.byteOffset, binary.position);
}
