import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { ClaimAck, PoolView } from '@lilac/common';
import { runAdmin, startServerProcess, waitForHealthy } from '../support/processes.ts';
import { connectRebuilder, fakeJob } from '../support/rebuilderClient.ts';

test('on SIGTERM the server returns its rebuilders\' claims to the pool before it closes the store', async () => {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DATA_DIR: mkdtempSync(path.join(tmpdir(), 'lilac-pool-shutdown-')),
    LILAC_DB_NAME: `lilac_pool_shutdown_${randomBytes(4).toString('hex')}`,
    LOG_LEVEL: 'info',
    // Far longer than the test: only the shutdown itself can give the claim back.
    LILAC_POOL_LEASE_MS: String(3600_000),
  };
  const created = await runAdmin(['create-builder', 'worker'], env);
  assert.equal(created.code, 0, created.stderr);
  const token = /token: (\S+)/.exec(created.stdout)?.[1] ?? '';

  const first = await startServerProcess(env);
  await waitForHealthy(first.url);
  const job = fakeJob('held-over-a-restart');
  const enqueued = await fetch(`${first.url}/api/v1/jobs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify([job]),
  });
  assert.equal(enqueued.status, 200);
  const worker = await connectRebuilder(first.url, token);
  const claimed = (await worker.emitWithAck('claim')) as ClaimAck;
  assert.equal((claimed as { outPath?: string } | null)?.outPath, job.outPath);
  assert.equal(await first.stop(), 0, first.output());
  worker.disconnect();
  assert.doesNotMatch(first.output(), /returning jobs of a gone worker failed|MongoClientClosedError/);

  const second = await startServerProcess(env);
  try {
    await waitForHealthy(second.url);
    const view = (await (await fetch(`${second.url}/api/v1/pool`)).json()) as PoolView;
    assert.deepEqual(
      view.jobs.map((entry) => [entry.outPath, entry.state, entry.builder]),
      [[job.outPath, 'queued', null]],
    );
    const again = await connectRebuilder(second.url, token);
    assert.equal(((await again.emitWithAck('claim')) as { outPath?: string } | null)?.outPath, job.outPath);
    again.disconnect();
  } finally {
    assert.equal(await second.stop(), 0, second.output());
  }
});
