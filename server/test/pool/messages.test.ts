import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connectRebuilder, fakeJob } from '../support/rebuilderClient.ts';
import { claimed, drain, enqueue, holdingOnlyJob, leave, server, usePoolServer } from './poolKit.ts';
import { waitUntil } from '../support/waitUntil.ts';

usePoolServer();

test('workers get { error } for messages that are malformed or about jobs they do not hold', async () => {
  await drain();
  const worker = await connectRebuilder(server().url, (await server().createBuilder('clumsy')).token);
  assert.match(((await worker.emitWithAck('fail', { id: 42 })) as { error: string }).error, /fail needs/);
  assert.match(((await worker.emitWithAck('complete', 'nonsense')) as { error: string }).error, /complete needs/);
  assert.match(((await worker.emitWithAck('fail', { id: '0123456789abcdef01234567', error: 'x' })) as { error: string }).error, /not held/);
  await enqueue([fakeJob('someone-elses')]);
  const owner = await connectRebuilder(server().url, (await server().createBuilder('owner')).token);
  const { id } = claimed(await owner.emitWithAck('claim'));
  assert.match(((await worker.emitWithAck('fail', { id, error: 'not mine' })) as { error: string }).error, /not held/);
  assert.deepEqual(await owner.emitWithAck('release'), { released: 1 });
  await leave(worker);
  await leave(owner);
});

test('a revoked token stops working on a socket already open: refused, then disconnected', async () => {
  const { holder, id, builder } = await holdingOnlyJob('revoked', 'revoked-worker');
  assert.equal(await server().context.builders.revokeToken(builder.token), true);
  const disconnected = new Promise<string>((resolve) => holder.once('disconnect', resolve));
  assert.match(((await holder.emitWithAck('claim')) as { error: string }).error, /token of builder revoked-worker was revoked/);
  assert.equal(await disconnected, 'io server disconnect');
  // Its claim went back to the pool with the connection.
  await waitUntil(`the lease of ${id} is returned`, async () => !(await server().context.models.Lease.exists({ _id: id })));
  assert.equal((await server().context.models.Job.findById(id).lean())?.state, 'queued');
  await assert.rejects(connectRebuilder(server().url, builder.token), /invalid token/);
});

