import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type PoolView } from '@lilac/common';
import { connectRebuilder, fakeJob } from '../support/rebuilderClient.ts';
import { claimed, drain, enqueue, leave, server, usePoolServer } from './poolKit.ts';

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

