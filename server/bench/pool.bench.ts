/**
 * The work pool: claims per second with 50 concurrent workers (10 builders,
 * 5 connections each) taking 1,000 queued jobs, and how many jobs were handed
 * to two workers (must be none); the same with routing, 50 workers of 5 kinds
 * (systems and features) taking 10,000 mixed jobs, none offered a job its
 * worker cannot build; and how long a dead worker's
 * jobs stay unclaimable — after its connection is cut (returned at disconnect),
 * and after its server died holding it (returned by the lease sweeper, with
 * the lease length and sweep interval printed).
 */
import { performance } from 'node:perf_hooks';
import { canBuild, type ClaimAck, type JobView, type WorkerCapabilities } from '@lilac/common';
import type { Socket } from 'socket.io-client';
import { connectRebuilder, fakeJob, testPoolConfig } from '../test/support/rebuilderClient.ts';
import { startTestServer, type TestServer } from '../test/support/testServer.ts';

const WORKERS = 50;
const BUILDERS = 10;
const JOBS = 1_000;
/** Long enough that no lease of the claim run lapses however slow the machine: a job handed out twice is then a double claim. */
const CLAIM_RUN_LEASE_MS = 600_000;
const LEASE_MS = 2_000;
const ROUTED_JOBS = 10_000;
/** The fleet of the routed run: each kind is one worker in five. */
const WORKER_KINDS: WorkerCapabilities[] = [
  { systems: ['x86_64-linux', 'i686-linux'], features: [] },
  { systems: ['x86_64-linux', 'i686-linux'], features: ['big-parallel', 'kvm'] },
  { systems: ['aarch64-linux'], features: [] },
  { systems: ['aarch64-linux'], features: ['big-parallel'] },
  { systems: ['x86_64-darwin', 'aarch64-darwin'], features: [] },
];
/** What the routed run's jobs need, in turn; the last kind no worker has, and stays queued. */
const JOB_KINDS = [
  { system: 'x86_64-linux', requiredSystemFeatures: [] },
  { system: 'aarch64-linux', requiredSystemFeatures: [] },
  { system: 'x86_64-linux', requiredSystemFeatures: ['kvm'] },
  { system: 'aarch64-linux', requiredSystemFeatures: ['big-parallel'] },
  { system: 'aarch64-darwin', requiredSystemFeatures: [] },
  { system: 'i686-linux', requiredSystemFeatures: ['big-parallel'] },
  { system: null, requiredSystemFeatures: [] },
  { system: 'riscv64-linux', requiredSystemFeatures: [] },
];
const SWEEP_MS = 500;

async function enqueue(server: TestServer, token: string, count: number, prefix: string): Promise<void> {
  const response = await server.request('/api/v1/jobs', { method: 'POST', token, json: Array.from({ length: count }, (_, index) => fakeJob(`${prefix}-${index}`)) });
  if (response.status !== 200) throw new Error(`${response.status} ${await response.text()}`);
}

