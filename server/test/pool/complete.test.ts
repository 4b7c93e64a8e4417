import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeRebuildOutcome, type AttestationView, type MonitorEvents } from '@lilac/common';
import { batchItem, narHash } from '../support/attestationFixtures.ts';
import { connectRebuilder, fakeJob } from '../support/rebuilderClient.ts';
import { attestedBy, claimed, drain, enqueue, holdingOnlyJob, leave, server, usePoolServer } from './poolKit.ts';

usePoolServer();

test('a completed rebuild says plainly whether it reproduced the output or got another hash (and then asks for its listing), to the worker and the monitor', async () => {
  await drain();
  const first = await server().createBuilder('outcome-first');
  const [same, other] = [fakeJob('same'), fakeJob('other')];
  await attestedBy(first, same, narHash('same'));
  await attestedBy(first, other, narHash('other, first build'));
  await enqueue([same, other]);
  const done: MonitorEvents['job:done'][] = [];
  const unsubscribe = server().context.events.subscribe('job:done', (event) => done.push(event));
  const rebuilder = await server().createBuilder('outcome-rebuilder');
  const worker = await connectRebuilder(server().url, rebuilder.token);
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
    // Another hash: the worker's copy is wanted listed, to name the files that differ.
    { state: 'done', outcome: differs, listingWanted: [other.outPath] },
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

test('a key removed while the socket is open no longer makes its attestations valid', async () => {
  const { job, holder, id, builder } = await holdingOnlyJob('removed-key', 'key-loser');
  await server().context.builders.removeKey(builder.name, builder.secretKey.name);
  // Signed with the key the builder had when it connected.
  const attestation = batchItem(builder, job.drvPath, { outPath: job.outPath, narHash: narHash('removed-key') });
  const answer = await holder.emitWithAck('complete', { id, attestations: [attestation] });
  assert.equal((answer as { state?: string }).state, 'queued', JSON.stringify(answer));
  const stored = (await (await server().request(`/attestations/by-output/${job.outPath.slice('/nix/store/'.length)}`)).json()) as AttestationView[];
  assert.deepEqual(
    stored.map((entry) => [entry.builder, entry.signature.status]),
    [['key-loser', 'invalid']],
  );
  await leave(holder);
});

