/**
 * A million signed attestations through the batch route (500 a request,
 * 4 clients), to see that ingest neither slows down nor grows as the store
 * fills: prints the rate of each tenth (of each 100,000 at full size) and
 * the server process's RSS then, and the rate over the first 10,000.
 * Not a `.bench.ts`: it takes minutes, and `npm run bench` stays quick.
 *
 *   node --import tsx server/bench/ingestMillion.ts
 *   LILAC_BENCH_ATTESTATIONS=100000 node --import tsx server/bench/ingestMillion.ts
 */
import { drvPath, narHash, storePath } from '../test/support/attestationFixtures.ts';
import { parseStorePath } from '@lilac/common';
import { runRequests, signed, startBenchServer, type BenchRequest } from './ingestSupport.ts';

const TOTAL = Number(process.env.LILAC_BENCH_ATTESTATIONS ?? '1000000');
const BATCH = 500;
const CLIENTS = 4;
const FIRST = 10_000;
const STEP = Math.max(FIRST, Math.round(TOTAL / 10 / BATCH) * BATCH);

const server = await startBenchServer(CLIENTS);
try {
  let sent = 0;
  /** One output per batch, kept for the readers asked at the end. */
  const sampled: { builder: string; outPath: string }[] = [];
  /** Requests are built as they are sent: a million signed items held at once would measure the client's memory. */
  const upTo = (limit: number) => (): BenchRequest | null => {
    if (sent >= limit) return null;
    const index = sent / BATCH;
    const builder = server.builders[index % CLIENTS]!;
    const drv = drvPath(`million-${index}`);
    const size = Math.min(BATCH, limit - sent);
    sent += size;
    const attestations = Array.from({ length: size }, (_, item) => {
      const { outPath, narHash: hash, narSize, references, signature } = signed(builder, storePath(`million-${index}-${item}`), narHash(`million-${index}-${item}`));
      return { drvPath: drv, output: 'out', outPath, narHash: hash, narSize, references, signature };
    });
    sampled.push({ builder: builder.name, outPath: attestations[0]!.outPath });
    return { builder, path: '/api/v1/attestations', body: JSON.stringify({ attestations }), count: size };
  };
  console.log(`${TOTAL} attestations, batches of ${BATCH}, ${CLIENTS} clients; server pid ${server.pid}, RSS at start ${server.rssMiB().toFixed(0)} MiB`);
  console.log('   up to    att/s   p99 ms   server RSS MiB   CPU ms per 1,000: server  store');
  const started = performance.now();
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, server.rssMiB())), 1000);
  try {
    const limits = [...new Set([FIRST, ...Array.from({ length: Math.ceil(TOTAL / STEP) }, (_, index) => (index + 1) * STEP)].map((limit) => Math.min(limit, TOTAL)))];
    for (const limit of limits) {
      const before = server.cpuSeconds();
      const result = await runRequests(server.url, CLIENTS, upTo(limit));
      const after = server.cpuSeconds();
      const rss = server.rssMiB();
      peak = Math.max(peak, rss);
      // Which side slows as the store fills: the server's or the store's CPU per attestation.
      const perThousand = (seconds: number) => ((seconds * 1_000_000) / result.attestations).toFixed(0);
      console.log(
        `${String(limit).padStart(8)}  ${result.rate.toFixed(0).padStart(7)}  ${result.p99.toFixed(0).padStart(7)}  ${rss.toFixed(0).padStart(15)}  ${perThousand(after.own - before.own).padStart(24)}  ${perThousand(after.store - before.store).padStart(5)}`,
      );
    }
  } finally {
    clearInterval(sampler);
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(`all ${TOTAL}: ${(TOTAL / seconds).toFixed(0)} att/s over ${seconds.toFixed(0)} s; peak server RSS ${peak.toFixed(0)} MiB`);
  // What readers meet in the full store, each asked twice: Nix asking a builder's narinfo (by digest), the monitor asking totals (the catalog's first scan).
  const narinfo = (pick: { builder: string; outPath: string }) => `/signatures/${pick.builder}/${parseStorePath(pick.outPath).digest}.narinfo`;
  const totals = () => '/api/v1/stats';
  for (const [what, path] of [
    ['narinfo', narinfo],
    ['narinfo', narinfo],
    ['totals', totals],
    ['totals', totals],
  ] as const) {
    const pick = sampled[Math.floor(Math.random() * sampled.length)]!;
    const asked = performance.now();
    const before = server.cpuSeconds();
    const response = await fetch(`${server.url}${path(pick)}`);
    await response.arrayBuffer();
    const after = server.cpuSeconds();
    console.log(
      `${what.padEnd(8)} ${response.status}  ${(performance.now() - asked).toFixed(0).padStart(7)} ms  server RSS ${server.rssMiB().toFixed(0)} MiB  CPU s: server ${(after.own - before.own).toFixed(1)}, store ${(after.store - before.store).toFixed(1)}`,
    );
  }
} finally {
  await server.close();
}
