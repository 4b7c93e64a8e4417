import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type PoolView } from '@lilac/common';
import { connectRebuilder, fakeJob } from '../support/rebuilderClient.ts';
import { claimed, drain, enqueue, leave, server, usePoolServer } from './poolKit.ts';

usePoolServer();

test('a failing job is retried by other builders, then marked failed with its last error', async () => {
  await drain();
  const job = fakeJob('broken');
  await enqueue([job]);
  const failures: unknown[] = [];
  const unsubscribe = server().context.events.subscribe('job:failed', (event) => failures.push(event));
  for (const [index, name] of ['fail-one', 'fail-two'].entries()) {
    const worker = await connectRebuilder(server().url, (await server().createBuilder(name)).token);
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
  const view = (await (await server().request('/api/v1/pool')).json()) as PoolView;
  const failed = view.jobs.find((entry) => entry.outPath === job.outPath);
  assert.equal(failed?.state, 'failed');
  assert.equal(failed?.attempts, 2);
  assert.equal(failed?.error, `builder for ${job.drvPath} failed (fail-two)`);
  // The monitor shows the failure's log tail.
  assert.deepEqual(failed?.outcome, { kind: 'failed', log: `builder for ${job.drvPath} failed (fail-two)` });
});

