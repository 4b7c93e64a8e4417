/**
 * Time to answer a report's JSON summary (`/api/v1/reports/{name}`) and its
 * text tree (`/reports/{name}`) for generated reports of 1,000, 10,000 and
 * 50,000 paths, every path with a summary in the store. "first" includes
 * loading the report's graph; "again" is the steady state.
 */
import { performance } from 'node:perf_hooks';
import { VERDICTS } from '@lilac/common';
import { narHash } from '../test/support/attestationFixtures.ts';
import { generateSbom } from '../test/support/sbomFixtures.ts';
import { startTestServer } from '../test/support/testServer.ts';

const SIZES = [1_000, 10_000, 50_000];

const server = await startTestServer();
try {
  const builder = await server.createBuilder('reporter');
  console.log('paths    upload ms   summary first ms   summary again ms   tree first ms   tree again ms   summary bytes');
  for (const size of SIZES) {
    const { sbom, paths } = generateSbom(size);
    for (let offset = 0; offset < paths.length; offset += 5_000) {
      await server.context.models.OutputSummary.insertMany(
        paths.slice(offset, offset + 5_000).map((path, index) => ({
          outPath: path.outPath,
          drvPath: path.drvPath,
          output: 'out',
          verdict: VERDICTS[(offset + index) % VERDICTS.length],
          hashes: [{ narHash: narHash(path.outPath), verifiedBuilders: ['a', 'b'], unverifiedBuilders: [] }],
          verifiedBuilderCount: 2,
          attestedBy: ['a', 'b'],
          revision: 1,
        })),
      );
    }
    const time = async (path: string, init: RequestInit & { token?: string } = {}) => {
      const started = performance.now();
      const response = await server.request(path, init);
      const body = await response.arrayBuffer();
      if (response.status >= 300) throw new Error(`${path}: ${response.status} ${Buffer.from(body).toString()}`);
      return { ms: performance.now() - started, bytes: body.byteLength };
    };
    const upload = await time(`/reports/bench-${size}`, { method: 'PUT', token: builder.token, headers: { 'content-type': 'application/json' }, body: JSON.stringify(sbom) });
    const summaryFirst = await time(`/api/v1/reports/bench-${size}`);
    const summaryAgain = await time(`/api/v1/reports/bench-${size}`);
    const treeFirst = await time(`/reports/bench-${size}`, { headers: { accept: 'text/plain' } });
    const treeAgain = await time(`/reports/bench-${size}`, { headers: { accept: 'text/plain' } });
    console.log(
      `${String(size).padStart(6)}  ${upload.ms.toFixed(0).padStart(10)}  ${summaryFirst.ms.toFixed(0).padStart(17)}  ${summaryAgain.ms.toFixed(0).padStart(17)}  ${treeFirst.ms.toFixed(0).padStart(14)}  ${treeAgain.ms.toFixed(0).padStart(14)}  ${String(summaryAgain.bytes).padStart(14)}`,
    );
  }
} finally {
  await server.close();
}
