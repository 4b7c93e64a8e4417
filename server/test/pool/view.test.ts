import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type PoolView } from '@lilac/common';
import { connectRebuilder, fakeJob } from '../support/rebuilderClient.ts';
import { LEASE_MS, claimed, drain, enqueue, leave, poolOnClock, server, usePoolServer } from './poolKit.ts';

usePoolServer();

test('the monitor sees claimed jobs with their builder and each connected worker with its jobs', async () => {
  await drain();
  const job = fakeJob('watched');
  await enqueue([job]);
  const worker = await connectRebuilder(server().url, (await server().createBuilder('watched-worker')).token);
  const { id } = claimed(await worker.emitWithAck('claim'));
  const view = (await (await server().request('/api/v1/pool')).json()) as PoolView;
  const entry = view.jobs.find((candidate) => candidate.id === id);
  assert.equal(entry?.state, 'claimed');
  assert.equal(entry?.builder, 'watched-worker');
  assert.deepEqual(
    view.workers.find((candidate) => candidate.builder === 'watched-worker'),
    { builder: 'watched-worker', socketId: worker.id, systems: null, features: [], jobs: [id] },
  );
  assert.ok(view.stats.claimed >= 1);
  await leave(worker);
});


test('a job whose lease ran out counts as queued, not claimed, before the sweeper returns it', async () => {
  await drain();
  let now = new Date('2041-01-01T00:00:00Z');
  const pool = poolOnClock(() => now);
  const job = fakeJob('lapsing');
  await pool.enqueue([job]);
  const held = await pool.claim('lapsing-worker', 'socket-of-lapsing');
  assert.equal(held?.outPath, job.outPath);
  assert.equal((await pool.stats()).claimed, 1);
  now = new Date(now.getTime() + LEASE_MS + 1);
  assert.ok(await server().context.models.Lease.exists({ _id: held.id }), 'the sweeper has not returned the job yet');
  const stats = await pool.stats();
  assert.equal(stats.claimed, 0);
  assert.equal(stats.queued, 1);
  const view = await pool.view(10);
  assert.equal(view.jobs.find((entry) => entry.id === held.id)?.state, 'queued');
  assert.deepEqual(view.workers.filter((worker) => worker.builder === 'lapsing-worker'), []);
  await pool.release('socket-of-lapsing');
});
