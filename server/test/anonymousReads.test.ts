import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { AttestationView, BuilderView, DerivationDetail, Stats } from '@lilac/common';
import { RECOUNT_AFTER_MS, RECOUNT_SPACING, StoreCatalog } from '../src/catalog/storeCatalog.ts';
import { EventBus } from '../src/events/eventBus.ts';
import { createLogger } from '../src/log.ts';
import { drvHash, drvPath, lilaItem, narHash, randomDigest, storePath } from './support/attestationFixtures.ts';
import { startServerWithAliceAndBob, type TestBuilder, type TestServer } from './support/testServer.ts';

/**
 * What anyone may read without a token is answered without reading a whole
 * collection: FerretDB 1.24 serves no index but `_id`, so anything else is a
 * scan, and anonymous readers slowed ingest eightfold.
 */
let server: TestServer;
let alice: TestBuilder;
let bob: TestBuilder;
before(async () => ({ server, alice, bob } = await startServerWithAliceAndBob()));
after(() => server.close());

interface StoreOperation {
  collection: string;
  method: string;
  filter: unknown;
}

/** Every operation the server sends to the store while `run` runs. */
async function storeOperations(run: () => Promise<void>): Promise<StoreOperation[]> {
  const seen: StoreOperation[] = [];
  const { connection } = server.context.store;
  connection.set('debug', (collection: string, method: string, filter: unknown) => seen.push({ collection, method, filter }));
  try {
    await run();
  } finally {
    connection.set('debug', false);
  }
  return seen;
}

/** Operations on the big collections that the primary index does not serve (an `_id` condition is pushed down on both stores). */
function scans(operations: StoreOperation[]): StoreOperation[] {
  return operations.filter(
    ({ collection, filter }) =>
      ['attestations', 'output_summaries', 'divergences'].includes(collection) && !(typeof filter === 'object' && filter !== null && '_id' in filter),
  );
}

async function submit(builder: TestBuilder, drv: string, outPaths: string[], seed = builder.name) {
  const items = outPaths.map((outPath) => lilaItem(builder, { outPath, narHash: narHash(`${seed}:${outPath}`) }));
  const response = await server.request(`/attestation/${drvHash(drv)}`, { method: 'POST', token: builder.token, json: items });
  assert.equal(response.status, 200, await response.clone().text());
}

async function json<T>(path: string): Promise<T> {
  const response = await server.request(path);
  assert.equal(response.status, 200, `${path}: ${await response.clone().text()}`);
  return (await response.json()) as T;
}

test('stats, builders, narinfo and derivation look-ups read no collection but by _id', async () => {
  const drv = drvPath('indexed');
  const outPath = storePath('indexed');
  await submit(alice, drv, [outPath]);
  await json<Stats>('/api/v1/stats');
  const digest = outPath.slice(11, 43);
  const operations = await storeOperations(async () => {
    await json<Stats>('/api/v1/stats');
    await json<BuilderView[]>('/api/v1/builders');
    await json<unknown>('/derivations/');
    await json<unknown>(`/derivations/${drvHash(drv)}`);
    await json<DerivationDetail>(`/api/v1/derivations/${drvHash(drv)}`);
    assert.equal((await server.request(`/signatures/alice/${digest}.narinfo`)).status, 200);
    assert.equal((await server.request(`/signatures/alice/${randomDigest()}.narinfo`)).status, 404);
    assert.equal((await server.request(`/derivations/${drvHash(drvPath('unknown'))}`)).status, 404);
    assert.equal((await server.request(`/derivations/${randomDigest()}`)).status, 404);
  });
  assert.deepEqual(scans(operations), []);
});

test("this process's ingest shows at once in stats, builders, narinfo and derivations", async () => {
  const before = await json<Stats>('/api/v1/stats');
  const bobBefore = (await json<BuilderView[]>('/api/v1/builders')).find((builder) => builder.name === 'bob')?.attestations ?? 0;
  const drv = drvPath('fresh');
  const [out, dev] = [storePath('fresh'), storePath('fresh-dev')];
  await submit(bob, drv, [out, dev]);
  await submit(alice, drv, [out]);
  await submit(alice, drv, [out], 'bob');
  const after = await json<Stats>('/api/v1/stats');
  assert.equal(after.attestations, before.attestations + 4);
  assert.equal(after.outputs, before.outputs + 2);
  assert.equal(after.counts['one-build'], before.counts['one-build'] + 1);
  assert.equal(after.counts['partially-reproduced'], before.counts['partially-reproduced'] + 1);
  assert.equal(after.counts['no-builds'], before.counts['no-builds']);
  assert.equal(after.attestations, await server.context.models.Attestation.countDocuments());
  const bobAfter = (await json<BuilderView[]>('/api/v1/builders')).find((builder) => builder.name === 'bob')?.attestations;
  assert.equal(bobAfter, bobBefore + 2);
  assert.equal((await server.request(`/signatures/bob/${dev.slice(11, 43)}.narinfo`)).status, 200);
  assert.deepEqual(Object.keys(await json<Record<string, unknown>>(`/derivations/${drvHash(drv)}`)).sort(), [dev, out].sort());
});

