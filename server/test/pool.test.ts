import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeRebuildOutcome, type AttestationSubmission, type AttestationView, type ClaimAck, type HeartbeatAck, type JobRequest, type JobView, type MonitorEvents, type PoolView } from '@lilac/common';
import { batchItem, drvHash, lilaItem, narHash } from './support/attestationFixtures.ts';
import type { Socket } from 'socket.io-client';
import { connectRebuilder, fakeJob, testPoolConfig } from './support/rebuilderClient.ts';
import { startTestServer, type TestBuilder, type TestServer } from './support/testServer.ts';

// Leases long enough that no test loses a claim to a slow machine; the tests about lapses end leases themselves.
const LEASE_MS = 60_000;
let server: TestServer;
let enqueuer: TestBuilder;
before(async () => {
  server = await startTestServer({ pool: testPoolConfig({ leaseMs: LEASE_MS, maxAttempts: 2 }) });
  enqueuer = await server.createBuilder('enqueuer');
});
after(() => server.close());

/** Each test works on its own jobs, so it retires whatever earlier tests left queued or held. */
async function drain(): Promise<void> {
  await server.context.models.Job.updateMany({ state: 'queued' }, { $set: { state: 'done' } });
}

async function enqueue(jobs: unknown): Promise<Response> {
  return server.request('/api/v1/jobs', { method: 'POST', token: enqueuer.token, json: jobs });
}

/** Moves the end of a job's lease to `at`, as if that much of the lease had passed. */
async function endLeaseAt(id: string, at: Date): Promise<void> {
  await server.context.models.Lease.updateOne({ _id: id }, { $set: { expiresAt: at } });
}

/** Disconnects and waits until the server has returned what the worker held, so later tests start clean. */
async function leave(socket: Socket): Promise<void> {
  const id = socket.id;
  socket.disconnect();
  while (await server.context.models.Lease.exists({ socketId: id })) await sleep(10);
}

function claimed(ack: ClaimAck): JobView {
  assert.ok(ack !== null && !('error' in ack), `expected a job, got ${JSON.stringify(ack)}`);
  return ack;
}

/** A new builder's connection holding the pool's only queued job. */
async function holdingOnlyJob(jobName: string, builderName: string) {
  await drain();
  const job = fakeJob(jobName);
  await enqueue([job]);
  const builder = await server.createBuilder(builderName);
  const holder = await connectRebuilder(server.url, builder.token);
  const { id } = claimed(await holder.emitWithAck('claim'));
  return { job, holder, id, builder };
}

test('a rebuilder with a bad token is refused at connect', async () => {
  await assert.rejects(connectRebuilder(server.url, 'not-a-token-of-anyone'), /invalid token/);
});

test('rebuilders claim outputs with fewer independent builders first, then in the order asked', async () => {
  await drain();
  const [first, second, third] = [fakeJob('a'), fakeJob('b'), fakeJob('c')];
  await server.context.models.OutputSummary.create({ outPath: first.outPath, verdict: 'one-build', verifiedBuilderCount: 1, attestedBy: ['someone'] });
  const response = await enqueue([first, second, third]);
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { added: 3, requeued: 0, unchanged: 0, satisfied: 0 });
  const worker = await server.createBuilder('priority-worker');
  const socket = await connectRebuilder(server.url, worker.token);
  const order = [];
  for (let i = 0; i < 4; i++) {
    const ack = (await socket.emitWithAck('claim')) as ClaimAck;
    order.push(ack === null ? null : claimed(ack).outPath);
  }
  assert.deepEqual(order, [second.outPath, third.outPath, first.outPath, null]);
  await leave(socket);
});

test('a builder is never offered an output it attested, with a valid signature or not', async () => {
  await drain();
  const carol = await server.createBuilder('carol');
  const [signedJob, unsignedJob] = [fakeJob('signed'), fakeJob('unsigned')];
  const attest = (job: JobRequest, overrides: Partial<AttestationSubmission>) =>
    server.request(`/attestation/${drvHash(job.drvPath)}`, {
      method: 'POST',
      token: carol.token,
      json: [lilaItem(carol, { outPath: job.outPath, narHash: narHash(job.outPath) }, overrides)],
    });
  assert.equal((await attest(signedJob, {})).status, 200);
  assert.equal((await attest(unsignedJob, { output_sig: 'carol-1:not-a-signature' })).status, 200);
  await enqueue([signedJob, unsignedJob]);
  const socket = await connectRebuilder(server.url, carol.token);
  assert.equal(await socket.emitWithAck('claim'), null);
  await leave(socket);
  const other = await connectRebuilder(server.url, (await server.createBuilder('dan')).token);
  // Carol's unverifiable attestation backs nothing, so that output is the more wanted.
  assert.equal(claimed(await other.emitWithAck('claim')).outPath, unsignedJob.outPath);
  assert.equal(claimed(await other.emitWithAck('claim')).outPath, signedJob.outPath);
  await leave(other);
});