/** Claims until one succeeds; returns the milliseconds it took from `since`. */
async function firstClaim(socket: Socket, since: number): Promise<number> {
  for (;;) {
    const ack = (await socket.emitWithAck('claim')) as ClaimAck;
    if (ack !== null && !('error' in ack)) return performance.now() - since;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

// Workers here claim and never complete, so each builder's claim cap would end the run after 32 claims a builder.
let server = await startTestServer({ pool: testPoolConfig({ leaseMs: CLAIM_RUN_LEASE_MS, maxClaimsPerBuilder: ROUTED_JOBS, sweepIntervalMs: 5_000, statsIntervalMs: 1_000 }) });
try {
  const enqueuer = await server.createBuilder('enqueuer');
  await enqueue(server, enqueuer.token, JOBS, 'bench');
  const builders = await Promise.all(Array.from({ length: BUILDERS }, (_, index) => server.createBuilder(`bench-${index}`)));
  const sockets = await Promise.all(Array.from({ length: WORKERS }, (_, index) => connectRebuilder(server.url, builders[index % BUILDERS]!.token)));

  let claims = 0;
  const handedOut = new Map<string, number>();
  const latencies: number[] = [];
  const started = performance.now();
  await Promise.all(
    sockets.map(async (socket) => {
      for (;;) {
        const sent = performance.now();
        const ack = (await socket.emitWithAck('claim')) as ClaimAck;
        if (ack === null) return;
        if ('error' in ack) throw new Error(ack.error);
        latencies.push(performance.now() - sent);
        claims += 1;
        handedOut.set(ack.id, (handedOut.get(ack.id) ?? 0) + 1);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const p = (q: number) => (latencies[Math.min(latencies.length - 1, Math.floor((latencies.length * q) / 100))] ?? 0).toFixed(0);
  console.log(`claims: ${claims} jobs by ${WORKERS} workers in ${seconds.toFixed(1)} s = ${(claims / seconds).toFixed(0)} claims/s (p50 ${p(50)} ms, p99 ${p(99)} ms)`);
  console.log(`double claims: ${[...handedOut.values()].filter((count) => count > 1).length} jobs handed to more than one worker`);
  await Promise.all(sockets.map((socket) => socket.emitWithAck('release')));
  for (const socket of sockets) socket.disconnect();
  await server.context.models.Job.updateMany({}, { $set: { state: 'done' } });

  // Routed: each worker is offered only what it can build.
  const mixed = Array.from({ length: ROUTED_JOBS }, (_, index) => ({ ...fakeJob(`routed-${index}`), ...JOB_KINDS[index % JOB_KINDS.length]! }));
  for (let start = 0; start < mixed.length; start += 5_000) {
    const response = await server.request('/api/v1/jobs', { method: 'POST', token: enqueuer.token, json: mixed.slice(start, start + 5_000) });
    if (response.status !== 200) throw new Error(`${response.status} ${await response.text()}`);
  }
  const buildable = mixed.filter((job) => WORKER_KINDS.some((kind) => canBuild(kind, job))).length;
  const fleet = await Promise.all(
    Array.from({ length: WORKERS }, async (_, index) => {
      const kind = WORKER_KINDS[index % WORKER_KINDS.length]!;
      return { kind, socket: await connectRebuilder(server.url, builders[index % BUILDERS]!.token, kind) };
    }),
  );
  let routed = 0;
  let misrouted = 0;
  const routedLatencies: number[] = [];
  const routedStart = performance.now();
  await Promise.all(
    fleet.map(async ({ kind, socket }) => {
      for (;;) {
        const sent = performance.now();
        const ack = (await socket.emitWithAck('claim')) as ClaimAck;
        if (ack === null) return;
        if ('error' in ack) throw new Error(ack.error);
        routedLatencies.push(performance.now() - sent);
        routed += 1;
        const job = ack as JobView;
        if (!canBuild(kind, { system: job.system ?? null, requiredSystemFeatures: job.requiredSystemFeatures ?? [] })) misrouted += 1;
      }
    }),
  );
  const routedSeconds = (performance.now() - routedStart) / 1000;
  routedLatencies.sort((a, b) => a - b);
  const rp = (q: number) => (routedLatencies[Math.min(routedLatencies.length - 1, Math.floor((routedLatencies.length * q) / 100))] ?? 0).toFixed(0);
  console.log(
    `routed claims: ${routed} of ${buildable} buildable (of ${ROUTED_JOBS} mixed jobs) by ${WORKERS} workers of ${WORKER_KINDS.length} kinds in ${routedSeconds.toFixed(1)} s = ${(routed / routedSeconds).toFixed(0)} claims/s (p50 ${rp(50)} ms, p99 ${rp(99)} ms); misrouted: ${misrouted}`,
  );
  await Promise.all(fleet.map(({ socket }) => socket.emitWithAck('release')));
  for (const { socket } of fleet) socket.disconnect();
  await server.context.models.Job.updateMany({}, { $set: { state: 'done' } });

  // A worker's connection is cut while it holds 5 jobs: they come back at disconnect.
  await enqueue(server, enqueuer.token, 5, 'cut');
  const doomed = await connectRebuilder(server.url, builders[0]!.token);
  for (let index = 0; index < 5; index++) await doomed.emitWithAck('claim');
  const survivor = await connectRebuilder(server.url, builders[1]!.token);
  const cutAt = performance.now();
  doomed.io.engine.close();
  console.log(`connection cut -> claimable again: ${(await firstClaim(survivor, cutAt)).toFixed(0)} ms`);

  survivor.disconnect();
  await server.close();

  // A server dies holding a claim: only the lease sweeper can return it.
  server = await startTestServer({ pool: testPoolConfig({ leaseMs: LEASE_MS, sweepIntervalMs: SWEEP_MS }) });
  const orphanEnqueuer = await server.createBuilder('enqueuer');
  await enqueue(server, orphanEnqueuer.token, 1, 'orphan');
  const waiter = await connectRebuilder(server.url, (await server.createBuilder('waiter')).token);
  await server.context.pool.claim('ghost', 'socket-of-a-dead-server');
  const orphanedAt = performance.now();
  const waited = await firstClaim(waiter, orphanedAt);
  console.log(`server died holding a claim -> claimable again: ${waited.toFixed(0)} ms (lease ${LEASE_MS} ms, sweep every ${SWEEP_MS} ms; at most lease + sweep interval)`);
  waiter.disconnect();
} finally {
  await server.close();
}
process.exit(0);
