import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { after, before, test } from 'node:test';
import { DEFAULT_DIFFOSCOPE_MAX_BYTES, MAX_LISTING_QUESTIONS, narSizeOfListing, type AttestationResult, type ListingEntry, type ListingWishes, type OutputDiff, type OutputDiffEvent } from '@lilac/common';
import { io as connect, type Socket } from 'socket.io-client';
import { DIFFOSCOPE_HTML_POLICY } from '../src/http/routes/outputDiffs.ts';
import { batchItem, drvPath, narHash, storePath } from './support/attestationFixtures.ts';
import { startTestServer, type TestBuilder, type TestServer } from './support/testServer.ts';

const MAX_ENTRIES = 20;
const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const file = (path: string, contents: string): ListingEntry => ({ path, type: 'regular', size: Buffer.byteLength(contents), sha256: sha(contents) });
const dir = (path: string): ListingEntry => ({ path, type: 'directory' });

/** An output of two fixed files and one random one, as two builders' copies see it. */
function copy(random: string): ListingEntry[] {
  return [dir(''), dir('share'), file('share/fixed-1', 'one'), file('share/fixed-2', 'two'), file('share/random', random)];
}

let server: TestServer;
let monitor: Socket;
let alice: TestBuilder;
let bob: TestBuilder;
let carol: TestBuilder;
before(async () => {
  server = await startTestServer({ maxListingEntries: MAX_ENTRIES });
  [alice, bob, carol] = await Promise.all([server.createBuilder('alice'), server.createBuilder('bob'), server.createBuilder('carol')]);
  monitor = connect(`${server.url}/monitor`, { transports: ['websocket'] });
  await new Promise<void>((resolve) => monitor.once('connect', () => resolve()));
});
after(async () => {
  monitor.disconnect();
  await server.close();
});

interface Divergent {
  readonly outPath: string;
  readonly base: string;
  readonly hashA: string;
  readonly hashB: string;
  readonly listingA: ListingEntry[];
  readonly listingB: ListingEntry[];
}

async function attest(builder: TestBuilder, drv: string, outPath: string, hash: string, narSize: number): Promise<AttestationResult> {
  const response = await server.request('/api/v1/attestations', { method: 'POST', token: builder.token, json: { attestations: [batchItem(builder, drv, { outPath, narHash: hash, narSize })] } });
  const body = await response.text();
  assert.equal(response.status, 200, body);
  return (JSON.parse(body) as { results: AttestationResult[] }).results[0] as AttestationResult;
}

/** alice and bob built `name` and got copies differing in `share/random`. */
async function divergent(name: string): Promise<Divergent> {
  const outPath = storePath(name);
  const drv = drvPath(name);
  const [listingA, listingB] = [copy('4 random'), copy('8 random')];
  const [hashA, hashB] = [narHash(`${name}-a`), narHash(`${name}-b`)];
  await attest(alice, drv, outPath, hashA, narSizeOfListing(listingA));
  await attest(bob, drv, outPath, hashB, narSizeOfListing(listingB));
  return { outPath, base: outPath.slice('/nix/store/'.length), hashA, hashB, listingA, listingB };
}

function putListing(builder: TestBuilder, base: string, body: unknown, init: RequestInit = {}): Promise<Response> {
  return server.request(`/api/v1/outputs/${base}/listing`, { method: 'PUT', token: builder.token, json: body, ...init });
}

async function diffOf(base: string): Promise<OutputDiff> {
  const response = await server.request(`/api/v1/outputs/${base}/diff`);
  const body = await response.text();
  assert.equal(response.status, 200, body);
  return JSON.parse(body) as OutputDiff;
}

test('answers to attestations ask for a listing once an output has two hashes and until one is stored', async () => {
  const outPath = storePath('wanted');
  const drv = drvPath('wanted');
  const listing = copy('a');
  const narSize = narSizeOfListing(listing);
  assert.equal((await attest(alice, drv, outPath, narHash('wanted-a'), narSize)).listingWanted, undefined, 'one hash: nothing to compare');
  assert.equal((await attest(bob, drv, outPath, narHash('wanted-b'), narSize)).listingWanted, true);
  assert.equal((await attest(alice, drv, outPath, narHash('wanted-a'), narSize)).listingWanted, true, 'the first builder is asked when it submits again');
  const stored = await putListing(alice, outPath.slice('/nix/store/'.length), { narHash: narHash('wanted-a'), narSize, entries: listing });
  assert.equal(stored.status, 201);
  assert.equal((await attest(alice, drv, outPath, narHash('wanted-a'), narSize)).listingWanted, undefined);
  assert.equal((await attest(carol, drv, outPath, narHash('wanted-a'), narSize)).listingWanted, undefined, "another builder of a listed hash is not asked");
});