test('a worker whose connection is cut loses its jobs back to the pool', async () => {
  await drain();
  const job = fakeJob('cut');
  await enqueue([job]);
  const first = await connectRebuilder(server.url, (await server.createBuilder('cut-first')).token);
  assert.equal(claimed(await first.emitWithAck('claim')).outPath, job.outPath);
  first.io.engine.close();
  const second = await connectRebuilder(server.url, (await server.createBuilder('cut-second')).token);
  let again: ClaimAck = null;
  for (let tries = 0; again === null && tries < 100; tries++) {
    again = (await second.emitWithAck('claim')) as ClaimAck;
    if (again === null) await sleep(50);
  }
  assert.equal(claimed(again).outPath, job.outPath);
  await leave(second);
});

test('a claim held by a server that died returns to the pool once its lease runs out', async () => {
  await drain();
  const job = fakeJob('orphaned');
  await enqueue([job]);
  // A claim on a connection no live server knows: only the lease sweeper can give it back.
  const orphan = await server.context.pool.claim('ghost', 'socket-of-a-dead-server');
  assert.equal(orphan?.outPath, job.outPath);
  const worker = await connectRebuilder(server.url, (await server.createBuilder('sweep-worker')).token);
  assert.equal(await worker.emitWithAck('claim'), null);
  assert.equal(await server.context.pool.sweep(), 0, 'a lease still running is not swept');
  assert.equal(await worker.emitWithAck('claim'), null);
  await endLeaseAt(orphan.id, new Date(Date.now() - 1));
  let again: ClaimAck = null;
  for (let tries = 0; again === null && tries < 100; tries++) {
    await sleep(50);
    again = (await worker.emitWithAck('claim')) as ClaimAck;
  }
  assert.equal(claimed(again).outPath, job.outPath);
  await leave(worker);
});

test('a worker that keeps heartbeating keeps its jobs past the lease length', async () => {
  const { holder, id } = await holdingOnlyJob('kept', 'heartbeater');
  const rival = await connectRebuilder(server.url, (await server.createBuilder('rival')).token);
  // Most of the lease has passed; a heartbeat now must carry the claim past the moment the lease would have ended.
  const wouldHaveEnded = new Date(Date.now() + 1_500);
  await endLeaseAt(id, wouldHaveEnded);
  const beat = (await holder.emitWithAck('heartbeat')) as HeartbeatAck;
  assert.deepEqual(beat.jobs, [id]);
  assert.ok(new Date(beat.leaseExpiresAt).getTime() > wouldHaveEnded.getTime() + LEASE_MS / 2, `lease renewed to ${beat.leaseExpiresAt}`);
  while (Date.now() <= wouldHaveEnded.getTime()) await sleep(100);
  await server.context.pool.sweep();
  assert.equal(await rival.emitWithAck('claim'), null);
  const lease = await server.context.models.Lease.findById(id).lean();
  assert.equal(lease?.builder, 'heartbeater');
  assert.equal(lease?.socketId, holder.id);
  await leave(holder);
  await leave(rival);
});

test('a lease that already ran out is not revived by a late heartbeat', async () => {
  const { job, holder, id } = await holdingOnlyJob('lapsed', 'late-heartbeater');
  await endLeaseAt(id, new Date(Date.now() - 1));
  // Whether the sweeper or this heartbeat comes first, the lapsed lease is not the holder's any more.
  assert.deepEqual(((await holder.emitWithAck('heartbeat')) as HeartbeatAck).jobs, []);
  while (await server.context.models.Lease.exists({ _id: id })) await sleep(10);
  assert.deepEqual(((await holder.emitWithAck('heartbeat')) as HeartbeatAck).jobs, []);
  const rival = await connectRebuilder(server.url, (await server.createBuilder('late-rival')).token);
  assert.equal(claimed(await rival.emitWithAck('claim')).outPath, job.outPath);
  await leave(holder);
  await leave(rival);
});

