import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { batchItem, drvHash, drvPath, lilaItem, narHash, storePath } from './support/attestationFixtures.ts';
import { startTestServer, type TestBuilder, type TestServer } from './support/testServer.ts';

/**
 * lila's `GET /derivations/` and `GET /derivations/{drv_hash}` for derivations
 * that no output summary shows, asked of a server that saw them ingested (its
 * catalog kept current by events) and of one started afterwards on the same
 * store (its catalog built by a scan, as a recount builds it).
 */
let server: TestServer;
let alice: TestBuilder;
let bob: TestBuilder;
let carol: TestBuilder;
before(async () => {
  server = await startTestServer();
  [alice, bob, carol] = await Promise.all([server.createBuilder('alice'), server.createBuilder('bob'), server.createBuilder('carol')]);
  // Loaded before anything is ingested, so this server's catalog learns of what follows from events only.
  assert.equal((await server.request('/derivations/')).status, 200);
});
after(() => server.close());

async function submitted(builder: TestBuilder, drv: string, items: unknown): Promise<void> {
  const response = await server.request(`/attestation/${drvHash(drv)}`, { method: 'POST', token: builder.token, json: items });
  assert.equal(response.status, 200, await response.clone().text());
}

/** Whether each server lists `drv`, and what each answers for it. */
async function seenBy(servers: readonly TestServer[], drv: string): Promise<{ listed: boolean; status: number; body: unknown }[]> {
  return Promise.all(
    servers.map(async (reader) => {
      const list = (await (await reader.request('/derivations/')).json()) as { id: string; drv_hash: string }[];
      const response = await reader.request(`/derivations/${drvHash(drv)}`);
      return { listed: list.some((entry) => entry.id === drv && entry.drv_hash === drvHash(drv)), status: response.status, body: response.status === 200 ? await response.json() : null };
    }),
  );
}

async function withRescanned<T>(read: (servers: readonly TestServer[]) => Promise<T>): Promise<T> {
  const rescanned = await startTestServer({ dbName: server.context.config.dbName, dataDir: server.context.config.dataDir });
  try {
    return await read([server, rescanned]);
  } finally {
    await rescanned.closeKeepingDatabase();
  }
}

test('a derivation named only by an unsigned or a badly signed attestation is listed and counted, live and after a recount', async () => {
  const [badlySigned, unsigned] = [drvPath('badly-signed'), drvPath('unsigned')];
  const [badlySignedOut, unsignedOut] = [storePath('badly-signed'), storePath('unsigned')];
  // Signed with bob's key, so alice's signature does not verify.
  await submitted(alice, badlySigned, [lilaItem(bob, { outPath: badlySignedOut, narHash: narHash('badly-signed') })]);
  await submitted(alice, unsigned, [lilaItem(alice, { outPath: unsignedOut, narHash: narHash('unsigned') }, { output_sig: '' })]);
  await withRescanned(async (servers) => {
    for (const [drv, outPath] of [[badlySigned, badlySignedOut], [unsigned, unsignedOut]] as const) {
      const expected = { listed: true, status: 200, body: { [outPath]: { [narHash(outPath === unsignedOut ? 'unsigned' : 'badly-signed')]: 1 } } };
      assert.deepEqual(await seenBy(servers, drv), [expected, expected], drv);
    }
  });
});

test('a derivation an output was also claimed under, but is not shown under, is listed live and after a recount', async () => {
  // Fixed output: two builders name one derivation, a third another that fetches the same content.
  const fetched = storePath('source.tar.gz');
  const [chosen, other] = [drvPath('source.tar.gz'), drvPath('source.tar.gz')];
  for (const builder of [alice, bob]) await submitted(builder, chosen, [lilaItem(builder, { outPath: fetched, narHash: narHash('source') })]);
  await submitted(carol, other, [lilaItem(carol, { outPath: fetched, narHash: narHash('source') })]);
  // A summary keeps 64 claims: the 65th derivation named for one output is in none.
  const crowded = storePath('crowded');
  const named = Array.from({ length: 65 }, (_, index) => drvPath(`crowded-${index}`));
  const response = await server.request('/api/v1/attestations', {
    method: 'POST',
    token: alice.token,
    json: { attestations: named.map((drv, index) => batchItem(alice, drv, { outPath: crowded, narHash: narHash(`crowded-${index}`) }, { signature: '' })) },
  });
  assert.equal(response.status, 200, await response.clone().text());
  const summary = await server.context.models.OutputSummary.findOne({ outPath: crowded }).lean();
  assert.equal(summary?.derivationClaims.length, 64);

  await withRescanned(async (servers) => {
    // Listed by both. Their outputs (GET /derivations/{drv_hash}) are found only until the catalog's next recount: it maps an
    // output to the derivation its summary shows (docs/design.md), and when a live server recounts depends on the clock.
    for (const drv of [other, named[64] as string]) assert.deepEqual((await seenBy(servers, drv)).map(({ listed }) => listed), [true, true], drv);
    const shown = { listed: true, status: 200, body: { [fetched]: { [narHash('source')]: 2 } } };
    assert.deepEqual(await seenBy(servers, chosen), [shown, shown]);
  });
});
