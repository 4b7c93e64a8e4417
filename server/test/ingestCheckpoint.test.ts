import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IngestCheckpoint } from '../src/attestations/ingestCheckpoint.ts';
import { createLogger } from '../src/log.ts';
import { startTestServer, type TestServer } from './support/testServer.ts';

async function stored(server: TestServer, checkpoint: IngestCheckpoint): Promise<{ settledBefore: number; seenAt: number } | null> {
  const record = await server.context.models.IngestCheckpoint.findOne({ _id: checkpoint.id }).lean();
  return record && { settledBefore: record.settledBefore.getTime(), seenAt: record.seenAt.getTime() };
}

test('the store has the checkpoint before a group writes, held at the oldest group until it is counted', async () => {
  const server = await startTestServer();
  try {
    let now = 1_800_000_000_000;
    const checkpoint = new IngestCheckpoint(server.context.models, createLogger('silent'), () => now);
    assert.equal(await stored(server, checkpoint), null);
    await checkpoint.hold(now);
    assert.deepEqual(await stored(server, checkpoint), { settledBefore: now, seenAt: now });
    const first = now;
    now += 5_000;
    await checkpoint.hold(now);
    now += 5_000;
    await checkpoint.close();
    assert.deepEqual(await stored(server, checkpoint), { settledBefore: first, seenAt: now }, 'a process stopping with groups unwritten leaves its checkpoint at the oldest');

    checkpoint.release(first);
    await checkpoint.close();
    assert.deepEqual(await stored(server, checkpoint), { settledBefore: first + 5_000, seenAt: now });
    checkpoint.release(first + 5_000);
    await checkpoint.close();
    assert.equal(await stored(server, checkpoint), null, 'a process that stops with everything counted leaves no checkpoint to count from');
  } finally {
    await server.close();
  }
});

test('a failed group holds the checkpoint until a repair begun after the failure', async () => {
  const server = await startTestServer();
  try {
    let now = 1_800_000_000_000;
    const checkpoint = new IngestCheckpoint(server.context.models, createLogger('silent'), () => now);
    const failedAt = now;
    await checkpoint.hold(failedAt);
    checkpoint.releaseUnsettled(failedAt);
    const repairing = checkpoint.unsettled();
    assert.deepEqual(repairing, { since: failedAt, failures: 1 });

    now += 1_000;
    await checkpoint.hold(now);
    checkpoint.releaseUnsettled(now);
    checkpoint.repaired(repairing!);
    assert.equal(checkpoint.unsettled()?.since, failedAt, 'a failure during the repair may have stored after the repair read past it');
    await checkpoint.close();
    assert.equal((await stored(server, checkpoint))?.settledBefore, failedAt);

    checkpoint.repaired(checkpoint.unsettled()!);
    assert.equal(checkpoint.unsettled(), null);
    await checkpoint.close();
    assert.equal(await stored(server, checkpoint), null);
  } finally {
    await server.close();
  }
});
