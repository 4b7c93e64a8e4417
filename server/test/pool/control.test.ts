import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CancelNotice, ErrorBody, JobOutcomeAck, MonitorEvents, PoolJobView, PoolView, RebuilderErrorAck } from '@lilac/common';
import { connectRebuilder, fakeJob } from '../support/rebuilderClient.ts';
import { claimed, drain, enqueue, holdingOnlyJob, leave, server, usePoolServer } from './poolKit.ts';

usePoolServer();

async function jobIdOf(outPath: string): Promise<string> {
  const job = await server().context.models.Job.findOne({ outPath }).lean();
  assert.ok(job, `job of ${outPath}`);
  return String(job._id);
}

function cancelAs(token: string | undefined, id: string): Promise<Response> {
  return server().request(`/api/v1/jobs/${id}/cancel`, { method: 'POST', ...(token !== undefined && { token }) });
}

function prioritiseAs(token: string, id: string, priority: unknown): Promise<Response> {
  return server().request(`/api/v1/jobs/${id}`, { method: 'PATCH', token, json: { priority } });
}

/** The next event of that name on the server's bus. */
function nextEvent<K extends keyof MonitorEvents>(name: K): Promise<MonitorEvents[K]> {
  return new Promise((resolve) => {
    const unsubscribe = server().context.events.subscribe(name, (payload) => {
      unsubscribe();
      resolve(payload);
    });
  });
}

test('a maintainer cancels a queued job: it leaves the pool, is shown cancelled and no worker is offered it', async () => {
  await drain();
  const job = fakeJob('cancel-queued');
  await enqueue([job]);
  const id = await jobIdOf(job.outPath);
  const maintainer = await server().createMember('mona', 'maintainer');
  const heard = nextEvent('job:cancelled');

  const response = await cancelAs(maintainer, id);
  assert.equal(response.status, 200, await response.clone().text());
  const view = (await response.json()) as PoolJobView;
  assert.deepEqual([view.id, view.state, view.outcome], [id, 'cancelled', { kind: 'cancelled', log: '', by: 'mona' }]);
  const event = await heard;
  assert.deepEqual([event.job.id, event.by, event.holder], [id, 'mona', null]);

  const worker = await connectRebuilder(server().url, (await server().createBuilder('after-cancel')).token);
  assert.equal(await worker.emitWithAck('claim'), null);
  await leave(worker);
  const pool = (await (await server().request('/api/v1/pool')).json()) as PoolView;
  assert.equal(pool.stats.cancelled, 1);
  // Cancelling again changes nothing; enqueueing again brings it back.
  assert.equal((await cancelAs(maintainer, id)).status, 200);
  const again = (await (await enqueue([job])).json()) as { requeued: number };
  assert.equal(again.requeued, 1);
  assert.equal((await server().context.models.Job.findById(id).lean())?.state, 'queued');
});

test('a cancel of a claimed job reaches the worker holding it, drops its lease, and its late report is refused', async () => {
  const { holder, id, job } = await holdingOnlyJob('cancel-claimed', 'holder-1');
  const admin = await server().createMember('ada', 'admin');
  const notice = new Promise<CancelNotice>((resolve) => holder.once('cancel', resolve));

  const response = await cancelAs(admin, id);
  assert.equal(response.status, 200, await response.clone().text());
  assert.deepEqual(await notice, { id, by: 'ada' });
  assert.equal(await server().context.models.Lease.exists({ _id: id }), null);
  const stored = await server().context.models.Job.findById(id).lean();
  assert.deepEqual([stored?.state, stored?.attempts], ['cancelled', 0]);

  // A worker that missed the notice (offline, or on another server) reports late: refused, so it delivers its attestations as any build's.
  const late = (await holder.emitWithAck('fail', { id, error: 'killed' })) as JobOutcomeAck | RebuilderErrorAck;
  assert.ok('error' in late, JSON.stringify(late));
  const refused = (await holder.emitWithAck('complete', { id, attestations: [] })) as JobOutcomeAck | RebuilderErrorAck;
  assert.ok('error' in refused, JSON.stringify(refused));
  assert.equal((await server().context.models.Job.findById(id).lean())?.state, 'cancelled');
  assert.equal(job.outPath, stored?.outPath);
  await leave(holder);
});

