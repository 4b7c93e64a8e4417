/**
 * Attestations ingested per second at 1, 16 and 64 concurrent clients, with
 * p50/p99 request latency: lila's route with one output per request (what a
 * post-build hook sends), and the batch route with 50 per request.
 * Items are signed before the clock starts; the server verifies every one.
 */
import { performance } from 'node:perf_hooks';
import { drvHash, drvPath, lilaItem, narHash, storePath, batchItem } from '../test/support/attestationFixtures.ts';
import { startTestServer, type TestBuilder, type TestServer } from '../test/support/testServer.ts';

const LEVELS = [
  { clients: 1, requests: 300 },
  { clients: 16, requests: 2_000 },
  { clients: 64, requests: 3_000 },
];
const BATCH = 50;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;
}

async function run(server: TestServer, clients: TestBuilder[], requests: { builder: TestBuilder; path: string; body: unknown; count: number }[]) {
  const latencies: number[] = [];
  let next = 0;
  let attestations = 0;
  const started = performance.now();
  await Promise.all(
    clients.map(async (client) => {
      while (next < requests.length) {
        const request = requests[next++] as (typeof requests)[number];
        const sent = performance.now();
        const response = await server.request(request.path, { method: 'POST', token: client === request.builder ? client.token : request.builder.token, json: request.body });
        if (response.status !== 200) throw new Error(`${response.status} ${await response.text()}`);
        await response.arrayBuffer();
        latencies.push(performance.now() - sent);
        attestations += request.count;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { rate: attestations / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99), attestations, seconds };
}

function row(route: string, clients: number, result: Awaited<ReturnType<typeof run>>): string {
  return `${route.padEnd(31)}${String(clients).padStart(7)}  ${String(result.attestations).padStart(12)}  ${result.seconds.toFixed(2).padStart(8)}  ${result.rate.toFixed(0).padStart(6)}  ${result.p50.toFixed(1).padStart(7)}  ${result.p99.toFixed(1).padStart(7)}`;
}

const server = await startTestServer();
try {
  const builders = await Promise.all(Array.from({ length: 64 }, (_, index) => server.createBuilder(`bench-${index}`)));
  // Everything is signed before the first request: signing shares this process's event loop with the server, and
  // minutes of it between runs would leave the server's connections idle behind a blocked loop.
  const plans = LEVELS.map(({ clients, requests }) => {
    const active = builders.slice(0, clients);
    // Each output is attested by two builders, so half the submissions turn one-build into reproduced.
    const outputs = new Map<string, string>();
    const lila = Array.from({ length: requests }, (_, index) => {
      const builder = active[index % clients] as TestBuilder;
      const drv = drvPath(`single-${clients}-${Math.floor(index / 2)}`);
      const key = `${clients}-${Math.floor(index / 2)}`;
      const outPath = outputs.get(key) ?? storePath(`single-${key}`);
      outputs.set(key, outPath);
      return { builder, path: `/attestation/${drvHash(drv)}`, body: [lilaItem(builder, { outPath, narHash: narHash(key) })], count: 1 };
    });
    const batches = Array.from({ length: Math.max(clients * 2, Math.floor(requests / 10)) }, (_, index) => {
      const builder = active[index % clients] as TestBuilder;
      const drv = drvPath(`batch-${clients}-${index}`);
      const attestations = Array.from({ length: BATCH }, (_, item) => batchItem(builder, drv, { outPath: storePath(`batch-${clients}-${index}-${item}`), narHash: narHash(`${index}-${item}`) }));
      return { builder, path: '/api/v1/attestations', body: { attestations }, count: BATCH };
    });
    return { clients, active, lila, batches };
  });
  console.log('route                          clients  attestations   seconds   att/s   p50 ms   p99 ms');
  for (const { clients, active, lila, batches } of plans) {
    console.log(row('POST /attestation/{drv} x1', clients, await run(server, active, lila)));
    console.log(row(`POST /api/v1/attestations x${BATCH}`, clients, await run(server, active, batches)));
  }
} finally {
  await server.close();
}