test('a derivation is found however it is pasted, and anything else is a 404 with the reason', async () => {
  const drv = drvPath('pasted');
  const outPath = storePath('pasted');
  await submit(alice, drv, [outPath]);
  const baseName = drv.slice(11);
  const digest = baseName.slice(0, 32);
  const expected = { [outPath]: { [narHash(`alice:${outPath}`)]: 1 } };
  for (const pasted of [baseName.slice(0, -4), baseName, encodeURIComponent(drv), drv, drv.slice(1), digest]) {
    assert.deepEqual(await json<unknown>(`/derivations/${pasted}`), expected, pasted);
    assert.equal((await json<DerivationDetail>(`/api/v1/derivations/${pasted}`)).drvPath, drv, pasted);
  }
  assert.equal((await json<AttestationView[]>(`/derivations/${digest}?full=true`)).length, 1);

  const cases: [string, RegExp][] = [
    ['not-a-derivation', /^not a store path base name/],
    [`${'e'.repeat(32)}-hello`, /^store path digest is not nix base32/],
    [encodeURIComponent(outPath), /^not a derivation path/],
    [`${digest.slice(0, 31)}`, /^not a store path base name/],
    [drvHash(drvPath('never')), /^no attestations for derivation \/nix\/store\/.*-never\.drv$/],
    [randomDigest(), /^no attestations for a derivation with digest /],
  ];
  for (const [pasted, detail] of cases) {
    for (const prefix of ['/derivations/', '/api/v1/derivations/']) {
      const response = await server.request(`${prefix}${pasted}`);
      assert.equal(response.status, 404, `${prefix}${pasted}`);
      assert.match(((await response.json()) as { detail: string }).detail, detail, `${prefix}${pasted}`);
    }
  }
});

test('a bare digest shared by two derivations names both instead of choosing', async () => {
  const digest = randomDigest();
  await submit(alice, `/nix/store/${digest}-one.drv`, [storePath('one')]);
  await submit(alice, `/nix/store/${digest}-two.drv`, [storePath('two')]);
  const response = await server.request(`/derivations/${digest}`);
  assert.equal(response.status, 404);
  assert.match(((await response.json()) as { detail: string }).detail, new RegExp(`names 2 derivations: .*-one\\.drv, .*-two\\.drv`));
  assert.equal((await server.request(`/derivations/${digest}-two`)).status, 200);
});

test('a signature stored with a line break never reaches the narinfo', async () => {
  const outPath = storePath('injected');
  await submit(alice, drvPath('injected'), [outPath]);
  // As stored before ingest refused control characters.
  await server.context.models.Attestation.updateOne({ outPath, builder: 'alice' }, { $set: { signature: 'alice-1:abc\nStorePath: /nix/store/evil' } });
  const response = await server.request(`/signatures/alice/${outPath.slice(11, 43)}.narinfo`);
  assert.equal(response.status, 200);
  const text = await response.text();
  assert.deepEqual(
    text.split('\n').filter((line) => line.startsWith('StorePath:') || line.startsWith('Sig:')),
    [`StorePath: ${outPath}`],
  );
});

test("a recount brings in what another server process wrote, readers never waiting for it", { timeout: 60_000 }, async () => {
  let now = 0;
  const catalog = new StoreCatalog(server.context.models, new EventBus(), createLogger('silent'), () => now);
  await catalog.derivationPaths();
  const before = await catalog.totals();
  // Written by "another process": this catalog's bus never hears of it.
  await submit(bob, drvPath('elsewhere'), [storePath('elsewhere')]);
  assert.deepEqual(await catalog.totals(), before, 'not before the catalog is due for a recount');
  now += RECOUNT_AFTER_MS + 1;
  assert.deepEqual(await catalog.totals(), before, 'the reader who finds it due is answered from the old counts');
  let totals = before;
  for (let attempt = 0; attempt < 200 && totals.attestations === before.attestations; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    totals = await catalog.totals();
  }
  assert.equal(totals.attestations, before.attestations + 1);
  assert.equal(totals.verdicts['one-build'], before.verdicts['one-build'] + 1);
});

test('a recount waits in proportion to how long the last scan took', { timeout: 60_000 }, async () => {
  let now = 0;
  /** Added to the clock at each reading: set while the first scan runs, it makes that scan take so long. */
  let tick = 0;
  const catalog = new StoreCatalog(server.context.models, new EventBus(), createLogger('silent'), () => (now += tick));
  const scan = 100_000;
  tick = scan;
  await catalog.derivationPaths();
  tick = 0;
  const scanEnded = now;
  const before = await catalog.totals();
  await submit(bob, drvPath('written-elsewhere'), [storePath('written-elsewhere')]);
  // A scan of 100 s: the minimum age alone would recount now; the spacing keeps it for nine scans' time.
  now = scanEnded + RECOUNT_AFTER_MS + 1;
  assert.deepEqual(await catalog.totals(), before);
  await new Promise((resolve) => setTimeout(resolve, 500));
  assert.deepEqual(await catalog.totals(), before, 'no recount started');
  now = scanEnded + RECOUNT_SPACING * scan + 1;
  let totals = await catalog.totals();
  for (let attempt = 0; attempt < 200 && totals.attestations === before.attestations; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    totals = await catalog.totals();
  }
  assert.equal(totals.attestations, before.attestations + 1, 'recounted once the spacing has passed');
});

