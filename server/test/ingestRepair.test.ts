import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AttestationResult, AttestationView, OutputDetail } from '@lilac/common';
import { attestationId } from '../src/attestations/attestationModel.ts';
import { batchItem, drvPath, narHash, storePath } from './support/attestationFixtures.ts';
import { startServerWithAliceAndBob, startTestServer, type TestBuilder, type TestServer } from './support/testServer.ts';

/**
 * What a crash between storing an attestation and counting it leaves in the
 * store: the attestation, the request's open intent, and a summary without it.
 * Written straight to the store, since no request can be stopped at that line.
 */
async function leaveHalfWritten(server: TestServer, builder: TestBuilder, name: string): Promise<{ outPath: string; item: ReturnType<typeof batchItem> }> {
  const outPath = storePath(name);
  const item = batchItem(builder, drvPath(name), { outPath, narHash: narHash(name) });
  await server.context.models.IngestIntent.create({ builder: builder.name, attestationIds: [attestationId(outPath, builder.name, item.narHash)], openedAt: new Date() });
  await server.context.models.Attestation.create({ ...item, builder: builder.name, signatureStatus: 'valid', signatureKey: `${builder.name}-1` });
  return { outPath, item };
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
  const { outPath } = await leaveHalfWritten(first, alice, 'crashed-mid-request');
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

test('the repair sweep reports only what it counted, not the intents of requests that finished their counting', async () => {
  const server = await startTestServer();
  try {
    const alice = await server.createBuilder('alice');
    // A live request's intent: its statement is stored and counted, the intent not closed yet.
    const outPath = storePath('live-request');
    const item = batchItem(alice, drvPath('live-request'), { outPath, narHash: narHash('live-request') });
    assert.equal((await server.request('/api/v1/attestations', { method: 'POST', token: alice.token, json: { attestations: [item] } })).status, 200);
    await server.context.models.IngestIntent.create({ builder: alice.name, attestationIds: [attestationId(outPath, alice.name, item.narHash)], openedAt: new Date() });
    const longAgo = new Date(0);
    assert.deepEqual(await server.context.ingest.repairUnfinished(longAgo), { intents: 0, outputs: 0 });

    const { outPath: cutOff } = await leaveHalfWritten(server, alice, 'cut-off-request');
    assert.deepEqual(await server.context.ingest.repairUnfinished(longAgo), { intents: 1, outputs: 1 });
    assert.deepEqual((await byOutput(server, cutOff)).map((view) => view.builder), ['alice']);
    assert.deepEqual(await server.context.ingest.repairUnfinished(longAgo), { intents: 0, outputs: 0 }, 'settled once, not again');
  } finally {
    await server.close();
  }
});
