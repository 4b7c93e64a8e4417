import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DivergenceView, OutputDetail, PoolView } from '@lilac/common';
import { batchItem, narHash } from '../support/attestationFixtures.ts';
import { connectRebuilder, fakeJob } from '../support/rebuilderClient.ts';
import { attestedBy, claimed, drain, enqueue, holdingOnlyJob, leave, server, usePoolServer } from './poolKit.ts';

usePoolServer();

async function poolJob(outPath: string) {
  const view = (await (await server().request('/api/v1/pool')).json()) as PoolView;
  return view.jobs.find((job) => job.outPath === outPath);
}

async function output(outPath: string): Promise<OutputDetail> {
  const response = await server().request(`/api/v1/outputs/${outPath.slice('/nix/store/'.length)}`);
  assert.equal(response.status, 200, await response.clone().text());
  return (await response.json()) as OutputDetail;
}

test('a rebuild that timed out is retried like one that failed, and both count toward the attempt limit', async () => {
  await drain();
  const job = fakeJob('hangs-then-breaks');
  await enqueue([job]);
  const endings = [
    ['timeout-one', 'timed-out', 'queued'],
    ['timeout-two', 'failed', 'failed'],
  ] as const;
  for (const [name, kind, state] of endings) {
    const worker = await connectRebuilder(server().url, (await server().createBuilder(name)).token);
    const { id } = claimed(await worker.emitWithAck('claim'));
    assert.deepEqual(await worker.emitWithAck('fail', { id, error: `log of ${name}`, kind }), { state, outcome: { kind, log: `log of ${name}` } });
    await leave(worker);
  }
  const shown = await poolJob(job.outPath);
  assert.deepEqual([shown?.state, shown?.attempts], ['failed', 2]);
  assert.deepEqual(
    shown?.history.map((attempt) => [attempt.builder, attempt.outcome]),
    [
      ['timeout-one', { kind: 'timed-out', log: 'log of timeout-one' }],
      ['timeout-two', { kind: 'failed', log: 'log of timeout-two' }],
    ],
  );
  // Each attempt ran from its claim to its report.
  for (const attempt of shown?.history ?? []) {
    assert.ok(attempt.startedAt !== null && attempt.durationMs !== null && attempt.durationMs >= 0, JSON.stringify(attempt));
    assert.equal(Date.parse(attempt.finishedAt) - Date.parse(attempt.startedAt), attempt.durationMs);
  }
});

test('a failed job asked for again gets a fresh attempt budget: its next failure is retried, not final', async () => {
  await drain();
  const job = fakeJob('fails-then-asked-again');
  await enqueue([job]);
  const failOnce = async (name: string) => {
    const worker = await connectRebuilder(server().url, (await server().createBuilder(name)).token);
    const { id } = claimed(await worker.emitWithAck('claim'));
    const answer = (await worker.emitWithAck('fail', { id, error: `log of ${name}`, kind: 'failed' })) as { state: string };
    await leave(worker);
    return answer.state;
  };
  assert.deepEqual([await failOnce('budget-one'), await failOnce('budget-two')], ['queued', 'failed']);
  assert.equal(((await (await enqueue([job])).json()) as { requeued: number }).requeued, 1);
  assert.equal(await failOnce('budget-three'), 'queued', 'the two failures before it was asked for again do not count');
  const shown = await poolJob(job.outPath);
  assert.deepEqual([shown?.state, shown?.attempts, shown?.history.length], ['queued', 1, 3]);
});

test('a cancelled rebuild is not retried: the job is cancelled, listed with its outcome and offered to nobody', async () => {
  const { job, holder, id } = await holdingOnlyJob('cancelled-midway', 'cancel-holder');
  assert.deepEqual(await holder.emitWithAck('fail', { id, error: 'stopped by a cancel', kind: 'cancelled' }), {
    state: 'cancelled',
    outcome: { kind: 'cancelled', log: 'stopped by a cancel' },
  });
  await leave(holder);
  const other = await connectRebuilder(server().url, (await server().createBuilder('cancel-other')).token);
  assert.equal(await other.emitWithAck('claim'), null);
  await leave(other);
  const shown = await poolJob(job.outPath);
  assert.deepEqual([shown?.state, shown?.outcome?.kind, shown?.history.map((attempt) => attempt.outcome.kind)], ['cancelled', 'cancelled', ['cancelled']]);
  // Asked for again, a cancelled job goes back to the queue.
  const again = (await (await enqueue([job])).json()) as { requeued: number };
  assert.equal(again.requeued, 1);
});

