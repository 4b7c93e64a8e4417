/**
 * Time to answer a report's JSON summary (`/api/v1/reports/{name}`) and its
 * text tree (`/reports/{name}`) for generated reports of 1,000, 10,000 and
 * 50,000 paths, every path with a summary in the store.
 *
 * "after restart" is what an operator sees after restarting lilac: the
 * reports are uploaded, the server and its embedded store stop, then a fresh
 * server process (empty caches, new store process on the same data
 * directory) starts and is asked for each report once it answers /healthz.
 * "again" is the steady state of that process.
 */
import { rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { VERDICTS } from '@lilac/common';
import { narHash } from '../test/support/attestationFixtures.ts';
import { startServerProcess, waitForHealthy } from '../test/support/processes.ts';
import { generateSbom } from '../test/support/sbomFixtures.ts';
import { startTestServer } from '../test/support/testServer.ts';

const SIZES = [1_000, 10_000, 50_000];
/** The largest first: it is the one the target is about, asked before anything else warms the new process. */
const ASKED = [...SIZES].reverse();

interface Timed {
  ms: number;
  bytes: number;
}

async function time(url: string, init: RequestInit & { token?: string } = {}): Promise<Timed> {
  const { token, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (token !== undefined) headers.set('authorization', `Bearer ${token}`);
  const started = performance.now();
  const response = await fetch(url, { ...rest, headers });
  const body = await response.arrayBuffer();
  if (response.status >= 300) throw new Error(`${url}: ${response.status} ${Buffer.from(body).toString()}`);
  return { ms: performance.now() - started, bytes: body.byteLength };
}

const column = (value: number, width: number) => value.toFixed(0).padStart(width);

const server = await startTestServer();
const { dataDir, dbName } = server.context.config;
const uploads = new Map<number, Timed>();
try {
  const builder = await server.createBuilder('reporter');
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
    uploads.set(size, await time(`${server.url}/reports/bench-${size}`, { method: 'PUT', token: builder.token, headers: { 'content-type': 'application/json' }, body: JSON.stringify(sbom) }));
  }
} finally {
  await server.closeKeepingDatabase();
}

const restarted = await startServerProcess({ ...process.env, DATA_DIR: dataDir, LILAC_DB_NAME: dbName, LOG_LEVEL: 'info' });
try {
  await waitForHealthy(restarted.url, 120_000);
  console.log('paths    upload ms   summary after restart ms   summary again ms   tree first ms   tree again ms   summary bytes');
  for (const size of ASKED) {
    const summaryUrl = `${restarted.url}/api/v1/reports/bench-${size}`;
    const treeUrl = `${restarted.url}/reports/bench-${size}`;
    const summaryFirst = await time(summaryUrl);
    const summaryAgain = await time(summaryUrl);
    const treeFirst = await time(treeUrl, { headers: { accept: 'text/plain' } });
    const treeAgain = await time(treeUrl, { headers: { accept: 'text/plain' } });
    console.log(
      `${String(size).padStart(6)}  ${column(uploads.get(size)?.ms ?? 0, 10)}  ${column(summaryFirst.ms, 25)}  ${column(summaryAgain.ms, 17)}  ${column(treeFirst.ms, 14)}  ${column(treeAgain.ms, 14)}  ${String(summaryAgain.bytes).padStart(14)}`,
    );
  }
} finally {
  await restarted.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
