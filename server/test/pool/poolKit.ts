import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import type { ClaimAck, JobRequest, JobView } from '@lilac/common';
import type { Socket } from 'socket.io-client';
import type { PoolConfig } from '../../src/config.ts';
import { WorkPool } from '../../src/pool/workPool.ts';
import { drvHash, lilaItem } from '../support/attestationFixtures.ts';
import { connectRebuilder, fakeJob, testPoolConfig } from '../support/rebuilderClient.ts';
import { startTestServer, type TestBuilder, type TestServer } from '../support/testServer.ts';
import { waitUntil } from '../support/waitUntil.ts';

/** Leases long enough that no test loses a claim to a slow machine; the tests about lapses end leases themselves. */
export const LEASE_MS = 60_000;

let started: { server: TestServer; enqueuer: TestBuilder } | null = null;

/** One server (and store) for the tests of the file that calls this, with a builder that enqueues. */
export function usePoolServer(overrides: Partial<PoolConfig> = {}): void {
  before(async () => {
    const server = await startTestServer({ pool: testPoolConfig({ leaseMs: LEASE_MS, maxAttempts: 2, ...overrides }) });
    started = { server, enqueuer: await server.createBuilder('enqueuer') };
  });
  after(() => started?.server.close());
}

export function server(): TestServer {
  assert.ok(started, 'usePoolServer() starts the server');
  return started.server;
}

/** Each test works on its own jobs, so it retires whatever earlier tests left queued or held. */
export async function drain(): Promise<void> {
  await server().context.models.Job.updateMany({ state: 'queued' }, { $set: { state: 'done' } });
}

/** `builder` attests `job`'s output with a valid signature, as a post-build-hook would. */
export async function attestedBy(builder: TestBuilder, job: JobRequest, hash: string): Promise<void> {
  const response = await server().request(`/attestation/${drvHash(job.drvPath)}`, { method: 'POST', token: builder.token, json: [lilaItem(builder, { outPath: job.outPath, narHash: hash })] });
  assert.equal(response.status, 200, await response.text());
}

export async function enqueue(jobs: unknown): Promise<Response> {
  return server().request('/api/v1/jobs', { method: 'POST', token: started!.enqueuer.token, json: jobs });
}

/**
 * A pool of its own on the test server's store, on a clock the test moves. Set
 * it years ahead of the server's own pool, whose real clock then sees its
 * leases as running and its jobs as backing off, so the two do not interfere.
 */
export function poolOnClock(clock: () => Date): WorkPool {
  const { models, events, log, ingest } = server().context;
  return new WorkPool(models, events, testPoolConfig({ leaseMs: LEASE_MS }), log, ingest, clock);
}

/** Moves the end of a job's lease to `at`, as if that much of the lease had passed. */
export async function endLeaseAt(id: string, at: Date): Promise<void> {
  await server().context.models.Lease.updateOne({ _id: id }, { $set: { expiresAt: at } });
}

/** Disconnects and waits until the server has returned what the worker held, so later tests start clean. */
export async function leave(socket: Socket): Promise<void> {
  const id = socket.id;
  socket.disconnect();
  await waitUntil(`the leases of disconnected worker ${id} are returned`, async () => !(await server().context.models.Lease.exists({ socketId: id })));
}

export function claimed(ack: ClaimAck): JobView {
  assert.ok(ack !== null && !('error' in ack), `expected a job, got ${JSON.stringify(ack)}`);
  return ack;
}

/** A new builder's connection holding the pool's only queued job. */
export async function holdingOnlyJob(jobName: string, builderName: string) {
  await drain();
  const job = fakeJob(jobName);
  await enqueue([job]);
  const builder = await server().createBuilder(builderName);
  const holder = await connectRebuilder(server().url, builder.token);
  const { id } = claimed(await holder.emitWithAck('claim'));
  return { job, holder, id, builder };
}
