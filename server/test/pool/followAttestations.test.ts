import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JobRequest } from '@lilac/common';
import { drvHash, lilaItem, narHash } from '../support/attestationFixtures.ts';
import { fakeJob, testPoolConfig } from '../support/rebuilderClient.ts';
import { startTestServer } from '../support/testServer.ts';
import { waitUntil } from '../support/waitUntil.ts';
import { attestedBy, drain, enqueue, server, usePoolServer } from './poolKit.ts';

usePoolServer({ targetBuilders: 2 });

async function stored(job: JobRequest) {
  const record = await server().context.models.Job.findOne({ outPath: job.outPath }, { state: 1, attestedBy: 1, verifiedBuilders: 1 }).lean();
  assert.ok(record, `job of ${job.outPath} is stored`);
  return { state: record.state, attestedBy: [...record.attestedBy].sort(), verifiedBuilders: record.verifiedBuilders };
}

test('attestations of a queued job\'s output show on the job, and retire it once enough builders back it', async () => {
  await drain();
  const [alice, bob] = [await server().createBuilder('follow-alice'), await server().createBuilder('follow-bob')];
  const [job, untouched] = [fakeJob('followed'), fakeJob('not-attested')];
  assert.equal((await enqueue([job, untouched])).status, 200);

  await attestedBy(alice, job, narHash('followed'));
  await waitUntil('the job lists alice as attesting its output', async () => (await stored(job)).attestedBy.includes('follow-alice'));
  assert.deepEqual(await stored(job), { state: 'queued', attestedBy: ['follow-alice'], verifiedBuilders: 1 });

  await attestedBy(bob, job, narHash('followed'));
  await waitUntil('the job is retired', async () => (await stored(job)).state === 'done');
  assert.deepEqual(await stored(job), { state: 'done', attestedBy: ['follow-alice', 'follow-bob'], verifiedBuilders: 2 });
  assert.deepEqual(await stored(untouched), { state: 'queued', attestedBy: [], verifiedBuilders: 0 });
});

test('a server shutting down follows the attestations still gathering before it closes its store', async () => {
  const closing = await startTestServer({ pool: testPoolConfig({ targetBuilders: 2 }) });
  const alice = await closing.createBuilder('closing-alice');
  const job = fakeJob('followed-at-close');
  const enqueued = await closing.request('/api/v1/jobs', { method: 'POST', token: alice.token, json: [job] });
  assert.equal(enqueued.status, 200);
  const attested = await closing.request(`/attestation/${drvHash(job.drvPath)}`, { method: 'POST', token: alice.token, json: [lilaItem(alice, { outPath: job.outPath, narHash: narHash('at-close') })] });
  assert.equal(attested.status, 200);
  // At once: the attestation is still gathering, well within the quarter of a second before its read.
  await closing.closeKeepingDatabase();
  const reopened = await startTestServer({ dbName: closing.context.config.dbName });
  try {
    const record = await reopened.context.models.Job.findOne({ outPath: job.outPath }, { attestedBy: 1 }).lean();
    assert.deepEqual(record?.attestedBy, ['closing-alice']);
  } finally {
    await reopened.close();
  }
});
