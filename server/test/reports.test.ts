import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { EnqueueResult, MonitorEvents, ReportDetail, ReportSummary, Suggestion } from '@lilac/common';
import { drvHash, lilaItem, narHash } from './support/attestationFixtures.ts';
import { generateSbom, type GeneratedPath } from './support/sbomFixtures.ts';
import { startServerWithAliceAndBob, type TestBuilder, type TestServer } from './support/testServer.ts';

let server: TestServer;
let alice: TestBuilder;
let bob: TestBuilder;
before(async () => ({ server, alice, bob } = await startServerWithAliceAndBob()));
after(() => server.close());

function put(name: string, body: string, token: string | null = alice.token) {
  return server.request(`/reports/${name}`, { method: 'PUT', ...(token !== null && { token }), headers: { 'content-type': 'application/json' }, body });
}

async function attest(builder: TestBuilder, path: GeneratedPath, hash: string): Promise<void> {
  const response = await server.request(`/attestation/${drvHash(path.drvPath)}`, {
    method: 'POST',
    token: builder.token,
    json: [lilaItem(builder, { outPath: path.outPath, narHash: narHash(hash) })],
  });
  assert.equal(response.status, 200);
}

const small = generateSbom(8, 2);
// Deliberately odd formatting: the CycloneDX answer must be these bytes, not a re-serialisation.
const smallText = JSON.stringify(small.sbom, null, 3).replace(/\n/g, '\r\n') + '\n\n';

test('a builder defines a report with a CycloneDX upload, replaces it, and everyone lists it', async () => {
  assert.equal((await put('closure', smallText, null)).status, 401);
  const created = await put('closure', smallText);
  assert.equal(created.status, 201);
  assert.deepEqual(await created.json(), { name: 'closure', total: 8, components: 8 });
  assert.equal((await put('closure', smallText)).status, 200);
  assert.deepEqual(await (await server.request('/reports')).json(), ['closure']);
  assert.equal(await server.context.models.ReportBlob.countDocuments({ report: 'closure' }), 2, 'a replacement drops the old blobs');
});

test('the CycloneDX answer is the upload byte for byte', async () => {
  const response = await server.request('/reports/closure', { headers: { accept: 'application/vnd.cyclonedx+json' } });
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^application\/vnd\.cyclonedx\+json/);
  assert.deepEqual(Buffer.from(await response.arrayBuffer()), Buffer.from(smallText));
});