test('a failing job is retried by other builders, then marked failed with its last error', async () => {
  await drain();
  const job = fakeJob('broken');
  await enqueue([job]);
  const failures: unknown[] = [];
  const unsubscribe = server.context.events.subscribe('job:failed', (event) => failures.push(event));
  for (const [index, name] of ['fail-one', 'fail-two'].entries()) {
    const worker = await connectRebuilder(server.url, (await server.createBuilder(name)).token);
    const { id } = claimed(await worker.emitWithAck('claim'));
    const error = `builder for ${job.drvPath} failed (${name})`;
    assert.deepEqual(await worker.emitWithAck('fail', { id, error }), {
      state: index === 0 ? 'queued' : 'failed',
      outcome: { kind: 'failed', log: error },
    });
    // Whoever failed it is not offered it again.
    assert.equal(await worker.emitWithAck('claim'), null);
    await leave(worker);
  }
  unsubscribe();
  assert.deepEqual(
    failures.map((event) => (event as { final: boolean }).final),
    [false, true],
  );
  const view = (await (await server.request('/api/v1/pool')).json()) as PoolView;
  const failed = view.jobs.find((entry) => entry.outPath === job.outPath);
  assert.equal(failed?.state, 'failed');
  assert.equal(failed?.attempts, 2);
  assert.equal(failed?.error, `builder for ${job.drvPath} failed (fail-two)`);
  // The monitor shows the failure's log tail.
  assert.deepEqual(failed?.outcome, { kind: 'failed', log: `builder for ${job.drvPath} failed (fail-two)` });
});

test('the monitor sees claimed jobs with their builder and each connected worker with its jobs', async () => {
  await drain();
  const job = fakeJob('watched');
  await enqueue([job]);
  const worker = await connectRebuilder(server.url, (await server.createBuilder('watched-worker')).token);
  const { id } = claimed(await worker.emitWithAck('claim'));
  const view = (await (await server.request('/api/v1/pool')).json()) as PoolView;
  const entry = view.jobs.find((candidate) => candidate.id === id);
  assert.equal(entry?.state, 'claimed');
  assert.equal(entry?.builder, 'watched-worker');
  assert.deepEqual(
    view.workers.find((candidate) => candidate.builder === 'watched-worker'),
    { builder: 'watched-worker', socketId: worker.id, jobs: [id] },
  );
  assert.ok(view.stats.claimed >= 1);
  await leave(worker);
});

test('workers get { error } for messages that are malformed or about jobs they do not hold', async () => {
  await drain();
  const worker = await connectRebuilder(server.url, (await server.createBuilder('clumsy')).token);
  assert.match(((await worker.emitWithAck('fail', { id: 42 })) as { error: string }).error, /fail needs/);
  assert.match(((await worker.emitWithAck('complete', 'nonsense')) as { error: string }).error, /complete needs/);
  assert.match(((await worker.emitWithAck('fail', { id: '0123456789abcdef01234567', error: 'x' })) as { error: string }).error, /not held/);
  await enqueue([fakeJob('someone-elses')]);
  const owner = await connectRebuilder(server.url, (await server.createBuilder('owner')).token);
  const { id } = claimed(await owner.emitWithAck('claim'));
  assert.match(((await worker.emitWithAck('fail', { id, error: 'not mine' })) as { error: string }).error, /not held/);
  assert.deepEqual(await owner.emitWithAck('release'), { released: 1 });
  await leave(worker);
  await leave(owner);
});

test('enqueueing needs a token and well-formed outputs, and writes nothing otherwise', async () => {
  const before = await server.context.models.Job.countDocuments();
  assert.equal((await server.request('/api/v1/jobs', { method: 'POST', json: [fakeJob()] })).status, 401);
  const notList = await enqueue({ drvPath: 'x' });
  assert.equal(notList.status, 400);
  const good = fakeJob('good');
  const misnamed = { ...fakeJob('misnamed'), output: 'dev' };
  const bad = await enqueue([good, misnamed]);
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { detail: string }).detail, /^item 1: output dev of .* must be named "misnamed-dev"/);
  assert.equal((await enqueue([{ ...good, drvPath: '/nix/store/short-x.drv' }])).status, 400);
  assert.equal(await server.context.models.Job.countDocuments(), before);
  assert.deepEqual(await (await enqueue([good, good])).json(), { added: 1, requeued: 0, unchanged: 0, satisfied: 0 });
  assert.deepEqual(await (await enqueue([good])).json(), { added: 0, requeued: 0, unchanged: 1, satisfied: 0 });
});