test('a listing is stored once per output and NAR hash, whoever sends it; the diff names exactly the differing file', async () => {
  const output = await divergent('three-files');
  const bodyA = { narHash: output.hashA, narSize: narSizeOfListing(output.listingA), entries: output.listingA };
  const first = await putListing(alice, output.base, bodyA);
  assert.equal(first.status, 201);
  assert.deepEqual(await first.json(), { stored: true });

  const waiting = await diffOf(output.base);
  assert.deepEqual(waiting.groups.map((group) => [group.builders, group.listing]), [[['alice'], true], [['bob'], false]]);
  const [pending] = waiting.pairs;
  assert.deepEqual(pending?.listingsMissing, [output.hashB]);
  assert.deepEqual(pending?.waitingFor, ['bob']);
  assert.deepEqual(pending?.differences, []);
  assert.equal(pending?.diffoscope, 'not-run');

  const again = await putListing(alice, output.base, bodyA);
  assert.equal(again.status, 200);
  assert.deepEqual(await again.json(), { stored: false });

  const gzipped = await server.request(`/api/v1/outputs/${output.base}/listing`, {
    method: 'PUT',
    token: bob.token,
    headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
    body: gzipSync(JSON.stringify({ narHash: output.hashB, narSize: narSizeOfListing(output.listingB), entries: output.listingB })),
  });
  assert.equal(gzipped.status, 201, await gzipped.text());

  const diff = await diffOf(output.base);
  assert.equal(diff.pairs.length, 1);
  const [pair] = diff.pairs;
  assert.deepEqual(pair?.listingsMissing, []);
  assert.equal(pair?.differenceCount, 1);
  assert.deepEqual(pair?.differences, [
    { path: 'share/random', change: 'content', a: { type: 'regular', size: 8, sha256: sha('4 random') }, b: { type: 'regular', size: 8, sha256: sha('8 random') } },
  ]);
  assert.deepEqual(pair?.causes, ['randomness'], 'same size, different bytes, nothing else to go by');
});

test('bad listings are refused with a clear status and leave nothing stored', async () => {
  const output = await divergent('refused');
  const narSize = narSizeOfListing(output.listingA);
  const refusals: [TestBuilder, unknown, number, RegExp][] = [
    [bob, { narHash: output.hashA, narSize, entries: output.listingA }, 403, /bob has not attested/],
    [carol, { narHash: output.hashA, narSize, entries: output.listingA }, 403, /carol has not attested/],
    [alice, { narHash: output.hashA, narSize: narSize + 8, entries: output.listingA }, 422, /describes a NAR of/],
    [alice, { narHash: output.hashA, narSize: narSizeOfListing(output.listingB.slice(0, 4)), entries: output.listingB.slice(0, 4) }, 422, /alice attested/],
    [alice, { narHash: output.hashA, narSize, entries: [dir(''), file('../escape', 'x')] }, 400, /"\.\." component/],
    [alice, { narHash: output.hashA, narSize, entries: [dir(''), file('/etc/passwd', 'x')] }, 400, /relative/],
    [alice, { narHash: output.hashA, narSize, entries: [dir(''), file('a\0b', 'x')] }, 400, /NUL/],
    [alice, { narHash: output.hashA, narSize, entries: [dir(''), file('b', 'x'), file('a', 'x')] }, 400, /out of NAR order/],
    [alice, { narHash: output.hashA, narSize, entries: [dir(''), ...Array.from({ length: MAX_ENTRIES }, (_, index) => file(`f${String(index).padStart(3, '0')}`, 'x'))] }, 413, /at most 20 entries/],
    [alice, { narHash: 'md5:nope', narSize, entries: output.listingA }, 400, /NAR hash/],
    [alice, [1, 2], 400, /JSON object/],
  ];
  for (const [builder, body, status, detail] of refusals) {
    const response = await putListing(builder, output.base, body);
    assert.equal(response.status, status, JSON.stringify(body).slice(0, 200));
    assert.match(((await response.json()) as { detail: string }).detail, detail);
  }
  const unauthenticated = await server.request(`/api/v1/outputs/${output.base}/listing`, { method: 'PUT', json: {} });
  assert.equal(unauthenticated.status, 401);
  const diff = await diffOf(output.base);
  assert.deepEqual(diff.groups.map((group) => group.listing), [false, false]);
  assert.equal(await server.context.models.OutputListing.countDocuments({ outPath: output.outPath }), 0);
  assert.equal(await server.context.models.ListingChunk.countDocuments(), await server.context.models.OutputListing.countDocuments(), 'one chunk per stored listing, none left over');
});