test("browsers asking for HTML get the web monitor's page, not the tree", async () => {
  const response = await server.request('/reports/closure', { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
  assert.match(response.headers.get('content-type') ?? '', response.status === 503 ? /json/ : /^text\/html/);
  assert.equal((await response.text()).includes('/nix/store/'), false);
});

test('the text tree shows each path with its verdict, shared subtrees and cycles once', async () => {
  const [root, first, second] = small.paths as [GeneratedPath, GeneratedPath, GeneratedPath];
  await attest(alice, first, 'first');
  await attest(bob, first, 'first');
  await attest(alice, second, 'second');
  const response = await server.request('/reports/closure');
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
  const lines = (await response.text()).trimEnd().split('\n');
  assert.equal(lines[0], `${root.outPath} [no builds]`);
  assert.ok(lines.includes(`├── ${first.outPath} [reproduced]`), lines.join('\n'));
  assert.ok(lines.some((line) => line.endsWith(`${second.outPath} [one build]`)));
  // Every path appears in full exactly once; later mentions are references.
  for (const path of small.paths) {
    assert.equal(lines.filter((line) => line.includes(path.outPath) && !line.endsWith('(shown above)')).length, 1, path.outPath);
  }
  assert.ok(lines.some((line) => line.includes(first.outPath) && line.endsWith('(shown above)')), 'the cycle back to the first child is a reference');
});

test('the monitor JSON: counts, percentages, not-reproduced paths grouped by link pattern, the tree', async () => {
  const [, , , third, fourth] = small.paths as GeneratedPath[];
  await attest(alice, third as GeneratedPath, 'a');
  await attest(bob, third as GeneratedPath, 'b');
  await attest(alice, fourth as GeneratedPath, 'a');
  await attest(bob, fourth as GeneratedPath, 'b');
  const defined = await server.request(`/link_patterns?pattern=${encodeURIComponent('pkg-3-')}&link=${encodeURIComponent('https://example.org/issue/3')}`, { method: 'POST', token: alice.token });
  assert.equal(defined.status, 200);
  const detail = (await (await server.request('/api/v1/reports/closure')).json()) as ReportDetail;
  assert.equal(detail.total, 8);
  assert.deepEqual(detail.counts, { 'no-builds': 4, 'one-build': 1, reproduced: 1, 'partially-reproduced': 0, nondeterministic: 2 });
  assert.equal(detail.percentages.nondeterministic, 25);
  assert.deepEqual(
    detail.notReproduced.map((group) => [group.pattern, group.link, group.paths.map((path) => path.outPath)]),
    [
      ['pkg-3-', 'https://example.org/issue/3', [third?.outPath]],
      [null, null, [fourth?.outPath]],
    ],
  );
  assert.equal(detail.tree.nodes.length, 8);
  assert.deepEqual(detail.tree.roots, [detail.root]);
  const rootNode = detail.tree.nodes[detail.root];
  assert.equal(rootNode?.outPath, small.root.outPath);
  assert.deepEqual(rootNode?.children, [1, 2]);
  const summaries = (await (await server.request('/api/v1/reports')).json()) as ReportSummary[];
  assert.deepEqual(summaries.map((summary) => [summary.name, summary.total, summary.counts]), [['closure', 8, detail.counts]]);
});

test('a verdict change of a path in a report publishes report:progress', async () => {
  const progress: MonitorEvents['report:progress'][] = [];
  const stop = server.context.events.subscribe('report:progress', (payload) => progress.push(payload));
  await attest(bob, small.paths[2] as GeneratedPath, 'second');
  stop();
  assert.equal(progress.length, 1);
  assert.equal(progress[0]?.report, 'closure');
  assert.equal(progress[0]?.counts.reproduced, 2);
});

test('suggest offers what the caller has not attested and nobody reproduced, shuffled, at most 50', async () => {
  assert.equal((await server.request('/reports/closure/suggest')).status, 401);
  const forAlice = (await (await server.request('/reports/closure/suggest', { token: alice.token })).json()) as Suggestion[];
  const attestedByAlice = new Set((small.paths.slice(1, 5) as GeneratedPath[]).map((path) => path.outPath));
  assert.ok(forAlice.length > 0);
  for (const suggestion of forAlice) {
    assert.equal(attestedByAlice.has(suggestion.out_path), false);
    assert.equal(suggestion.output, 'out');
    assert.ok(suggestion.drv_path.endsWith('.drv'));
  }
  assert.equal(forAlice.length, 4);
  const carol = await server.createBuilder('carol');
  const forCarol = (await (await server.request('/reports/closure/suggest', { token: carol.token })).json()) as Suggestion[];
  const reproduced = [small.paths[1], small.paths[2]].map((path) => path?.outPath);
  assert.ok(forCarol.every((suggestion) => !reproduced.includes(suggestion.out_path)));
  assert.equal(forCarol.length, 6);
  const big = generateSbom(120);
  assert.equal((await put('big', JSON.stringify(big.sbom))).status, 201);
  const fifty = (await (await server.request('/reports/big/suggest', { token: carol.token })).json()) as Suggestion[];
  assert.equal(fifty.length, 50);
  assert.equal(new Set(fifty.map((suggestion) => suggestion.out_path)).size, 50);
});

test('bad SBOMs get a precise 400 and nothing is written', async () => {
  const cases: [string, RegExp][] = [
    ['{"components": []}', /metadata\.component\.bom-ref/],
    ['[1, 2]', /JSON object/],
    ['{"metadata": {"component": {"bom-ref": "r"}}, "dependencies": [{"ref": "nope"}]}', /does not name a component/],
    ['{"metadata": {"component": {"bom-ref": "r", "properties": [{"name": "nix:out_path", "value": "/tmp/x"}]}}}', /must start with \/nix\/store/],
    ['{"metadata": ', /not valid JSON/],
  ];
  for (const [body, detail] of cases) {
    const response = await put('broken', body);
    assert.equal(response.status, 400, body);
    assert.match(((await response.json()) as { detail: string }).detail, detail);
  }
  assert.equal((await put('bad name!', '{}')).status, 400);
  assert.equal(await server.context.models.Report.countDocuments({ name: 'broken' }), 0);
  assert.equal(await server.context.models.ReportBlob.countDocuments({ report: 'broken' }), 0);
  assert.equal((await server.request('/reports/never')).status, 404);
  assert.equal((await server.request('/api/v1/reports/never')).status, 404);
});

test('link patterns: token required, patterns RE2 refuses and non-http links refused', async () => {
  const post = (pattern: string, link: string, token: string | null = alice.token) =>
    server.request(`/link_patterns?pattern=${encodeURIComponent(pattern)}&link=${encodeURIComponent(link)}`, { method: 'POST', ...(token !== null && { token }) });
  assert.equal((await post('samba.*', 'https://github.com/NixOS/nixpkgs/issues/303436', null)).status, 401);
  assert.equal((await post('samba.*', 'https://github.com/NixOS/nixpkgs/issues/303436')).status, 200);
  assert.equal((await post('a*a*a*a*a*a*b', 'https://example.org/adjacent')).status, 200, 'RE2 matches it in linear time');
  const lookahead = await post('(?=a)b', 'https://example.org');
  assert.equal(lookahead.status, 400);
  assert.match(((await lookahead.json()) as { detail: string }).detail, /RE2 accepts: .*unsupported Perl syntax/);
  assert.equal((await post('(', 'https://example.org')).status, 400);
  assert.equal((await post('ok', 'javascript:alert(1)')).status, 400);
  assert.equal((await server.request('/link_patterns?pattern=x', { method: 'POST', token: alice.token })).status, 400);
  const listed = (await (await server.request('/link_patterns')).json()) as { pattern: string; link: string }[];
  assert.deepEqual(listed.map((entry) => entry.pattern), ['pkg-3-', 'samba.*', 'a*a*a*a*a*a*b']);
});

test('a 20,000-component report goes through end to end', async () => {
  const generated = generateSbom(20_000);
  const text = JSON.stringify(generated.sbom);
  const response = await put('large', text);
  assert.equal(response.status, 201, await response.clone().text());
  assert.deepEqual(await response.json(), { name: 'large', total: 20_000, components: 20_000 });
  await attest(alice, generated.paths[10] as GeneratedPath, 'x');
  const detail = (await (await server.request('/api/v1/reports/large')).json()) as ReportDetail;
  assert.equal(detail.total, 20_000);
  assert.equal(detail.counts['one-build'], 1);
  assert.equal(detail.counts['no-builds'], 19_999);
  assert.equal(detail.tree.nodes.length, 20_000);
  const tree = await (await server.request('/reports/large')).text();
  const full = tree.split('\n').filter((line) => line.includes('/nix/store/') && !line.endsWith('(shown above)'));
  assert.equal(full.length, 20_000);
  const sbom = await (await server.request('/reports/large', { headers: { accept: 'application/vnd.cyclonedx+json' } })).text();
  assert.equal(sbom, text);
});

test('a root listed among the components keeps its Nix properties from there, so suggest offers it', async () => {
  const generated = generateSbom(3, 2);
  const sbom = structuredClone(generated.sbom) as { metadata: { component: Record<string, unknown> }; components: Record<string, unknown>[] };
  // nix-runtime-tree-to-sbom's shape: a bare root in metadata, its properties in the components list.
  sbom.components.unshift(sbom.metadata.component);
  sbom.metadata.component = { type: 'application', 'bom-ref': generated.root.drvPath, name: 'pkg-0' };
  assert.equal((await put('listed-root', JSON.stringify(sbom))).status, 201);
  const detail = (await (await server.request('/api/v1/reports/listed-root')).json()) as ReportDetail;
  assert.equal(detail.tree.nodes[detail.root]?.outPath, generated.root.outPath);
  const suggested = (await (await server.request('/reports/listed-root/suggest', { token: alice.token })).json()) as Suggestion[];
  assert.deepEqual(
    suggested.map((suggestion) => suggestion.drv_path).sort(),
    generated.paths.map((path) => path.drvPath).sort(),
  );
});

test('asking for application/json gets the report summary', async () => {
  const response = await server.request('/reports/closure', { headers: { accept: 'application/json' } });
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  const summary = (await response.json()) as ReportSummary;
  const listed = ((await (await server.request('/api/v1/reports')).json()) as ReportSummary[]).find((entry) => entry.name === 'closure');
  assert.deepEqual(summary, listed);
  assert.equal((await server.request('/reports/never', { headers: { accept: 'application/json' } })).status, 404);
});

test('enqueueing a report says why outputs were skipped', async () => {
  const generated = generateSbom(8, 2);
  const sbom = structuredClone(generated.sbom) as { components: { properties: { name: string; value: string }[] }[] };
  const withoutProperty = (index: number, name: string) => {
    const component = sbom.components[index - 1] as { properties: { name: string; value: string }[] };
    component.properties = component.properties.filter((property) => property.name !== name);
  };
  for (const index of [2, 3, 4]) withoutProperty(index, 'nix:drv_path');
  (sbom.components[4]?.properties.find((property) => property.name === 'nix:output') as { value: string }).value = 'dev';
  withoutProperty(6, 'nix:out_path');
  assert.equal((await put('skipping', JSON.stringify(sbom))).status, 201);
  const response = await server.request('/api/v1/reports/skipping/enqueue', { method: 'POST', token: alice.token });
  assert.equal(response.status, 200);
  const result = (await response.json()) as EnqueueResult;
  assert.equal(result.added, 3);
  assert.deepEqual(
    result.skipped?.map((skip) => [skip.count, skip.reason]),
    [
      [1, '1 component has no output path (no nix:out_path, and its bom-ref is not one)'],
      [3, '3 components lack nix:drv_path'],
      [1, `1 component's output path does not match its derivation and nix:output (e.g. ${generated.paths[5]?.outPath}: output dev of ${generated.paths[5]?.drvPath} must be named "pkg-5-1.0-dev", not "pkg-5-1.0")`],
    ],
  );
});