test('a failed rebuild changes neither the verdict nor the divergences, and the output lists it as failed apart from one that differs', async () => {
  await drain();
  const first = await server().createBuilder('verdict-first');
  const [broken, diverging] = [fakeJob('fails-on-rebuild'), fakeJob('differs-on-rebuild')];
  await attestedBy(first, broken, narHash('fails-on-rebuild'));
  await attestedBy(first, diverging, narHash('differs, first build'));
  await enqueue([broken, diverging]);
  const before = await output(broken.outPath);
  const divergencesBefore = (await (await server().request('/api/v1/divergences')).json()) as DivergenceView[];

  const rebuilder = await server().createBuilder('verdict-rebuilder');
  const worker = await connectRebuilder(server().url, rebuilder.token);
  const claims = [claimed(await worker.emitWithAck('claim')), claimed(await worker.emitWithAck('claim'))];
  const failing = claims.find((claim) => claim.outPath === broken.outPath)!;
  const rebuilt = claims.find((claim) => claim.outPath === diverging.outPath)!;
  assert.equal((await worker.emitWithAck('fail', { id: failing.id, error: 'builder for fails-on-rebuild failed with exit code 1' })).outcome.kind, 'failed');
  const done = await worker.emitWithAck('complete', { id: rebuilt.id, attestations: [batchItem(rebuilder, diverging.drvPath, { outPath: diverging.outPath, narHash: narHash('differs, rebuilt') })] });
  assert.equal(done.outcome.kind, 'differs');
  await leave(worker);

  const after = await output(broken.outPath);
  assert.deepEqual([after.verdict, after.hashes], [before.verdict, before.hashes]);
  assert.equal(after.verdict, 'one-build');
  assert.deepEqual(after.rebuilds.map((attempt) => [attempt.builder, attempt.outcome]), [['verdict-rebuilder', { kind: 'failed', log: 'builder for fails-on-rebuild failed with exit code 1' }]]);
  const divergencesAfter = (await (await server().request('/api/v1/divergences')).json()) as DivergenceView[];
  assert.deepEqual(
    divergencesAfter.map((divergence) => divergence.outPath).filter((outPath) => outPath !== diverging.outPath),
    divergencesBefore.map((divergence) => divergence.outPath),
  );
  assert.ok(!divergencesAfter.some((divergence) => divergence.outPath === broken.outPath));
  const differing = await output(diverging.outPath);
  assert.equal(differing.verdict, 'nondeterministic');
  assert.deepEqual(differing.rebuilds.map((attempt) => attempt.outcome.kind), ['differs']);
});

test('a fail that names an ending other than failed, timed-out or cancelled is refused and records nothing', async () => {
  const { job, holder, id } = await holdingOnlyJob('odd-ending', 'odd-holder');
  assert.deepEqual(await holder.emitWithAck('fail', { id, error: 'x', kind: 'differs' }), { error: 'fail\'s kind must be one of failed, timed-out, cancelled' });
  const shown = await poolJob(job.outPath);
  assert.deepEqual([shown?.state, shown?.builder, shown?.history], ['claimed', 'odd-holder', []]);
  await leave(holder);
});

test('a report counts its outputs by how their last rebuild ended and lists those a rebuild did not reproduce', async () => {
  await drain();
  const first = await server().createBuilder('report-first');
  const [broken, same, untouched] = [fakeJob('report-broken'), fakeJob('report-same'), fakeJob('report-untouched')];
  for (const job of [broken, same, untouched]) await attestedBy(first, job, narHash(job.outPath));
  await enqueue([broken, same]);
  const rebuilder = await server().createBuilder('report-rebuilder');
  const worker = await connectRebuilder(server().url, rebuilder.token);
  for (let index = 0; index < 2; index++) {
    const claim = claimed(await worker.emitWithAck('claim'));
    if (claim.outPath === broken.outPath) await worker.emitWithAck('fail', { id: claim.id, error: 'no space left on device' });
    else await worker.emitWithAck('complete', { id: claim.id, attestations: [batchItem(rebuilder, same.drvPath, { outPath: same.outPath, narHash: narHash(same.outPath) })] });
  }
  await leave(worker);
  const root = fakeJob('report-root').outPath;
  const paths = [broken, same, untouched].map((job) => job.outPath);
  const components = paths.map((path) => ({ 'bom-ref': path, type: 'library', name: path.slice(44), properties: [{ name: 'nix:out_path', value: path }] }));
  const sbom = {
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    metadata: { component: { 'bom-ref': root, type: 'application', name: 'report-root', properties: [{ name: 'nix:out_path', value: root }] } },
    components,
    dependencies: [{ ref: root, dependsOn: paths }],
  };
  assert.equal((await server().request('/reports/rebuilt', { method: 'PUT', token: first.token, json: sbom })).status, 201);

  const response = await server().request('/api/v1/reports/rebuilt/rebuilds');
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), {
    counts: { reproduced: 1, differs: 0, unmatched: 0, failed: 1, 'timed-out': 0, cancelled: 0 },
    notReproduced: [{ outPath: broken.outPath, outcome: { kind: 'failed', log: 'no space left on device' } }],
  });
  assert.equal((await server().request('/api/v1/reports/no-such-report/rebuilds')).status, 404);
});