test('diffoscope text is served as text, its HTML only under a sandboxing policy, and the diff links both', async () => {
  const output = await divergent('diffoscoped');
  const upload = (builder: TestBuilder, body: unknown) => server.request(`/api/v1/outputs/${output.base}/diffoscope`, { method: 'PUT', token: builder.token, json: body });
  const text = ['--- a', '+++ b', '├── share/random', '│ @@ -1 +1 @@', '│ -Built 2024-03-01 12:00:01', '│ +Built 2024-03-02 13:00:01'].join('\n');
  const html = '<html><body><script>alert(1)</script><p>differs</p></body></html>';
  const base = { a: output.hashA, b: output.hashB, truncated: false, timedOut: false, diffoscopeVersion: 'diffoscope 272' };

  assert.equal((await upload(carol, { ...base, format: 'text', content: text })).status, 403, 'carol attested neither copy');
  assert.equal((await upload(alice, { ...base, b: narHash('never-attested'), format: 'text', content: text })).status, 422);
  assert.equal((await upload(alice, { ...base, format: 'pdf', content: text })).status, 400);
  assert.equal((await upload(alice, { ...base, format: 'text', content: 'x'.repeat(DEFAULT_DIFFOSCOPE_MAX_BYTES + 1) })).status, 413);
  assert.equal((await diffOf(output.base)).pairs[0]?.diffoscope, 'not-run', 'nothing stored on refusal');

  const heard = new Promise<OutputDiffEvent>((resolve) => monitor.on('output:diff', (event: OutputDiffEvent) => event.outPath === output.outPath && resolve(event)));
  assert.equal((await upload(bob, { ...base, format: 'text', content: 'an older run' })).status, 201);
  assert.equal((await heard).kind, 'diffoscope');
  assert.equal((await upload(alice, { ...base, format: 'text', content: text })).status, 201, 'the latest upload wins');
  assert.equal((await upload(alice, { ...base, format: 'html', content: html })).status, 201);

  const [pair] = (await diffOf(output.base)).pairs;
  assert.ok(pair && pair.diffoscope !== 'not-run');
  const links = new Map(pair.diffoscope.map((link) => [link.format, link]));
  assert.equal(links.get('text')?.builder, 'alice');
  assert.equal(links.get('text')?.diffoscopeVersion, 'diffoscope 272');
  assert.deepEqual(pair.causes, ['timestamps']);

  const served = await server.request(links.get('text')?.url as string);
  assert.equal(served.status, 200);
  assert.match(served.headers.get('content-type') ?? '', /^text\/plain/);
  assert.equal(served.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(await served.text(), text);

  const page = await server.request(links.get('html')?.url as string);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
  assert.equal(page.headers.get('content-security-policy'), DIFFOSCOPE_HTML_POLICY);
  assert.equal(page.headers.get('content-security-policy'), "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:");
  assert.equal(await page.text(), html);

  const missing = await server.request(`/api/v1/outputs/${output.base}/diffoscope/${encodeURIComponent(output.hashB)}/${encodeURIComponent(output.hashA)}.html`);
  assert.equal(missing.status, 404);
});

test('a stored listing is announced on /monitor with the cause guess, and the report lists the guess', async () => {
  const output = await divergent('announced');
  const heard = new Promise<OutputDiffEvent>((resolve) => monitor.on('output:diff', (event: OutputDiffEvent) => event.outPath === output.outPath && event.narHash === output.hashB && resolve(event)));
  assert.equal((await putListing(alice, output.base, { narHash: output.hashA, narSize: narSizeOfListing(output.listingA), entries: output.listingA })).status, 201);
  assert.equal((await putListing(bob, output.base, { narHash: output.hashB, narSize: narSizeOfListing(output.listingB), entries: output.listingB })).status, 201);
  assert.deepEqual(await heard, { outPath: output.outPath, kind: 'listing', narHash: output.hashB, causes: ['randomness'] });
  assert.deepEqual(await server.context.listings.causesOf([output.outPath, storePath('unknown')]), { [output.outPath]: ['randomness'] });
});

test('the diff of an output nobody attested is a 404; a malformed path a 400', async () => {
  assert.equal((await server.request(`/api/v1/outputs/${storePath('nobody').slice('/nix/store/'.length)}/diff`)).status, 404);
  assert.equal((await server.request('/api/v1/outputs/not-a-store-path/diff')).status, 400);
});

test("a report answers its not-reproduced outputs' cause guesses, and the OpenAPI document names the routes", async () => {
  const guessed = await divergent('report-guessed');
  const unguessed = await divergent('report-unguessed');
  const root = storePath('report-root');
  const components = [guessed.outPath, unguessed.outPath].map((path) => ({ 'bom-ref': path, type: 'library', name: path.slice(44), properties: [{ name: 'nix:out_path', value: path }] }));
  const sbom = {
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    metadata: { component: { 'bom-ref': root, type: 'application', name: 'report-root', properties: [{ name: 'nix:out_path', value: root }] } },
    components,
    dependencies: [{ ref: root, dependsOn: components.map((component) => component['bom-ref']) }],
  };
  assert.equal((await server.request('/reports/diffs', { method: 'PUT', token: alice.token, json: sbom })).status, 201);
  assert.equal((await putListing(alice, guessed.base, { narHash: guessed.hashA, narSize: narSizeOfListing(guessed.listingA), entries: guessed.listingA })).status, 201);
  assert.equal((await putListing(bob, guessed.base, { narHash: guessed.hashB, narSize: narSizeOfListing(guessed.listingB), entries: guessed.listingB })).status, 201);
  const response = await server.request('/api/v1/reports/diffs/causes');
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { [guessed.outPath]: ['randomness'] });
  assert.equal((await server.request('/api/v1/reports/no-such-report/causes')).status, 404);

  const openapi = (await (await server.request('/api/v1/openapi.json')).json()) as { paths: Record<string, unknown> };
  for (const path of ['/api/v1/outputs/{digest-name}/listing', '/api/v1/outputs/{digest-name}/diffoscope', '/api/v1/outputs/{digest-name}/diff', '/api/v1/reports/{name}/causes']) {
    assert.ok(openapi.paths[path], path);
  }
});

