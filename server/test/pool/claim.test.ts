import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type AttestationSubmission, type ClaimAck, type JobRequest } from '@lilac/common';
import { drvHash, lilaItem, narHash } from '../support/attestationFixtures.ts';
import { connectRebuilder, fakeJob } from '../support/rebuilderClient.ts';
import { claimed, drain, enqueue, leave, server, usePoolServer } from './poolKit.ts';

usePoolServer();

test('a rebuilder with a bad token is refused at connect', async () => {
  await assert.rejects(connectRebuilder(server().url, 'not-a-token-of-anyone'), /invalid token/);
});

test('rebuilders claim outputs with fewer independent builders first, then in the order asked', async () => {
  await drain();
  const [first, second, third] = [fakeJob('a'), fakeJob('b'), fakeJob('c')];
  await server().context.models.OutputSummary.create({ outPath: first.outPath, verdict: 'one-build', verifiedBuilderCount: 1, attestedBy: ['someone'] });
  const response = await enqueue([first, second, third]);
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { added: 3, requeued: 0, unchanged: 0, satisfied: 0 });
  const worker = await server().createBuilder('priority-worker');
  const socket = await connectRebuilder(server().url, worker.token);
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
  const carol = await server().createBuilder('carol');
  const [signedJob, unsignedJob] = [fakeJob('signed'), fakeJob('unsigned')];
  const attest = (job: JobRequest, overrides: Partial<AttestationSubmission>) =>
    server().request(`/attestation/${drvHash(job.drvPath)}`, {
      method: 'POST',
      token: carol.token,
      json: [lilaItem(carol, { outPath: job.outPath, narHash: narHash(job.outPath) }, overrides)],
    });
  assert.equal((await attest(signedJob, {})).status, 200);
  assert.equal((await attest(unsignedJob, { output_sig: 'carol-1:not-a-signature' })).status, 200);
  await enqueue([signedJob, unsignedJob]);
  const socket = await connectRebuilder(server().url, carol.token);
  assert.equal(await socket.emitWithAck('claim'), null);
  await leave(socket);
  const other = await connectRebuilder(server().url, (await server().createBuilder('dan')).token);
  // Carol's unverifiable attestation backs nothing, so that output is the more wanted.
  assert.equal(claimed(await other.emitWithAck('claim')).outPath, unsignedJob.outPath);
  assert.equal(claimed(await other.emitWithAck('claim')).outPath, signedJob.outPath);
  await leave(other);
});

