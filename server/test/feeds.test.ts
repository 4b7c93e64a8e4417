import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { TriageView } from '@lilac/common';
import { escapeXml } from '../src/feeds/atomFeed.ts';
import { drvHash, lilaItem, narHash } from './support/attestationFixtures.ts';
import { generateSbom } from './support/sbomFixtures.ts';
import { startServerWithAliceAndBob, type TestBuilder, type TestServer } from './support/testServer.ts';

let server: TestServer;
let alice: TestBuilder;
let bob: TestBuilder;
let maintainer: string;
before(async () => {
  ({ server, alice, bob } = await startServerWithAliceAndBob());
  maintainer = await server.createMember('max', 'maintainer');
});
after(() => server.close());

async function diverge(outPath: string, drv: string): Promise<void> {
  for (const builder of [alice, bob]) {
    const response = await server.request(`/attestation/${drvHash(drv)}`, { method: 'POST', token: builder.token, json: [lilaItem(builder, { outPath, narHash: narHash(`${builder.name}:${outPath}`) })] });
    assert.equal(response.status, 200);
  }
}

test('escapeXml leaves no markup and drops characters XML cannot hold', () => {
  assert.equal(escapeXml(`<a href="x" onclick='y'>&\u0000\u0007ok</a>`), '&lt;a href=&quot;x&quot; onclick=&apos;y&apos;&gt;&amp;ok&lt;/a&gt;');
});

test("a report's Atom feed carries its divergences and triage changes, people's text escaped", async () => {
  const { sbom, paths } = generateSbom(3, 2);
  assert.equal((await server.request('/reports/iso', { method: 'PUT', token: alice.token, json: sbom })).status, 201);
  const diverged = paths[1]!;
  await diverge(diverged.outPath, diverged.drvPath);
  const baseName = diverged.outPath.slice('/nix/store/'.length);
  const note = '</summary><script>alert(1)</script>&';
  assert.equal((await server.request(`/api/v1/outputs/${baseName}/triage`, { method: 'PUT', token: maintainer, json: { status: 'investigating', note } })).status, 200);

  const response = await server.request('/api/v1/reports/iso/feed.atom');
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^application\/atom\+xml/);
  const xml = await response.text();
  assert.match(xml, /^<\?xml version="1\.0" encoding="utf-8"\?>\n<feed xmlns="http:\/\/www\.w3\.org\/2005\/Atom">/);
  assert.equal(xml.match(/<entry>/g)?.length, 2, 'the divergence and the triage change');
  assert.match(xml, new RegExp(`<title type="text">${baseName.replace(/\./g, '\\.')}: triage changed by max</title>`));
  assert.ok(xml.includes('note: none → &lt;/summary&gt;&lt;script&gt;alert(1)&lt;/script&gt;&amp;'));
  assert.ok(!xml.includes('<script>'));
  assert.equal((await server.request('/api/v1/reports/nope/feed.atom')).status, 404);

  const triage = (await (await server.request('/api/v1/reports/iso/triage')).json()) as Record<string, TriageView>;
  assert.deepEqual(Object.keys(triage), [diverged.outPath], 'the report page filters by these');
  assert.equal(triage[diverged.outPath]?.status, 'investigating');
});

test("a member's feed follows the outputs on its watch list", async () => {
  const { paths } = generateSbom(1, 1);
  const watched = paths[0]!;
  await diverge(watched.outPath, watched.drvPath);
  const baseName = watched.outPath.slice('/nix/store/'.length);
  assert.equal((await server.request(`/api/v1/me/watch/${baseName}`, { method: 'PUT' })).status, 401);
  assert.equal((await server.request(`/api/v1/me/watch/${baseName}`, { method: 'PUT', token: alice.token })).status, 403);
  assert.equal((await server.request(`/api/v1/me/watch/${baseName}`, { method: 'PUT', token: maintainer })).status, 204);
  assert.deepEqual(await (await server.request('/api/v1/me/watch', { token: maintainer })).json(), [watched.outPath]);
  const xml = await (await server.request('/api/v1/members/max/feed.atom')).text();
  assert.match(xml, new RegExp(`${baseName.replace(/\./g, '\\.')} diverged \\(2 hashes\\)`));
  assert.equal((await server.request('/api/v1/members/nobody/feed.atom')).status, 404);
});

test('a divergence entry counts and lists only verified hashes, as verdicts do', async () => {
  const { paths } = generateSbom(1, 1);
  const output = paths[0]!;
  await diverge(output.outPath, output.drvPath);
  const carol = await server.createBuilder('carol');
  const { output_sig: _unsigned, ...unsigned } = lilaItem(carol, { outPath: output.outPath, narHash: narHash(`carol:${output.outPath}`) });
  assert.equal((await server.request(`/attestation/${drvHash(output.drvPath)}`, { method: 'POST', token: carol.token, json: [unsigned] })).status, 200);
  const baseName = output.outPath.slice('/nix/store/'.length);
  assert.equal((await server.request(`/api/v1/me/watch/${baseName}`, { method: 'PUT', token: maintainer })).status, 204);
  const xml = await (await server.request('/api/v1/members/max/feed.atom')).text();
  assert.match(xml, new RegExp(`${baseName.replace(/\./g, '\\.')} diverged \\(2 hashes\\)`));
  assert.ok(!xml.includes(narHash(`carol:${output.outPath}`)), 'the unsigned hash is not listed');
});

test('maintainers manage link patterns from the web app; viewers and builders cannot through that route', async () => {
  const viewer = await server.createMember('vera', 'viewer');
  const body = { pattern: '^openjdk', link: 'https://example.org/jdk' };
  assert.equal((await server.request('/api/v1/link-patterns', { method: 'PUT', json: body })).status, 401);
  assert.equal((await server.request('/api/v1/link-patterns', { method: 'PUT', json: body, token: alice.token })).status, 403);
  assert.equal((await server.request('/api/v1/link-patterns', { method: 'PUT', json: body, token: viewer })).status, 403);
  assert.equal((await server.request('/api/v1/link-patterns', { method: 'PUT', json: { ...body, link: 'javascript:alert(1)' }, token: maintainer })).status, 400);
  const put = await server.request('/api/v1/link-patterns', { method: 'PUT', json: body, token: maintainer });
  assert.equal(put.status, 200);
  assert.deepEqual(await put.json(), { ...body, owner: null });
  // A builder's pattern is a maintainer's to change too.
  assert.equal((await server.request(`/link_patterns?pattern=${encodeURIComponent('^gcc')}&link=${encodeURIComponent('https://example.org/gcc')}`, { method: 'POST', token: bob.token })).status, 200);
  const changed = await server.request('/api/v1/link-patterns', { method: 'PUT', json: { pattern: '^gcc', link: 'https://example.org/gcc2' }, token: maintainer });
  assert.deepEqual(await changed.json(), { pattern: '^gcc', link: 'https://example.org/gcc2', owner: 'bob' });
  assert.equal((await server.request(`/api/v1/link-patterns?pattern=${encodeURIComponent('^gcc')}`, { method: 'DELETE', token: maintainer })).status, 204);
  assert.equal((await server.request(`/api/v1/link-patterns?pattern=${encodeURIComponent('^gcc')}`, { method: 'DELETE', token: maintainer })).status, 404);
});
