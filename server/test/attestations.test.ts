import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { formatKey, generateKeyPair, narHashToSri, signFingerprint, narinfoFingerprint, type AttestationResult, type AttestationView, type DerivationDetail, type DivergenceView, type MonitorEvents, type OutputDetail, type Stats } from '@lilac/common';
import { MISSING_FIELDS_REASON } from '../src/attestations/signatureCheck.ts';
import { batchItem, drvHash, drvPath, lilaItem, narHash, storePath } from './support/attestationFixtures.ts';
import { startTestServer, type TestBuilder, type TestServer } from './support/testServer.ts';

let server: TestServer;
let alice: TestBuilder;
let bob: TestBuilder;
let carol: TestBuilder;
before(async () => {
  server = await startTestServer();
  [alice, bob, carol] = await Promise.all([server.createBuilder('alice'), server.createBuilder('bob'), server.createBuilder('carol')]);
});
after(() => server.close());

function submit(builder: TestBuilder, drv: string, items: unknown) {
  return server.request(`/attestation/${drvHash(drv)}`, { method: 'POST', token: builder.token, json: items });
}

async function submitted(builder: TestBuilder, drv: string, items: unknown): Promise<AttestationResult[]> {
  const response = await submit(builder, drv, items);
  assert.equal(response.status, 200, await response.clone().text());
  return (await response.json()) as AttestationResult[];
}

function collect<K extends keyof MonitorEvents>(name: K): MonitorEvents[K][] {
  const seen: MonitorEvents[K][] = [];
  server.context.events.subscribe(name, (payload) => seen.push(payload));
  return seen;
}

test("a builder submits with lila's body and its signature is verified", async () => {
  const drv = drvPath('hello-2.12');
  const outPath = storePath('hello-2.12');
  const [result] = await submitted(alice, drv, [lilaItem(alice, { outPath, narHash: narHash('hello') })]);
  assert.deepEqual(result, { outPath, verdict: 'one-build', signature: { status: 'valid', reason: null } });
  const [stored] = (await (await server.request(`/attestations/by-output/${outPath.slice(11)}`)).json()) as AttestationView[];
  assert.equal(stored?.output_path, outPath);
  assert.equal(stored?.output_hash, narHash('hello'));
  assert.equal(stored?.drv_path, drv);
  assert.equal(stored?.builder, 'alice');
  assert.deepEqual(stored?.signature, { status: 'valid', reason: null, key: 'alice-1' });
  const builder = await server.context.builders.get('alice');
  assert.ok(builder.lastSeenAt, 'submitting records when the builder was last seen');
});

test('an SRI NAR hash is accepted and stored in narinfo form', async () => {
  const outPath = storePath('sri');
  const hash = narHash('sri');
  const item = lilaItem(alice, { outPath, narHash: hash }, { output_hash: narHashToSri(hash) });
  const [result] = await submitted(alice, drvPath('sri'), [item]);
  assert.equal(result?.signature.status, 'valid');
  const summary = await server.context.models.OutputSummary.findOne({ outPath }).lean();
  assert.equal(summary?.hashes[0]?.narHash, hash);
});

test('a signature from a key the builder did not register is stored invalid and not counted', async () => {
  const outPath = storePath('wrong-key');
  const stranger = { ...alice, secretKey: generateKeyPair('alice-1').secretKey };
  const [result] = await submitted(alice, drvPath('wrong-key'), [lilaItem(stranger, { outPath, narHash: narHash('w') })]);
  assert.equal(result?.signature.status, 'invalid');
  assert.match(result?.signature.reason ?? '', /does not match key "alice-1"/);
  assert.equal(result?.verdict, 'no-builds');
  const other = generateKeyPair('someone-else');
  const [unknown] = await submitted(bob, drvPath('wrong-key'), [lilaItem({ ...bob, secretKey: other.secretKey }, { outPath, narHash: narHash('w') })]);
  assert.match(unknown?.signature.reason ?? '', /unknown key "someone-else"/);
});

test('a tampered hash fails verification', async () => {
  const outPath = storePath('tampered');
  const item = lilaItem(alice, { outPath, narHash: narHash('real') }, { output_hash: narHash('forged') });
  const [result] = await submitted(alice, drvPath('tampered'), [item]);
  assert.equal(result?.signature.status, 'invalid');
  assert.equal(result?.verdict, 'no-builds');
});

