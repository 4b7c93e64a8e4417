/**
 * Attestations ingested per second with p50/p99 request latency, on the
 * issue's workloads: lila's route with one signed output per request (what a
 * post-build hook sends) from 16 clients, and the batch route with 500 signed
 * attestations per request. Items are signed before the clock starts; the
 * server, a process of its own, verifies every one. Each route is first
 * sent a warm-up of its own outputs, printed apart: the rate a server reaches
 * once V8 has compiled its hot code, not the first seconds after a start.
 * The million-attestation run is `server/bench/ingestMillion.ts`.
 */
import { drvHash, drvPath, narHash, storePath } from '../test/support/attestationFixtures.ts';
import { parseStorePath } from '@lilac/common';
import { runRequests, signed, startBenchServer, type BenchRequest, type RunResult } from './ingestSupport.ts';

const LILA = { clients: 16, warmUp: 2_000, attestations: 6_000 };
const BATCH = { clients: 4, size: 500, warmUp: 4, requests: 24 };

function row(route: string, clients: number, result: RunResult): string {
  return `${route.padEnd(41)}${String(clients).padStart(7)}  ${String(result.attestations).padStart(12)}  ${result.seconds.toFixed(2).padStart(8)}  ${result.rate.toFixed(0).padStart(6)}  ${result.p50.toFixed(1).padStart(7)}  ${result.p99.toFixed(1).padStart(7)}`;
}

function drain(requests: BenchRequest[]): () => BenchRequest | null {
  let next = 0;
  return () => requests[next++] ?? null;
}

const server = await startBenchServer(LILA.clients);
try {
  // Each output is attested by two builders, so half the submissions turn one-build into reproduced.
  const lilaRequests = (prefix: string, count: number) => {
    const outputs: string[] = [];
    return Array.from({ length: count }, (_, index): BenchRequest => {
      const builder = server.builders[index % LILA.clients]!;
      const pair = `${prefix}-${Math.floor(index / 2)}`;
      // Store paths are random: the pair's second attestation takes its output from the first.
      const item = signed(builder, (outputs[Math.floor(index / 2)] ??= storePath(pair)), narHash(pair));
      const { digest, name } = parseStorePath(item.outPath);
      const body = [{ output_digest: digest, output_name: name, output_hash: item.narHash, output_sig: item.signature, nar_size: item.narSize, references: item.references }];
      return { builder, path: `/attestation/${drvHash(drvPath(pair))}`, body: JSON.stringify(body), count: 1 };
    });
  };
  const batchRequests = (prefix: string, count: number) =>
    Array.from({ length: count }, (_, index): BenchRequest => {
      const builder = server.builders[index % BATCH.clients]!;
      const drv = drvPath(`${prefix}-${index}`);
      const attestations = Array.from({ length: BATCH.size }, (_, item) => {
        const key = `${prefix}-${index}-${item}`;
        const { outPath, narHash: hash, narSize, references, signature } = signed(builder, storePath(key), narHash(key));
        return { drvPath: drv, output: 'out', outPath, narHash: hash, narSize, references, signature };
      });
      return { builder, path: '/api/v1/attestations', body: JSON.stringify({ attestations }), count: BATCH.size };
    });
  console.log('route                                    clients  attestations   seconds   att/s   p50 ms   p99 ms');
  for (const [route, clients, warmUp, requests] of [
    ['POST /attestation/{drv} x1', LILA.clients, lilaRequests('single-warm', LILA.warmUp), lilaRequests('single', LILA.attestations)],
    [`POST /api/v1/attestations x${BATCH.size}`, BATCH.clients, batchRequests('batch-warm', BATCH.warmUp), batchRequests('batch', BATCH.requests)],
  ] as const) {
    console.log(`${row(`${route} (warm-up)`, clients, await runRequests(server.url, clients, drain(warmUp)))}`);
    const before = server.cpuSeconds();
    const result = await runRequests(server.url, clients, drain(requests));
    const after = server.cpuSeconds();
    console.log(`${row(route, clients, result)}   CPU s: client ${result.clientCpuSeconds.toFixed(1)}, server ${(after.own - before.own).toFixed(1)}, store ${(after.store - before.store).toFixed(1)}`);
  }
  console.log(`server RSS ${server.rssMiB().toFixed(0)} MiB`);
} finally {
  await server.close();
}
