import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ClaimAck, type HeartbeatAck } from '@lilac/common';
import { connectRebuilder, fakeJob } from '../support/rebuilderClient.ts';
import { LEASE_MS, claimed, drain, endLeaseAt, enqueue, holdingOnlyJob, leave, poolOnClock, server, usePoolServer } from './poolKit.ts';
import { waitUntil } from '../support/waitUntil.ts';

usePoolServer();

test('a worker whose connection is cut loses its jobs back to the pool', async () => {
  await drain();
  const job = fakeJob('cut');
  await enqueue([job]);
  const first = await connectRebuilder(server().url, (await server().createBuilder('cut-first')).token);
  assert.equal(claimed(await first.emitWithAck('claim')).outPath, job.outPath);
  first.io.engine.close();
  const second = await connectRebuilder(server().url, (await server().createBuilder('cut-second')).token);
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
  const orphan = await server().context.pool.claim('ghost', 'socket-of-a-dead-server');
  assert.equal(orphan?.outPath, job.outPath);
  const worker = await connectRebuilder(server().url, (await server().createBuilder('sweep-worker')).token);
  assert.equal(await worker.emitWithAck('claim'), null);
  assert.equal(await server().context.pool.sweep(), 0, 'a lease still running is not swept');
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
  const rival = await connectRebuilder(server().url, (await server().createBuilder('rival')).token);
  // Most of the lease has passed; a heartbeat now must carry the claim past the moment the lease would have ended.
  const wouldHaveEnded = new Date(Date.now() + 1_500);
  await endLeaseAt(id, wouldHaveEnded);
  const beat = (await holder.emitWithAck('heartbeat')) as HeartbeatAck;
  assert.deepEqual(beat.jobs, [id]);
  assert.ok(new Date(beat.leaseExpiresAt).getTime() > wouldHaveEnded.getTime() + LEASE_MS / 2, `lease renewed to ${beat.leaseExpiresAt}`);
  while (Date.now() <= wouldHaveEnded.getTime()) await sleep(100);
  await server().context.pool.sweep();
  assert.equal(await rival.emitWithAck('claim'), null);
  const lease = await server().context.models.Lease.findById(id).lean();
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
  await waitUntil(`the lapsed lease of ${id} is swept`, async () => !(await server().context.models.Lease.exists({ _id: id })));
  assert.deepEqual(((await holder.emitWithAck('heartbeat')) as HeartbeatAck).jobs, []);
  const rival = await connectRebuilder(server().url, (await server().createBuilder('late-rival')).token);
  assert.equal(claimed(await rival.emitWithAck('claim')).outPath, job.outPath);
  await leave(holder);
  await leave(rival);
});


test('a lease runs out on the pool\'s own clock: sweeping then returns the job, with no waiting', async () => {
  await drain();
  let now = new Date('2040-01-01T00:00:00Z');
  const pool = poolOnClock(() => now);
  const job = fakeJob('on-the-clock');
  await pool.enqueue([job]);
  assert.equal((await pool.claim('early', 'socket-of-early'))?.outPath, job.outPath);
  assert.equal(await pool.claim('late', 'socket-of-late'), null);
  now = new Date(now.getTime() + LEASE_MS - 1);
  assert.equal(await pool.sweep(), 0, 'a lease still running is not swept');
  assert.equal(await pool.claim('late', 'socket-of-late'), null);
  now = new Date(now.getTime() + 2);
  assert.equal(await pool.sweep(), 1);
  const again = await pool.claim('late', 'socket-of-late');
  assert.equal(again?.outPath, job.outPath);
  assert.equal(again?.leaseExpiresAt, new Date(now.getTime() + LEASE_MS).toISOString());
  await pool.release('socket-of-late');
});

test('a heartbeat racing the sweeper either keeps the lease or loses it, and says which', async () => {
  await drain();
  // Two processes whose clocks disagree about one lease: the holder's sees it running, the sweeper's sees it lapsed.
  let holderNow = new Date('2042-01-01T00:00:00Z');
  let sweeperNow = holderNow;
  const holderPool = poolOnClock(() => holderNow);
  const sweeperPool = poolOnClock(() => sweeperNow);
  const job = fakeJob('raced');
  await holderPool.enqueue([job]);
  for (let round = 0; round < 20; round++) {
    holderNow = new Date(holderNow.getTime() + 10 * LEASE_MS);
    const held = await holderPool.claim('racer', 'socket-of-racer');
    assert.equal(held?.outPath, job.outPath, `round ${round}: the job is free again`);
    holderNow = new Date(holderNow.getTime() + LEASE_MS - 1);
    sweeperNow = new Date(holderNow.getTime() + 2);
    const [beat] = await Promise.all([holderPool.heartbeat('socket-of-racer'), sweeperPool.sweep()]);
    const lease = await server().context.models.Lease.findById(held.id).lean();
    if (beat.jobs.includes(held.id)) {
      assert.equal(lease?.expiresAt.toISOString(), beat.leaseExpiresAt, `round ${round}: the kept lease runs to the heartbeat's time`);
    } else {
      assert.equal(lease, null, `round ${round}: a lease the heartbeat lost is still there: ${JSON.stringify(lease)}`);
    }
    await holderPool.release('socket-of-racer');
  }
});