test("lila's hook without NAR size and references is stored, marked unverifiable, and shown", async () => {
  const outPath = storePath('lila-hook');
  const { nar_size: _size, references: _references, ...lila } = lilaItem(alice, { outPath, narHash: narHash('l') });
  const [result] = await submitted(alice, drvPath('lila-hook'), [lila]);
  assert.deepEqual(result?.signature, { status: 'invalid', reason: MISSING_FIELDS_REASON });
  const detail = (await (await server.request(`/api/v1/outputs/${outPath.slice(11)}`)).json()) as OutputDetail;
  assert.equal(detail.verdict, 'no-builds');
  assert.deepEqual(detail.hashes, [{ narHash: narHash('l'), verifiedBuilders: [], unverifiedBuilders: ['alice'] }]);
  assert.equal(detail.attestations.length, 1);
});

test('an identical resubmission is idempotent; a now-valid signature upgrades the stored one', async () => {
  const drv = drvPath('again');
  const outPath = storePath('again');
  const item = lilaItem(alice, { outPath, narHash: narHash('again') });
  const { nar_size: _size, references: _references, ...unverifiable } = item;
  const attestations = collect('attestation');
  await submitted(alice, drv, [unverifiable]);
  await submitted(alice, drv, [unverifiable]);
  assert.equal(attestations.length, 1, 'a resubmission is not news');
  const [upgraded] = await submitted(alice, drv, [item]);
  assert.deepEqual(upgraded, { outPath, verdict: 'one-build', signature: { status: 'valid', reason: null } });
  await submitted(alice, drv, [item]);
  assert.equal(await server.context.models.Attestation.countDocuments({ outPath }), 1);
  const summary = await server.context.models.OutputSummary.findOne({ outPath }).lean();
  assert.deepEqual(summary?.hashes.map((group) => [group.verifiedBuilders, group.unverifiedBuilders]), [[['alice'], []]]);
  assert.equal(summary?.revision, 2);
});

test('verdicts follow the table as builders agree and disagree, with verdict and divergence events', async () => {
  const drv = drvPath('pkg');
  const outPath = storePath('pkg');
  const verdicts = collect('verdict');
  const divergences = collect('divergence');
  assert.equal((await submitted(alice, drv, [lilaItem(alice, { outPath, narHash: narHash('a') })]))[0]?.verdict, 'one-build');
  assert.equal((await submitted(bob, drv, [lilaItem(bob, { outPath, narHash: narHash('a') })]))[0]?.verdict, 'reproduced');
  assert.equal(divergences.length, 0);
  assert.equal((await submitted(carol, drv, [lilaItem(carol, { outPath, narHash: narHash('c') })]))[0]?.verdict, 'partially-reproduced');
  const mine = verdicts.filter((change) => change.outPath === outPath);
  assert.deepEqual(mine.map((change) => [change.previous, change.verdict]), [
    ['no-builds', 'one-build'],
    ['one-build', 'reproduced'],
    ['reproduced', 'partially-reproduced'],
  ]);
  assert.equal(divergences.length, 1);
  assert.equal(divergences[0]?.outPath, outPath);
  assert.deepEqual(divergences[0]?.hashes.map((group) => group.verifiedBuilders), [['alice', 'bob'], ['carol']]);
  const listed = (await (await server.request('/api/v1/divergences?limit=5')).json()) as DivergenceView[];
  assert.equal(listed[0]?.outPath, outPath);
});

test('two builders with two hashes are nondeterministic; a third hash is a new divergence event', async () => {
  const drv = drvPath('nd');
  const outPath = storePath('nd');
  const divergences = collect('divergence');
  await submitted(alice, drv, [lilaItem(alice, { outPath, narHash: narHash('nd1') })]);
  assert.equal((await submitted(bob, drv, [lilaItem(bob, { outPath, narHash: narHash('nd2') })]))[0]?.verdict, 'nondeterministic');
  assert.equal((await submitted(carol, drv, [lilaItem(carol, { outPath, narHash: narHash('nd3') })]))[0]?.verdict, 'nondeterministic');
  assert.equal(divergences.length, 2);
  assert.ok(divergences[1] && divergences[1].lastChanged >= divergences[1].firstSeen);
});

test("a builder's own differing --check rebuild makes the output nondeterministic", async () => {
  const drv = drvPath('check');
  const outPath = storePath('check');
  await submitted(alice, drv, [lilaItem(alice, { outPath, narHash: narHash('x1') })]);
  const [result] = await submitted(alice, drv, [lilaItem(alice, { outPath, narHash: narHash('x2') }, { source: 'diff-hook' } as never)]);
  assert.equal(result?.verdict, 'nondeterministic');
});