test('only maintainers and admins may cancel or reprioritise: a viewer and a builder get 403, nobody 401, an unknown job 404', async () => {
  await drain();
  const job = fakeJob('cancel-forbidden');
  await enqueue([job]);
  const id = await jobIdOf(job.outPath);
  const viewer = await server().createMember('vera', 'viewer');
  const builder = await server().createBuilder('bert');
  const maintainer = await server().createMember('max', 'maintainer');

  for (const [token, status] of [
    [viewer, 403],
    [builder.token, 403],
    [undefined, 401],
  ] as const) {
    const refused = await cancelAs(token, id);
    assert.equal(refused.status, status);
    assert.ok(((await refused.json()) as ErrorBody).detail.length > 0);
  }
  assert.equal((await prioritiseAs(viewer, id, 5)).status, 403);
  assert.equal((await prioritiseAs(builder.token, id, 5)).status, 403);
  const stored = await server().context.models.Job.findById(id).lean();
  assert.deepEqual([stored?.state, stored?.priority], ['queued', 0]);

  for (const unknown of ['0123456789abcdef01234567', 'not-a-job']) {
    const missing = await cancelAs(maintainer, unknown);
    assert.equal(missing.status, 404);
    assert.match(((await missing.json()) as ErrorBody).detail, /no job/);
    assert.equal((await prioritiseAs(maintainer, unknown, 1)).status, 404);
  }
  for (const bad of [1.5, '7', 100_000, null]) assert.equal((await prioritiseAs(maintainer, id, bad)).status, 400, `priority ${JSON.stringify(bad)}`);

  // A job that is over cannot be cancelled.
  await server().context.models.Job.updateOne({ _id: id }, { $set: { state: 'done' } });
  assert.equal((await cancelAs(maintainer, id)).status, 409);
});

test('claims take higher priority first, as enqueued and as a maintainer changes it', async () => {
  await drain();
  const [low, middle, high] = [fakeJob('prio-low'), fakeJob('prio-middle'), fakeJob('prio-high')];
  const enqueued = await enqueue([low, { ...middle, priority: 5 }, { ...high, priority: 1 }]);
  assert.equal(enqueued.status, 200, await enqueued.clone().text());
  assert.equal((await enqueue([{ ...fakeJob('prio-bad'), priority: 'high' }])).status, 400);
  const maintainer = await server().createMember('mira', 'maintainer');
  const heard = nextEvent('job:priority');
  const raised = await prioritiseAs(maintainer, await jobIdOf(high.outPath), 10);
  assert.equal(raised.status, 200, await raised.clone().text());
  assert.equal(((await raised.json()) as PoolJobView).priority, 10);
  assert.deepEqual([(await heard).priority, (await heard).by], [10, 'mira']);

  const worker = await connectRebuilder(server().url, (await server().createBuilder('prio-worker')).token);
  const order = [];
  for (let index = 0; index < 3; index++) order.push(claimed(await worker.emitWithAck('claim')).outPath);
  assert.deepEqual(order, [high.outPath, middle.outPath, low.outPath]);
  await leave(worker);
});

test('the pool view lists queued jobs in claim order with their priority', async () => {
  await drain();
  const [first, second] = [fakeJob('view-first'), fakeJob('view-second')];
  await enqueue([first, { ...second, priority: 3 }]);
  const pool = (await (await server().request('/api/v1/pool')).json()) as PoolView;
  const queued = pool.jobs.filter((job) => job.state === 'queued').map((job) => [job.outPath, job.priority]);
  assert.deepEqual(queued, [
    [second.outPath, 3],
    [first.outPath, 0],
  ]);
});
