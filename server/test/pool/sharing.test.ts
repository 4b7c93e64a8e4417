import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { encodeNixBase32, narinfoFingerprint, signFingerprint, type BatchAttestation, type ClaimAck, type JobRequest, type JobView } from '@lilac/common';
import type { Socket } from 'socket.io-client';
import { connectRebuilder, fakeJob, testPoolConfig } from '../support/rebuilderClient.ts';
import { startServerProcess, type ServerProcess } from '../support/processes.ts';
import { startTestServer, type TestBuilder, type TestServer } from '../support/testServer.ts';

// About 95 s on the embedded store on a 2-core machine; POOL_TEST_JOBS shortens it while working on the pool.
const JOBS = Number(process.env.POOL_TEST_JOBS ?? 2_000);
const BUILDERS = 5;
const CONNECTIONS_PER_BUILDER = 4;

let first: TestServer;
let second: ServerProcess;
before(async () => {
  // The production sweep and stats intervals: the test pool's 50 ms ones would have the sweeper read the whole queue 20 times a second.
  first = await startTestServer({ pool: testPoolConfig({ targetBuilders: 1, leaseMs: 60_000, sweepIntervalMs: 5_000, statsIntervalMs: 1_000 }) });
  const { mongodbUri, dbName } = first.context.config;
  assert.ok(mongodbUri, 'the test store is given by MONGODB_URI');
  // A second server process on the same store and database: nothing in memory is shared, only the pool's documents.
  second = await startServerProcess({
    ...process.env,
    MONGODB_URI: mongodbUri,
    LILAC_DB_NAME: dbName,
    LILAC_POOL_TARGET_BUILDERS: '1',
    LILAC_POOL_LEASE_MS: '60000',
  });
});
after(async () => {
  await second.stop();
  await first.close();
});

/** What a worker saw: the span in which it certainly held a job, from the claim's answer to sending `complete`. */
interface Holding {
  jobId: string;
  worker: number;
  from: bigint;
  to: bigint;
}

function signedAttestation(builder: TestBuilder, job: JobView): BatchAttestation {
  const info = { outPath: job.outPath, narHash: `sha256:${encodeNixBase32(new Uint8Array(32).fill(7))}`, narSize: 120, references: [] };
  return { drvPath: job.drvPath, output: job.output, outPath: job.outPath, narHash: info.narHash, narSize: info.narSize, references: [], signature: signFingerprint(builder.secretKey, narinfoFingerprint(info)), source: 'rebuild' };
}

async function work(socket: Socket, builder: TestBuilder, worker: number, holdings: Holding[]): Promise<void> {
  for (;;) {
    const ack = (await socket.emitWithAck('claim')) as ClaimAck;
    if (ack === null) return;
    assert.ok(!('error' in ack), JSON.stringify(ack));
    const from = process.hrtime.bigint();
    const completed = socket.emitWithAck('complete', { id: ack.id, attestations: [signedAttestation(builder, ack)] });
    holdings.push({ jobId: ack.id, worker, from, to: process.hrtime.bigint() });
    const outcome = (await completed) as { state?: string; error?: string };
    assert.equal(outcome.state, 'done', JSON.stringify(outcome));
  }
}

test('20 workers on two server processes drain the pool: no job held by two at once, none lost, all done', async () => {
  const enqueuer = await first.createBuilder('enqueuer');
  const jobs: JobRequest[] = Array.from({ length: JOBS }, (_, index) => fakeJob(`pkg-${index}`));
  const response = await first.request('/api/v1/jobs', { method: 'POST', token: enqueuer.token, json: jobs });
  assert.deepEqual(await response.json(), { added: JOBS, requeued: 0, unchanged: 0, satisfied: 0 });

  const builders = await Promise.all(Array.from({ length: BUILDERS }, (_, index) => first.createBuilder(`rebuilder-${index}`)));
  const sockets: { socket: Socket; builder: TestBuilder }[] = [];
  for (const [index, builder] of builders.entries()) {
    for (let connection = 0; connection < CONNECTIONS_PER_BUILDER; connection++) {
      const server = (index * CONNECTIONS_PER_BUILDER + connection) % 2 === 0 ? first : second;
      sockets.push({ socket: await connectRebuilder(server.url, builder.token), builder });
    }
  }
  const holdings: Holding[] = [];
  await Promise.all(sockets.map(({ socket, builder }, worker) => work(socket, builder, worker, holdings)));
  for (const { socket } of sockets) socket.disconnect();

  const byJob = new Map<string, Holding[]>();
  for (const holding of holdings) byJob.set(holding.jobId, [...(byJob.get(holding.jobId) ?? []), holding]);
  for (const [jobId, spans] of byJob) {
    spans.sort((a, b) => (a.from < b.from ? -1 : 1));
    for (let index = 1; index < spans.length; index++) {
      assert.ok(spans[index]!.from > spans[index - 1]!.to, `job ${jobId} held by workers ${spans[index - 1]!.worker} and ${spans[index]!.worker} at once`);
    }
  }
  assert.equal(byJob.size, JOBS, 'every job was claimed');
  const states = await first.context.models.Job.aggregate<{ _id: string; count: number }>([{ $group: { _id: '$state', count: { $sum: 1 } } }]);
  assert.deepEqual(states, [{ _id: 'done', count: JOBS }]);
  assert.equal(await first.context.models.Lease.countDocuments(), 0);
  assert.equal(await first.context.models.Attestation.countDocuments({ source: 'rebuild' }), JOBS);
});
