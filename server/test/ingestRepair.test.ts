import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AttestationResult, AttestationView, OutputDetail } from '@lilac/common';
import { DEAD_AFTER_MS, IngestRepair } from '../src/attestations/ingestRepair.ts';
import { createLogger } from '../src/log.ts';
import { batchItem, drvPath, narHash, storePath } from './support/attestationFixtures.ts';
import { startServerWithAliceAndBob, startTestServer, type TestBuilder, type TestServer } from './support/testServer.ts';

/**
 * What a crash between storing an attestation and counting it leaves in the
 * store: the attestation, and a summary without it (and the checkpoint of the
 * process that died, which each test writes as it needs it). Written straight
 * to the store, since no request can be stopped at that line.
 */
async function leaveHalfWritten(server: TestServer, builder: TestBuilder, name: string): Promise<{ outPath: string; item: ReturnType<typeof batchItem> }> {
  const outPath = storePath(name);
  const item = batchItem(builder, drvPath(name), { outPath, narHash: narHash(name) });
  await server.context.models.Attestation.create({ ...item, builder: builder.name, signatureStatus: 'valid', signatureKey: `${builder.name}-1` });
  return { outPath, item };
}

/** The checkpoint a process left: it vouched for what it stored before `settledBefore`, and was last alive at `seenAt`. */
async function leaveCheckpoint(server: TestServer, id: string, settledBefore: number, seenAt: number): Promise<void> {
  await server.context.models.IngestCheckpoint.create({ _id: id, settledBefore: new Date(settledBefore), seenAt: new Date(seenAt) });
}

/** A repair sweep past its start-up run (which takes every checkpoint), on a clock the test moves, and a builder. */
async function repairPastStartUp(server: TestServer): Promise<{ alice: TestBuilder; now: number; clock: { now: number }; repair: IngestRepair }> {
  const alice = await server.createBuilder('alice');
  const now = Date.now();
  const clock = { now };
  const repair = new IngestRepair(server.context.ingest, server.context.models, createLogger('silent'), () => clock.now);
  await repair.repairOnce();
  return { alice, now, clock, repair };
}

async function byOutput(server: TestServer, outPath: string): Promise<AttestationView[]> {
  return (await (await server.request(`/attestations/by-output/${outPath.slice(11)}`)).json()) as AttestationView[];
}

test('resubmitting a statement a crash left stored but uncounted counts it', async () => {
  const { server, alice, bob } = await startServerWithAliceAndBob();
  try {
    const { outPath, item } = await leaveHalfWritten(server, alice, 'half-written');
    assert.deepEqual(await byOutput(server, outPath), []);
    await server.request('/api/v1/attestations', { method: 'POST', token: bob.token, json: { attestations: [batchItem(bob, item.drvPath, { outPath, narHash: item.narHash })] } });

    const again = await server.request('/api/v1/attestations', { method: 'POST', token: alice.token, json: { attestations: [item] } });
    const { results } = (await again.json()) as { results: AttestationResult[] };
    assert.deepEqual(results, [{ outPath, verdict: 'reproduced', signature: { status: 'valid', reason: null } }]);
    assert.deepEqual((await byOutput(server, outPath)).map((view) => view.builder).sort(), ['alice', 'bob']);
  } finally {
    await server.close();
  }
});

test('a divergence a crash left unrecorded is recorded when a statement behind it comes again', async () => {
  const { server, alice, bob } = await startServerWithAliceAndBob();
  try {
    const outPath = storePath('diverged-then-crashed');
    const drv = drvPath('diverged-then-crashed');
    const items = [batchItem(alice, drv, { outPath, narHash: narHash('a') }), batchItem(bob, drv, { outPath, narHash: narHash('b') })];
    await server.request('/api/v1/attestations', { method: 'POST', token: alice.token, json: { attestations: [items[0]] } });
    await server.request('/api/v1/attestations', { method: 'POST', token: bob.token, json: { attestations: [items[1]] } });
    await server.context.models.Divergence.deleteOne({ outPath });
    await server.request('/api/v1/attestations', { method: 'POST', token: bob.token, json: { attestations: [items[1]] } });
    const divergences = (await (await server.request('/api/v1/divergences')).json()) as { outPath: string }[];
    assert.ok(divergences.some((divergence) => divergence.outPath === outPath), JSON.stringify(divergences));
  } finally {
    await server.close();
  }
});

test('start-up counts what requests cut off by a crash stored', async () => {
  const first = await startTestServer();
  const alice = await first.createBuilder('alice');
  const crashedAt = Date.now();
  const { outPath } = await leaveHalfWritten(first, alice, 'crashed-mid-request');
  // The process that died wrote its checkpoint a moment before: not yet old enough to look dead.
  await leaveCheckpoint(first, 'crashed', crashedAt - 500, crashedAt);
  await first.closeKeepingDatabase();

  const second = await startTestServer({ dbName: first.context.config.dbName, dataDir: first.context.config.dataDir });
  try {
    const deadline = Date.now() + 30_000;
    let detail: OutputDetail | null = null;
    while (Date.now() < deadline) {
      const response = await second.request(`/api/v1/outputs/${outPath.slice(11)}`);
      if (response.status === 200) {
        detail = (await response.json()) as OutputDetail;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(detail?.verdict, 'one-build');
    assert.deepEqual(detail?.hashes.map((group) => group.verifiedBuilders), [['alice']]);
  } finally {
    await second.close();
  }
});

test('after start-up the sweep counts from the checkpoints it has seen unchanged for 30 s, once, and leaves live ones be', async () => {
  const server = await startTestServer();
  try {
    const { alice, now, clock, repair } = await repairPastStartUp(server);
    const { outPath } = await leaveHalfWritten(server, alice, 'cut-off-request');
    await leaveCheckpoint(server, 'live', now - 1_000, now);
    // Its writer's clock is far ahead of this one's: only how long it stays unchanged here counts.
    await leaveCheckpoint(server, 'dead', now - 2_000, now + 3_600_000);
    assert.equal(await repair.repairOnce(), 0, 'neither has been seen unchanged for long');
    assert.deepEqual(await byOutput(server, outPath), []);

    clock.now += DEAD_AFTER_MS;
    await server.context.models.IngestCheckpoint.updateOne({ _id: 'live' }, { $set: { seenAt: new Date(now + DEAD_AFTER_MS) } });
    assert.equal(await repair.repairOnce(), 1);
    assert.deepEqual((await byOutput(server, outPath)).map((view) => view.builder), ['alice']);
    const left = await server.context.models.IngestCheckpoint.find({ _id: { $in: ['live', 'dead'] } }).lean();
    assert.deepEqual(left.map((checkpoint) => checkpoint._id), ['live']);
    assert.equal(await repair.repairOnce(), 0, 'counted once, not again');
  } finally {
    await server.close();
  }
});

test('the sweep counts only what changed since a dead process\'s checkpoint, which vouched for what it stored before', async () => {
  const server = await startTestServer();
  try {
    const { alice, now, clock, repair } = await repairPastStartUp(server);
    const { outPath } = await leaveHalfWritten(server, alice, 'stored-long-before');
    await leaveCheckpoint(server, 'dead', now + 60_000, now);
    await repair.repairOnce();
    clock.now += DEAD_AFTER_MS;
    assert.equal(await repair.repairOnce(), 0);
    assert.equal(await server.context.models.IngestCheckpoint.countDocuments({ _id: 'dead' }), 0);
    assert.deepEqual(await byOutput(server, outPath), []);
  } finally {
    await server.close();
  }
});