test('16 concurrent submitters on one output lose no update', async () => {
  const drv = drvPath('contended');
  const outPath = storePath('contended');
  const builders = await Promise.all(Array.from({ length: 16 }, (_, index) => server.createBuilder(`racer-${index}`)));
  const results = await Promise.all(
    builders.map((builder, index) => submitted(builder, drv, [lilaItem(builder, { outPath, narHash: narHash(index < 12 ? 'majority' : `odd-${index}`) })])),
  );
  assert.ok(results.every(([result]) => result?.signature.status === 'valid'));
  const summary = await server.context.models.OutputSummary.findOne({ outPath }).lean();
  assert.equal(summary?.verdict, 'partially-reproduced');
  assert.equal(summary?.verifiedBuilderCount, 16);
  assert.equal(summary?.hashes.find((group) => group.narHash === narHash('majority'))?.verifiedBuilders.length, 12);
  assert.equal(summary?.hashes.length, 5);
  // Concurrent statements may be folded in together, in fewer writes than statements; none may be missing.
  assert.deepEqual(summary?.attestedBy, builders.map((builder) => builder.name).sort());
});

test('bad submissions get a precise 400 and nothing is written', async () => {
  const drv = drvPath('bad');
  const outPath = storePath('bad');
  const good = lilaItem(alice, { outPath, narHash: narHash('bad') });
  const cases: [unknown, RegExp][] = [
    [{ not: 'an array' }, /JSON array/],
    [[good, { ...good, output_digest: 'eeee' }], /attestation 1: .*digest/],
    [[{ ...good, output_name: '.hidden' }], /attestation 0: invalid store path name/],
    [[{ ...good, output_hash: 'md5:abc' }], /attestation 0: NAR hash must be/],
    [[{ ...good, nar_size: -1 }], /nar_size must be a non-negative integer/],
    [[{ ...good, references: ['/tmp/x'] }], /must start with \/nix\/store\//],
    [[{ ...good, source: 'guess' }], /source must be one of/],
    [[{ ...good, output_sig: `${good.output_sig}\nSig: forged-1:AAAA` }], /output_sig must not contain control characters or line breaks/],
    [[{ ...good, output_sig: 42 }], /output_sig must be a string/],
    [[{ ...good, references: Array.from({ length: 10_001 }, (_, index) => storePath(`ref-${index}`)) }], /references lists 10001 paths, at most 10000/],
    [[{ ...good, built_at: 'yesterday' }], /built_at must be an ISO 8601 date-time/],
    [[{ ...good, built_at: '2999-01-01T00:00:00Z' }], /built_at is more than a day in the future/],
  ];
  for (const [body, detail] of cases) {
    const response = await submit(alice, drv, body);
    assert.equal(response.status, 400, JSON.stringify(body));
    assert.match(((await response.json()) as { detail: string }).detail, detail);
  }
  const emptyBatch = await server.request('/api/v1/attestations', { method: 'POST', token: alice.token, json: { attestations: [] } });
  assert.deepEqual([emptyBatch.status, await emptyBatch.json()], [400, { detail: 'attestations holds no attestation' }]);
  const badDrv = await server.request('/attestation/not-a-drv-hash', { method: 'POST', token: alice.token, json: [good] });
  assert.equal(badDrv.status, 400);
  const notJson = await server.request(`/attestation/${drvHash(drv)}`, { method: 'POST', token: alice.token, headers: { 'content-type': 'application/json' }, body: '[{' });
  assert.deepEqual([notJson.status, await notJson.json()], [400, { detail: 'request body is not valid JSON' }]);
  assert.equal(await server.context.models.Attestation.countDocuments({ outPath }), 0);
});

test("an empty list on lila's route is answered 200, as lila answers it, with no results", async () => {
  const response = await submit(alice, drvPath('empty'), []);
  assert.deepEqual([response.status, await response.json()], [200, []]);
});

test("lila's diff hook's empty signature is stored as unsigned, shown, and never counted", async () => {
  const drv = drvPath('diff-hook-unsigned');
  const outPath = storePath('diff-hook-unsigned');
  await submitted(alice, drv, [lilaItem(alice, { outPath, narHash: narHash('first') })]);
  await submitted(bob, drv, [lilaItem(bob, { outPath, narHash: narHash('first') })]);
  // What lila's diff hook sends: the rebuilt copy's hash, no signature, no size or references.
  const [unsigned] = await submitted(carol, drv, [{ output_digest: outPath.slice(11, 43), output_name: 'diff-hook-unsigned', output_hash: narHash('second'), output_sig: '' }]);
  // A second hash, verified or not, is worth a file listing: the diff hook holds both copies.
  assert.deepEqual(unsigned, { outPath, verdict: 'reproduced', signature: { status: 'unsigned', reason: 'no signature submitted' }, listingWanted: true });
  const [absent] = await submitted(carol, drv, [{ output_digest: outPath.slice(11, 43), output_name: 'diff-hook-unsigned', output_hash: narHash('third') }]);
  assert.equal(absent?.signature.status, 'unsigned');
  const stored = (await (await server.request(`/attestations/by-output/${outPath.slice(11)}`)).json()) as AttestationView[];
  assert.deepEqual(
    stored.filter((item) => item.builder === 'carol').map((item) => [item.output_sig, item.signature.status]),
    [['', 'unsigned'], ['', 'unsigned']],
  );
  const detail = (await (await server.request(`/api/v1/outputs/${outPath.slice(11)}`)).json()) as OutputDetail;
  assert.equal(detail.verdict, 'reproduced');
  assert.deepEqual(detail.hashes.find((group) => group.narHash === narHash('second'))?.unverifiedBuilders, ['carol']);
});

test('the time a build finished is kept apart from the time it arrived', async () => {
  const drv = drvPath('built-earlier');
  const outPath = storePath('built-earlier');
  const builtAt = '2026-01-31T12:00:00.000Z';
  await submitted(alice, drv, [{ ...lilaItem(alice, { outPath, narHash: narHash('built-earlier') }), built_at: builtAt }]);
  const [stored] = (await (await server.request(`/attestations/by-output/${outPath.slice(11)}`)).json()) as AttestationView[];
  assert.equal(stored?.built_at, builtAt);
  assert.notEqual(stored?.created_at, builtAt);
});

test("an output's derivation is the one most verified builders name, not the first submitter's", async () => {
  const outPath = storePath('claimed');
  const honest = drvPath('claimed');
  const squatted = drvPath('squatted');
  const post = (builder: TestBuilder, drv: string, overrides: Record<string, unknown> = {}) =>
    server.request('/api/v1/attestations', { method: 'POST', token: builder.token, json: { attestations: [{ ...batchItem(builder, drv, { outPath, narHash: narHash('claimed') }), ...overrides }] } });
  const outputDetail = async () => (await (await server.request(`/api/v1/outputs/${outPath.slice(11)}`)).json()) as OutputDetail;

  await post(carol, squatted, { signature: '' });
  assert.equal((await outputDetail()).drvPath, squatted);
  await post(alice, honest);
  assert.equal((await outputDetail()).drvPath, honest, 'a verified claim outweighs an unsigned one that came first');
  await post(carol, squatted);
  assert.equal((await outputDetail()).drvPath, honest, 'on a tie the earlier verified claim stands');
  await post(bob, squatted);
  assert.equal((await outputDetail()).drvPath, squatted, 'two verified builders outweigh one');
});

test('submitting without a valid token is 401', async () => {
  const drv = drvPath('anon');
  const item = lilaItem(alice, { outPath: storePath('anon'), narHash: narHash('anon') });
  const missing = await server.request(`/attestation/${drvHash(drv)}`, { method: 'POST', json: [item] });
  assert.equal(missing.status, 401);
  const wrong = await server.request('/api/v1/attestations', { method: 'POST', token: 'x'.repeat(20), json: { attestations: [] } });
  assert.equal(wrong.status, 401);
});

test('oversized bodies are refused with 413', async () => {
  const small = await startTestServer({ bodyLimitBytes: 2048 });
  try {
    const builder = await small.createBuilder('big');
    const drv = drvPath('big');
    const items = Array.from({ length: 30 }, (_, index) => lilaItem(builder, { outPath: storePath(`big-${index}`), narHash: narHash(`big-${index}`) }));
    const response = await small.request(`/attestation/${drvHash(drv)}`, { method: 'POST', token: builder.token, json: items });
    assert.equal(response.status, 413);
    assert.match(((await response.json()) as { detail: string }).detail, /exceeds the limit of 2048 bytes/);
  } finally {
    await small.close();
  }
});

test('narinfo served per builder carries NarSize, References, Deriver and Sig', async () => {
  const drv = drvPath('served');
  const dependency = storePath('glibc');
  const outPath = storePath('served');
  const item = lilaItem(alice, { outPath, narHash: narHash('served'), narSize: 4242, references: [dependency, outPath] });
  await submitted(alice, drv, [item]);
  const digest = outPath.slice(11, 43);
  const response = await server.request(`/signatures/alice/${digest}.narinfo`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/x-nix-narinfo/);
  const text = await response.text();
  const refs = [dependency, outPath].map((path) => path.slice(11)).sort();
  assert.equal(
    text,
    [
      `StorePath: ${outPath}`,
      `URL: nar/${digest}.nar`,
      'Compression: none',
      `NarHash: ${narHash('served')}`,
      'NarSize: 4242',
      `References: ${refs.join(' ')}`,
      `Deriver: ${drv.slice(11)}`,
      `Sig: ${item.output_sig}`,
      '',
    ].join('\n'),
  );
  assert.equal((await server.request(`/signatures/bob/${digest}.narinfo`)).status, 404);
  assert.equal((await server.request('/signatures/alice/short.narinfo')).status, 400);
});

test("a narinfo is served at once by every server process, whatever its catalog holds", async () => {
  const other = await startTestServer({ dbName: server.context.config.dbName, dataDir: server.context.config.dataDir });
  try {
    // The other process's catalog is loaded before the output exists; until a recount it knows nothing of it.
    assert.equal((await other.request('/api/v1/stats')).status, 200);
    const outPath = storePath('served-elsewhere');
    await submitted(alice, drvPath('served-elsewhere'), [lilaItem(alice, { outPath, narHash: narHash('served-elsewhere') })]);
    const response = await other.request(`/signatures/alice/${outPath.slice(11, 43)}.narinfo`);
    assert.equal(response.status, 200, await response.clone().text());
    assert.match(await response.text(), new RegExp(`^StorePath: ${outPath}$`, 'm'));
  } finally {
    await other.closeKeepingDatabase();
  }
});

test("lila's derivation routes: listing, raw counts per hash, full attestations, 404 unknown", async () => {
  const drv = drvPath('counted');
  const out = storePath('counted');
  const dev = storePath('counted-dev');
  const { nar_size: _s, references: _r, ...unverified } = lilaItem(carol, { outPath: out, narHash: narHash('c1') });
  await submitted(alice, drv, [lilaItem(alice, { outPath: out, narHash: narHash('c1') }), lilaItem(alice, { outPath: dev, narHash: narHash('d1') })]);
  await submitted(bob, drv, [lilaItem(bob, { outPath: out, narHash: narHash('c2') })]);
  await submitted(carol, drv, [unverified]);
  const list = (await (await server.request('/derivations/')).json()) as { id: string; drv_hash: string }[];
  assert.ok(list.some((entry) => entry.drv_hash === drvHash(drv) && typeof entry.id === 'string'));
  const counts = await (await server.request(`/derivations/${drvHash(drv)}`)).json();
  assert.deepEqual(counts, { [out]: { [narHash('c1')]: 2, [narHash('c2')]: 1 }, [dev]: { [narHash('d1')]: 1 } });
  const full = (await (await server.request(`/derivations/${drvHash(drv)}?full=true`)).json()) as AttestationView[];
  assert.equal(full.length, 4);
  const api = (await (await server.request(`/api/v1/derivations/${drvHash(drv)}`)).json()) as DerivationDetail;
  assert.deepEqual(api.outputs.map((output) => [output.outPath, output.verdict]).sort(), [[dev, 'one-build'], [out, 'nondeterministic']].sort());
  assert.equal((await server.request(`/derivations/${drvHash(drvPath('never'))}`)).status, 404);
  assert.equal((await server.request(`/api/v1/derivations/${drvHash(drvPath('never'))}`)).status, 404);
});

test("lila's submission route takes the derivation however it is pasted, and names what is wrong with anything else", async () => {
  const drv = drvPath('pasted-submission');
  const outPath = storePath('pasted-submission');
  const baseName = drv.slice('/nix/store/'.length);
  for (const pasted of [drvHash(drv), baseName, encodeURIComponent(drv), drv.slice(1)]) {
    const response = await server.request(`/attestation/${pasted}`, { method: 'POST', token: alice.token, json: [lilaItem(alice, { outPath, narHash: narHash('pasted') })] });
    assert.equal(response.status, 200, `${pasted}: ${await response.clone().text()}`);
    const [result] = (await response.json()) as AttestationResult[];
    assert.equal(result?.signature.status, 'valid', pasted);
  }
  const stored = (await (await server.request(`/attestations/by-output/${outPath.slice(11)}`)).json()) as AttestationView[];
  assert.deepEqual(stored.map((view) => [view.builder, view.drv_path]), [['alice', drv]]);
  const digest = baseName.slice(0, 32);
  const derivations = (await (await server.request('/derivations')).json()) as { id: string }[];
  assert.deepEqual(derivations.filter((entry) => entry.id.includes(digest)).map((entry) => entry.id), [drv], 'no derivation named after a mangled path');

  const cases: [string, RegExp][] = [
    [digest, new RegExp(`^a bare digest does not say which derivation: give ${digest}-<name>`)],
    [encodeURIComponent(outPath), /^not a derivation path/],
    ['not-a-derivation', /^not a store path base name/],
  ];
  for (const [pasted, detail] of cases) {
    const response = await server.request(`/attestation/${pasted}`, { method: 'POST', token: alice.token, json: [lilaItem(alice, { outPath, narHash: narHash('pasted') })] });
    assert.equal(response.status, 400, pasted);
    assert.match(((await response.json()) as { detail: string }).detail, detail, pasted);
  }
});

test('the batch route takes many outputs of many derivations', async () => {
  const items = Array.from({ length: 20 }, (_, index) => {
    const outPath = storePath(`batch-${index}`);
    const built = { outPath, narHash: narHash(`batch-${index}`), narSize: 10 + index, references: [] };
    return {
      drvPath: drvPath(`batch-${index % 4}`),
      output: 'out',
      outPath,
      narHash: built.narHash,
      narSize: built.narSize,
      references: [],
      signature: signFingerprint(alice.secretKey, narinfoFingerprint(built)),
      source: 'cache-import' as const,
    };
  });
  const response = await server.request('/api/v1/attestations', { method: 'POST', token: alice.token, json: { attestations: items } });
  assert.equal(response.status, 200);
  const { results } = (await response.json()) as { results: AttestationResult[] };
  assert.deepEqual(results.map((result) => result.outPath), items.map((item) => item.outPath));
  assert.ok(results.every((result) => result.verdict === 'one-build' && result.signature.status === 'valid'));
  const stored = await server.context.models.Attestation.findOne({ outPath: items[0]?.outPath }).lean();
  assert.equal(stored?.source, 'cache-import');
  const bad = await server.request('/api/v1/attestations', { method: 'POST', token: alice.token, json: { attestations: [{ ...items[0], drvPath: '/nix/store/x' }] } });
  assert.equal(bad.status, 400);
});

test('outputs and stats views', async () => {
  const unknown = await server.request(`/api/v1/outputs/${storePath('unknown').slice(11)}`);
  assert.equal(unknown.status, 404);
  assert.equal((await server.request('/api/v1/outputs/not-a-store-path')).status, 400);
  const stats = (await (await server.request('/api/v1/stats')).json()) as Stats;
  assert.equal(stats.builders, await server.context.models.Builder.countDocuments());
  assert.equal(stats.attestations, await server.context.models.Attestation.countDocuments());
  const outputs = Object.values(stats.counts).reduce((sum, count) => sum + count, 0);
  assert.equal(outputs, stats.outputs);
  assert.ok(stats.outputs >= 1);
  const openapi = (await (await server.request('/api/v1/openapi.json')).json()) as { paths: Record<string, unknown> };
  assert.ok(openapi.paths['/attestation/{drv_hash}']);
});

test('a key registered after the fact verifies the next resubmission', async () => {
  const dave = await server.createBuilder('dave');
  const newKey = generateKeyPair('dave-2');
  const outPath = storePath('late-key');
  const item = lilaItem({ ...dave, secretKey: newKey.secretKey }, { outPath, narHash: narHash('late') });
  const drv = drvPath('late-key');
  assert.equal((await submitted(dave, drv, [item]))[0]?.signature.status, 'invalid');
  await server.context.builders.addKey('dave', formatKey(newKey.publicKey));
  assert.equal((await submitted(dave, drv, [item]))[0]?.signature.status, 'valid');
});
