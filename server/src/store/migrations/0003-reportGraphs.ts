import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import { mongo } from 'mongoose';
import type { Logger } from '../../log.ts';
import { parseCycloneDx } from '../../reports/cyclonedx.ts';
import { outPathsOf } from '../../reports/reportGraph.ts';
import type { Migration } from './migration.ts';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);
/** As `reportBlobs.ts` writes them: well under MongoDB's 16 MB document limit. */
const CHUNK_BYTES = 8 * 1024 * 1024;
const SUFFIX = '+reparsed';

interface Blob {
  report: string;
  version: string;
  kind: 'sbom' | 'graph';
  seq: number;
  data: mongo.Binary;
}

async function readBlob(blobs: mongo.Collection<Blob>, version: string, kind: Blob['kind']): Promise<Buffer | null> {
  const chunks = await blobs.find({ version, kind }).sort({ seq: 1 }).toArray();
  if (chunks.length === 0) return null;
  return gunzipAsync(Buffer.concat(chunks.map((chunk) => Buffer.from(chunk.data.buffer))));
}

async function reparse(db: mongo.Db, report: { _id: unknown; name: string; version: string }, log: Logger): Promise<boolean> {
  const blobs = db.collection<Blob>('report_blobs');
  if (report.version.endsWith(SUFFIX)) {
    // Switched before a crash: only the replaced blobs may be left.
    await blobs.deleteMany({ version: report.version.slice(0, -SUFFIX.length) });
    return false;
  }
  const sbom = await readBlob(blobs, report.version, 'sbom');
  const stored = await readBlob(blobs, report.version, 'graph');
  if (!sbom || !stored) return false;
  let graph;
  try {
    graph = parseCycloneDx(JSON.parse(sbom.toString('utf8')));
  } catch (error) {
    log.warn({ report: report.name, err: (error as Error).message }, 'report SBOM no longer parses; its graph is kept as it was');
    return false;
  }
  const text = JSON.stringify(graph);
  if (text === stored.toString('utf8')) return false;

  const version = `${report.version}${SUFFIX}`;
  await blobs.deleteMany({ version });
  const sbomChunks = await blobs.find({ version: report.version, kind: 'sbom' }, { projection: { _id: 0 } }).toArray();
  await blobs.insertMany(sbomChunks.map((chunk) => ({ ...chunk, version })));
  const compressed = await gzipAsync(Buffer.from(text));
  for (let offset = 0, seq = 0; offset < compressed.length || seq === 0; offset += CHUNK_BYTES, seq++) {
    await blobs.insertOne({ report: report.name, version, kind: 'graph', seq, data: new mongo.Binary(compressed.subarray(offset, offset + CHUNK_BYTES)) });
  }
  await db
    .collection('reports')
    .updateOne({ _id: report._id as mongo.ObjectId }, { $set: { version, total: outPathsOf(graph).length, components: graph.nodes.length } });
  await blobs.deleteMany({ version: report.version });
  return true;
}

/**
 * Reports keep the SBOM as uploaded and the graph parsed from it. Graphs
 * parsed before 77f5ee8 and the `.drv` bom-ref fix lost the Nix properties of
 * a root also listed among the components, and took a derivation path used as
 * bom-ref for an output path: such reports counted paths that are none, or
 * missed their root. Each graph is parsed again from its SBOM and, when it
 * differs, written as a new version the report then switches to, as an upload does.
 */
export const reportGraphs: Migration = {
  version: 3,
  name: 'parse stored report SBOMs again with the current parser',
  async up(db, log) {
    const reports = await db.collection<{ _id: unknown; name: string; version: string }>('reports').find({}, { projection: { name: 1, version: 1 } }).toArray();
    for (const report of reports) {
      if (await reparse(db, report, log)) log.info({ report: report.name }, 'report graph parsed again');
    }
  },
};