/** `builder` attests `job`'s output with a valid signature, as a post-build-hook would. */
async function attestedBy(builder: TestBuilder, job: JobRequest, hash: string): Promise<void> {
  const response = await server.request(`/attestation/${drvHash(job.drvPath)}`, {
    method: 'POST',
    token: builder.token,
    json: [lilaItem(builder, { outPath: job.outPath, narHash: hash })],
  });
  assert.equal(response.status, 200);
}

test('a completed rebuild says plainly whether it reproduced the output or got another hash, to the worker and the monitor', async () => {
  await drain();
  const first = await server.createBuilder('outcome-first');
  const [same, other] = [fakeJob('same'), fakeJob('other')];
  await attestedBy(first, same, narHash('same'));
  await attestedBy(first, other, narHash('other, first build'));
  await enqueue([same, other]);
  const done: MonitorEvents['job:done'][] = [];
  const unsubscribe = server.context.events.subscribe('job:done', (event) => done.push(event));
  const rebuilder = await server.createBuilder('outcome-rebuilder');
  const worker = await connectRebuilder(server.url, rebuilder.token);
  const answers = [];
  for (const [job, hash] of [[same, narHash('same')], [other, narHash('other, rebuilt')]] as const) {
    const { id } = claimed(await worker.emitWithAck('claim'));
    answers.push(await worker.emitWithAck('complete', { id, attestations: [batchItem(rebuilder, job.drvPath, { outPath: job.outPath, narHash: hash })] }));
  }
  unsubscribe();
  const reproduced = { kind: 'reproduced', narHash: narHash('same') };
  const differs = { kind: 'differs', narHash: narHash('other, rebuilt'), others: [narHash('other, first build')] };
  assert.deepEqual(answers, [
    { state: 'done', outcome: reproduced },
    { state: 'done', outcome: differs },
  ]);
  assert.deepEqual(
    done.map((event) => [event.job.outPath, event.builder, event.outcome]),
    [
      [same.outPath, 'outcome-rebuilder', reproduced],
      [other.outPath, 'outcome-rebuilder', differs],
    ],
  );
  assert.equal(describeRebuildOutcome(differs as never), `differs (hash ${narHash('other, rebuilt')} vs ${narHash('other, first build')})`);
  await leave(worker);
});

test('a revoked token stops working on a socket already open: refused, then disconnected', async () => {
  const { holder, id, builder } = await holdingOnlyJob('revoked', 'revoked-worker');
  assert.equal(await server.context.builders.revokeToken(builder.token), true);
  const disconnected = new Promise<string>((resolve) => holder.once('disconnect', resolve));
  assert.match(((await holder.emitWithAck('claim')) as { error: string }).error, /token of builder revoked-worker was revoked/);
  assert.equal(await disconnected, 'io server disconnect');
  // Its claim went back to the pool with the connection.
  while (await server.context.models.Lease.exists({ _id: id })) await sleep(10);
  assert.equal((await server.context.models.Job.findById(id).lean())?.state, 'queued');
  await assert.rejects(connectRebuilder(server.url, builder.token), /invalid token/);
});

test('a key removed while the socket is open no longer makes its attestations valid', async () => {
  const { job, holder, id, builder } = await holdingOnlyJob('removed-key', 'key-loser');
  await server.context.builders.removeKey(builder.name, builder.secretKey.name);
  // Signed with the key the builder had when it connected.
  const attestation = batchItem(builder, job.drvPath, { outPath: job.outPath, narHash: narHash('removed-key') });
  const answer = await holder.emitWithAck('complete', { id, attestations: [attestation] });
  assert.equal((answer as { state?: string }).state, 'queued', JSON.stringify(answer));
  const stored = (await (await server.request(`/attestations/by-output/${job.outPath.slice('/nix/store/'.length)}`)).json()) as AttestationView[];
  assert.deepEqual(
    stored.map((entry) => [entry.builder, entry.signature.status]),
    [['key-loser', 'invalid']],
  );
  await leave(holder);
});