test('a scan counts from the summaries what the live catalog counted attestation by attestation', async () => {
  const live = server.context.catalog;
  await live.totals();
  const shared = storePath('counted-twice');
  await submit(alice, drvPath('counted-twice'), [shared, storePath('counted-once')]);
  await submit(bob, drvPath('counted-twice'), [shared]);
  // Bob again with another hash: a second statement about the output, and a divergence.
  await submit(bob, drvPath('counted-twice'), [shared], 'bob-again');
  await submit(alice, drvPath('counted-twice'), [shared]);
  const unsigned = lilaItem(bob, { outPath: storePath('counted-unsigned'), narHash: narHash('counted-unsigned') }, { output_sig: '' });
  const response = await server.request(`/attestation/${drvHash(drvPath('counted-unsigned'))}`, { method: 'POST', token: bob.token, json: [unsigned] });
  assert.equal(response.status, 200);
  const scanned = new StoreCatalog(server.context.models, new EventBus(), createLogger('silent'));
  await scanned.derivationPaths();
  assert.deepEqual(await scanned.totals(), await live.totals());
  for (const builder of [alice, bob]) assert.equal(await scanned.attestationsBy(builder.name), await live.attestationsBy(builder.name), builder.name);
  assert.deepEqual(await scanned.derivationPaths(), await live.derivationPaths());
});

/** Has a catalog count and show its totals, as a running process does, and answers the totals it stored. */
async function storeTotalsNow() {
  const askedAt = Date.now();
  const counter = new StoreCatalog(server.context.models, new EventBus(), createLogger('silent'));
  await counter.derivationPaths();
  await counter.totals();
  // Other catalogs of this file store theirs too, unawaited: wait for this one's.
  for (let attempt = 0; attempt < 100; attempt++) {
    const stored = await server.context.models.StoredTotals.findById('totals').lean();
    if (stored && stored.countedAt.getTime() >= askedAt) return stored;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return null;
}

/** A catalog whose scan of the summaries goes through `scan`, given the store's own cursor: to hold it back, or fail it. */
function catalogScanningThrough(scan: (summaries: () => AsyncIterable<unknown>) => AsyncIterable<unknown>): StoreCatalog {
  const { OutputSummary } = server.context.models;
  const summaries = new Proxy(OutputSummary, {
    get(target, property, receiver) {
      if (property !== 'find') return Reflect.get(target, property, receiver) as unknown;
      return (...args: Parameters<typeof OutputSummary.find>) => ({ lean: () => ({ cursor: () => scan(() => target.find(...args).lean().cursor()) }) });
    },
  });
  return new StoreCatalog({ ...server.context.models, OutputSummary: summaries }, new EventBus(), createLogger('silent'));
}

test('after a start, totals are the stored ones, with their time, until the store is counted', async () => {
  const stored = await storeTotalsNow();
  assert.ok(stored, 'a reader of the totals stores them for the next start');
  const storedAt = new Date(stored.countedAt);
  // What a restarted process shows first: those totals and their time, though the store has more by then.
  await submit(alice, drvPath('after-storing'), [storePath('after-storing')]);
  // The restarted catalog's scan waits until its first answer is in: in a large store the scan takes minutes.
  let openScan: () => void = () => undefined;
  const scanOpened = new Promise<void>((resolve) => (openScan = resolve));
  const restarted = catalogScanningThrough(async function* (summaries) {
    await scanOpened;
    yield* summaries();
  });
  const first = await restarted.totals();
  assert.deepEqual(first, { verdicts: { ...stored.verdicts }, attestations: stored.attestations, countedAt: storedAt });
  openScan();
  await restarted.derivationPaths();
  const counted = await restarted.totals();
  assert.equal(counted.countedAt, null);
  assert.deepEqual(counted, await server.context.catalog.totals());
  assert.equal(counted.attestations, first.attestations + 1);
});

test('a first count that fails leaves the stored totals shown and is not started again by each reader', async () => {
  await storeTotalsNow();
  let scans = 0;
  // eslint-disable-next-line require-yield -- a cursor that fails before its first document
  const restarted = catalogScanningThrough(async function* () {
    scans += 1;
    throw new Error('store went away mid-scan');
  });
  for (let reader = 0; reader < 5; reader++) {
    const shown = await restarted.totals();
    assert.ok(shown.countedAt instanceof Date, 'the stored totals, with their time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.equal(scans, 1, 'one failed scan, not one per reader');
});
