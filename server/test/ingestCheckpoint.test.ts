import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FRESH_FOR_MS, IngestCheckpoint, IngestClosedError } from '../src/attestations/ingestCheckpoint.ts';
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
    const first = await checkpoint.hold();
    assert.equal(first, now);
    assert.deepEqual(await stored(server, checkpoint), { settledBefore: first, seenAt: now });
    now += 5_000;
    const second = await checkpoint.hold();
    now += 5_000;
    checkpoint.release(second);
    await checkpoint.close();
    assert.deepEqual(await stored(server, checkpoint), { settledBefore: first, seenAt: now }, 'a process stopping with a group unwritten leaves its checkpoint at that group');
    checkpoint.release(first);
    await checkpoint.close();
    assert.equal(await stored(server, checkpoint), null, 'a process that stops with everything counted leaves no checkpoint to count from');
    await assert.rejects(checkpoint.hold(), IngestClosedError, 'a group after the last write would be covered by no checkpoint');
  } finally {
    await server.close();
  }
});

test('a clock stepped back gives no group a time before the checkpoint written, and a stale checkpoint is written again first', async () => {
  const server = await startTestServer();
  try {
    let now = 1_800_000_000_000;
    let elapsed = 0;
    const checkpoint = new IngestCheckpoint(server.context.models, createLogger('silent'), () => now, () => elapsed);
    checkpoint.release(await checkpoint.hold());
    now -= 60_000;
    elapsed += FRESH_FOR_MS;
    assert.equal(await checkpoint.hold(), 1_800_000_000_000);
    assert.equal((await stored(server, checkpoint))?.seenAt, 1_800_000_000_000, 'still fresh: not written again');
    now += 60_000 + 1;
    elapsed += 1;
    const later = await checkpoint.hold();
    assert.deepEqual(await stored(server, checkpoint), { settledBefore: 1_800_000_000_000, seenAt: now }, 'written again before the group went on');
    checkpoint.release(later);
  } finally {
    await server.close();
  }
});

test('a failed group holds the checkpoint until a repair begun after the failure', async () => {
  const server = await startTestServer();
  try {
    let now = 1_800_000_000_000;
    const checkpoint = new IngestCheckpoint(server.context.models, createLogger('silent'), () => now);
    const failedAt = await checkpoint.hold();
    checkpoint.releaseUnsettled(failedAt);
    const repairing = checkpoint.unsettled();
    assert.deepEqual(repairing, { since: failedAt, failures: 1 });

    now += 1_000;
    checkpoint.releaseUnsettled(await checkpoint.hold());
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
