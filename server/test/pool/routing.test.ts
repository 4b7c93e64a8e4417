import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JobView, PoolView } from '@lilac/common';
import { connectRebuilder, fakeJob } from '../support/rebuilderClient.ts';
import { claimed, drain, enqueue, leave, server, usePoolServer } from './poolKit.ts';

usePoolServer();

async function poolView(): Promise<PoolView> {
  return (await (await server().request('/api/v1/pool')).json()) as PoolView;
}

/** Claims until the worker is offered nothing more; the out paths it got, in order. */
async function claimAll(worker: Awaited<ReturnType<typeof connectRebuilder>>): Promise<string[]> {
  const got: string[] = [];
  for (;;) {
    const ack = (await worker.emitWithAck('claim')) as JobView | null;
    if (ack === null) return got;
    got.push(claimed(ack).outPath);
  }
}

test('a worker announcing x86_64-linux is never offered a riscv64-linux job, and gets its own and unsaid ones', async () => {
  await drain();
  const riscv = { ...fakeJob('riscv-only'), system: 'riscv64-linux' };
  const x86 = { ...fakeJob('x86-job'), system: 'x86_64-linux' };
  const unsaid = fakeJob('unsaid');
  assert.equal((await enqueue([riscv, x86, unsaid])).status, 200);
  const builder = await server().createBuilder('x86-worker');
  const worker = await connectRebuilder(server().url, builder.token, { systems: ['x86_64-linux', 'i686-linux'] });
  assert.deepEqual(await claimAll(worker), [x86.outPath, unsaid.outPath]);
  await leave(worker);

  const riscvBuilder = await server().createBuilder('riscv-worker');
  const riscvWorker = await connectRebuilder(server().url, riscvBuilder.token, { systems: ['riscv64-linux'] });
  const got = claimed(await riscvWorker.emitWithAck('claim'));
  assert.deepEqual([got.outPath, got.system, got.requiredSystemFeatures], [riscv.outPath, 'riscv64-linux', []]);
  await leave(riscvWorker);
});

test('past many jobs it cannot build, a worker finds the one it can', async () => {
  await drain();
  // Over a thousand jobs ahead of it (once more than a claim window held): for another system, or needing a feature it lacks.
  const ahead = Array.from({ length: 1100 }, (_, index) =>
    index % 2 === 0 ? { ...fakeJob(`ahead-${index}`), system: 'riscv64-linux' } : { ...fakeJob(`ahead-${index}`), system: 'x86_64-linux', requiredSystemFeatures: ['kvm'] },
  );
  const mine = { ...fakeJob('behind'), system: 'x86_64-linux', requiredSystemFeatures: ['big-parallel'] };
  const unsaid = fakeJob('behind-unsaid');
  const notMine = { ...fakeJob('behind-not-mine'), system: 'x86_64-linux', requiredSystemFeatures: ['big-parallel', 'kvm'] };
  assert.equal((await enqueue([...ahead, mine, notMine, unsaid])).status, 200);
  const worker = await connectRebuilder(server().url, (await server().createBuilder('far-reader')).token, { systems: ['x86_64-linux'], features: ['big-parallel'] });
  // The outlook counts what this connection can build, so `--until-empty` does not wait for the rest.
  assert.deepEqual(await worker.emitWithAck('outlook'), { claimable: 2, backingOff: 0, held: 0, lapsed: 0 });
  assert.deepEqual(await claimAll(worker), [mine.outPath, unsaid.outPath]);
  assert.deepEqual(await worker.emitWithAck('outlook'), { claimable: 0, backingOff: 0, held: 2, lapsed: 0 });
  await leave(worker);
});

test('required features must all be among the worker\'s', async () => {
  await drain();
  const needsKvm = { ...fakeJob('needs-kvm'), system: 'x86_64-linux', requiredSystemFeatures: ['kvm', 'big-parallel'] };
  const plain = { ...fakeJob('plain'), system: 'x86_64-linux' };
  await enqueue([needsKvm, plain]);
  const small = await connectRebuilder(server().url, (await server().createBuilder('small')).token, { systems: ['x86_64-linux'], features: ['kvm', 'benchmark'] });
  assert.deepEqual(await claimAll(small), [plain.outPath]);
  const big = await connectRebuilder(server().url, (await server().createBuilder('big')).token, { systems: ['x86_64-linux'], features: ['big-parallel', 'kvm'] });
  assert.deepEqual(await claimAll(big), [needsKvm.outPath]);
  await leave(small);
  await leave(big);
});

test('a worker that announces nothing is offered any job, as before routing', async () => {
  await drain();
  const jobs = [{ ...fakeJob('aarch'), system: 'aarch64-darwin', requiredSystemFeatures: ['apple-virt'] }, fakeJob('anything')];
  await enqueue(jobs);
  const worker = await connectRebuilder(server().url, (await server().createBuilder('silent')).token);
  assert.deepEqual(await claimAll(worker), jobs.map((job) => job.outPath));
  await leave(worker);
});

test('a job no connected worker can build stays queued and is flagged as waiting for a capable worker', async () => {
  await drain();
  const exotic = { ...fakeJob('exotic'), system: 'mips64el-linux' };
  const fine = { ...fakeJob('fine'), system: 'x86_64-linux', requiredSystemFeatures: ['kvm'] };
  await enqueue([exotic, fine]);
  const worker = await connectRebuilder(server().url, (await server().createBuilder('kvm-box')).token, { systems: ['x86_64-linux'], features: ['kvm'] });
  const view = await poolView();
  const shown = (outPath: string) => view.jobs.find((job) => job.outPath === outPath);
  assert.deepEqual([shown(exotic.outPath)?.state, shown(exotic.outPath)?.waitingForCapableWorker], ['queued', true]);
  assert.deepEqual([shown(fine.outPath)?.state, shown(fine.outPath)?.waitingForCapableWorker], ['queued', false]);
  assert.deepEqual(
    view.workers.find((candidate) => candidate.socketId === worker.id),
    { builder: 'kvm-box', socketId: worker.id, systems: ['x86_64-linux'], features: ['kvm'], jobs: [] },
  );
  assert.deepEqual(await claimAll(worker), [fine.outPath]);
  const after = (await poolView()).jobs.find((job) => job.outPath === exotic.outPath);
  assert.deepEqual([after?.state, after?.waitingForCapableWorker], ['queued', true]);
  await leave(worker);
});

test('bad systems and features are refused at the edge, and nothing is written', async () => {
  await drain();
  const before = await server().context.models.Job.countDocuments();
  for (const bad of [{ system: 'x86_64' }, { system: 'X86-<b>' }, { system: 42 }, { requiredSystemFeatures: 'kvm' }, { requiredSystemFeatures: ['k v m'] }, { requiredSystemFeatures: Array.from({ length: 40 }, (_, index) => `f${index}`) }]) {
    const response = await enqueue([fakeJob('fine-one'), { ...fakeJob('bad-one'), ...bad }]);
    assert.equal(response.status, 400, JSON.stringify(bad));
    assert.match(((await response.json()) as { detail: string }).detail, /^item 1: /);
  }
  assert.equal(await server().context.models.Job.countDocuments(), before);
  const builder = await server().createBuilder('bad-announcer');
  for (const announce of [{ systems: 'x86_64-linux' }, { systems: [] }, { systems: ['x86_64-linux'], features: ['<script>'] }, { features: ['kvm'] }]) {
    await assert.rejects(connectRebuilder(server().url, builder.token, announce), JSON.stringify(announce));
  }
});