async function askWanted(builder: TestBuilder, outputs: unknown): Promise<Response> {
  return server.request('/api/v1/listings/wanted', { method: 'POST', token: builder.token, json: { outputs } });
}

test('a builder asks later which listings of copies it attested are wanted: only its own hashes, until one is stored', async () => {
  const outPath = storePath('asked-later');
  const drv = drvPath('asked-later');
  const listingA = copy('a');
  const [hashA, hashB] = [narHash('asked-later-a'), narHash('asked-later-b')];
  // Alice attests first: her answer cannot want a listing yet.
  assert.equal((await attest(alice, drv, outPath, hashA, narSizeOfListing(listingA))).listingWanted, undefined);
  const wishes = async (builder: TestBuilder, hash: string) => {
    const response = await askWanted(builder, [{ outPath, narHash: hash }]);
    assert.equal(response.status, 200);
    return ((await response.json()) as ListingWishes).outputs.map((output) => output.wish);
  };
  assert.deepEqual(await wishes(alice, hashA), ['single-hash']);
  await attest(bob, drv, outPath, hashB, narSizeOfListing(copy('b')));
  assert.deepEqual(await wishes(alice, hashA), ['wanted']);
  assert.deepEqual(await wishes(carol, hashA), ['not-attested'], 'only the builder that attested a hash is asked for its listing');
  assert.deepEqual(await wishes(alice, hashB), ['not-attested']);
  assert.equal((await putListing(alice, outPath.slice('/nix/store/'.length), { narHash: hashA, narSize: narSizeOfListing(listingA), entries: listingA })).status, 201);
  assert.deepEqual(await wishes(alice, hashA), ['stored']);
});

test('asking which listings are wanted: bounded, validated, and only for builders', async () => {
  const outPath = storePath('asked-bad');
  const many = Array.from({ length: MAX_LISTING_QUESTIONS + 1 }, (_, index) => ({ outPath, narHash: narHash(`many-${index}`) }));
  assert.equal((await askWanted(alice, many)).status, 400);
  assert.equal((await askWanted(alice, [{ outPath: '/tmp/x', narHash: narHash('x') }])).status, 400);
  assert.equal((await askWanted(alice, [{ outPath, narHash: 'md5:abc' }])).status, 400);
  assert.equal((await askWanted(alice, 'nope')).status, 400);
  const anonymous = await server.request('/api/v1/listings/wanted', { method: 'POST', json: { outputs: [] } });
  assert.equal(anonymous.status, 401);
});
