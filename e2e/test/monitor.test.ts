import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { VERDICTS, type ReportDetail } from '@lilac/common';
import { lilaItem, narHash, storePath, drvPath, drvHash, type Built } from '@lilac/server/testing/attestations';
import { startTestServer, type TestBuilder, type TestServer } from '@lilac/server/testing';
import type { Browser, Page } from 'playwright-core';
import { openPage, screenshot, serverAndBrowser } from './support/browser.ts';
import { sbomOf } from './support/reports.ts';

const MARKUP_NAME = '<img src=x onerror=alert(1)>';

let server: TestServer;
let browser: Browser;
let alice: TestBuilder;
let bob: TestBuilder;
const root = storePath('gnome-iso');
const hello = storePath('hello-2.12');
const curl = storePath('curl-8.5.0');
const helloDrv = drvPath('hello-2.12');
const curlDrv = drvPath('curl-8.5.0');

async function attest(through: TestServer, builder: TestBuilder, drv: string, built: Built): Promise<void> {
  const response = await through.request(`/attestation/${drvHash(drv)}`, { method: 'POST', token: builder.token, json: [lilaItem(builder, built)] });
  assert.equal(response.status, 200, await response.text());
}

async function live(page: Page): Promise<void> {
  await page.getByTestId('connection-state').filter({ hasText: 'live' }).waitFor();
}

const countOf = (page: Page, verdict: string) => page.getByTestId(`verdict-${verdict}`).getByTestId('count');

before(async () => {
  ({ server, alice, bob, browser } = await serverAndBrowser());
  const defined = await server.request('/reports/gnome', {
    method: 'PUT',
    token: alice.token,
    json: sbomOf(root, [hello, curl], [{ ref: 'pkg:generic/markup', name: MARKUP_NAME }]),
  });
  assert.equal(defined.status, 201, await defined.text());
  await attest(server, alice, helloDrv, { outPath: hello, narHash: narHash('hello-a') });
  await attest(server, alice, curlDrv, { outPath: curl, narHash: narHash('curl') });
  await attest(server, bob, curlDrv, { outPath: curl, narHash: narHash('curl') });
});
after(async () => {
  await browser?.close();
  await server?.close();
});

test('a divergence submitted over HTTP appears on an open dashboard and an open report page without reload', async () => {
  const dashboard = await openPage(browser, `${server.url}/`);
  const report = await openPage(browser, `${server.url}/reports/gnome`);
  await Promise.all([live(dashboard.page), live(report.page)]);
  await countOf(report.page, 'reproduced').filter({ hasText: /^1$/ }).waitFor();
  assert.equal(await countOf(report.page, 'nondeterministic').textContent(), '0');

  await attest(server, bob, helloDrv, { outPath: hello, narHash: narHash('hello-b') });

  await dashboard.page.locator(`[data-testid=live-feed] li.feed-divergence[data-path="${hello}"]`).waitFor();
  await countOf(report.page, 'nondeterministic').filter({ hasText: /^1$/ }).waitFor();
  await report.page.locator(`[data-testid=not-reproduced] li[data-path="${hello}"]`).waitFor();
  await report.page.locator(`.tree-row[data-path="${hello}"] .v-nondeterministic`).waitFor();
  await screenshot(dashboard.page, 'dashboard');
  await screenshot(report.page, 'report');
  assert.deepEqual([...dashboard.errors, ...report.errors], []);
  await Promise.all([dashboard.page.close(), report.page.close()]);
});

test("the report page's numbers equal the JSON API's", async () => {
  const api = (await (await server.request('/api/v1/reports/gnome')).json()) as ReportDetail;
  const { page } = await openPage(browser, `${server.url}/reports/gnome`);
  await page.getByTestId('report-total').waitFor();
  assert.equal(await page.getByTestId('report-total').textContent(), String(api.total));
  for (const verdict of VERDICTS) {
    const row = page.getByTestId(`verdict-${verdict}`);
    assert.equal(await row.getByTestId('count').textContent(), String(api.counts[verdict]), verdict);
    assert.equal(await row.getByTestId('percentage').textContent(), `${api.percentages[verdict]}%`, verdict);
  }
  const listed = await page.locator('[data-testid=not-reproduced] li[data-path]').evaluateAll((items) => items.map((item) => item.getAttribute('data-path')));
  assert.deepEqual(listed.sort(), api.notReproduced.flatMap((group) => group.paths.map((path) => path.outPath)).sort());
  await page.close();
});

test('an SBOM component named like markup is shown as text and runs nothing', async () => {
  const { page, dialogs, errors } = await openPage(browser, `${server.url}/reports/gnome`);
  await page.getByTestId('tree-search').fill('onerror');
  const row = page.locator('.tree-row', { hasText: MARKUP_NAME });
  await row.waitFor();
  assert.equal(await row.locator('.name').textContent(), MARKUP_NAME);
  assert.equal(await page.locator('main img').count(), 0);
  assert.deepEqual(dialogs, []);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a derivation pasted as a full path, a base name or a bare digest opens its page at its canonical link', async () => {
  const canonical = `/derivation/${drvHash(helloDrv)}`;
  const baseName = helloDrv.slice('/nix/store/'.length);
  for (const pasted of [helloDrv, encodeURIComponent(helloDrv), baseName, baseName.slice(0, 32)]) {
    const { page, errors } = await openPage(browser, `${server.url}/derivation/${pasted}`);
    await page.getByTestId('derivation-outputs').waitFor();
    await page.waitForURL(`${server.url}${canonical}`);
    assert.equal(await page.locator('h1').textContent(), helloDrv, pasted);
    assert.deepEqual(errors, [], pasted);
    await page.close();
  }
  const { page } = await openPage(browser, `${server.url}/derivation/${encodeURIComponent(hello)}`);
  assert.match((await page.getByTestId('api-error').textContent()) ?? '', /not a derivation path/);
  await page.close();
});

test('every page has a deep link; unknown pages and API errors are shown', async () => {
  const pages: [string, string, string][] = [
    ['reports', '/reports', 'reports-table'],
    ['output', `/output/${hello.slice('/nix/store/'.length)}`, 'hash-group-differs'],
    ['derivation', `/derivation/${drvHash(helloDrv)}`, 'derivation-outputs'],
    ['builders', '/builders', 'builders-table'],
    ['not-found', '/no/such/page', 'not-found'],
    ['output-unknown', `/output/${storePath('never-built').slice('/nix/store/'.length)}`, 'api-error'],
  ];
  for (const [name, path, testId] of pages) {
    const { page, errors } = await openPage(browser, `${server.url}${path}`);
    await page.getByTestId(testId).first().waitFor();
    await screenshot(page, name);
    assert.deepEqual(errors, [], name);
    await page.close();
  }
});

test("an output page tells an unsigned statement (lila's diff hook) from an invalid one, and shows when each was built", async () => {
  const outPath = storePath('signature-statuses');
  const drv = drvPath('signature-statuses');
  const built = { outPath, narHash: narHash('signature-statuses') };
  const send = (builder: TestBuilder, overrides: Record<string, unknown>) =>
    server.request(`/attestation/${drvHash(drv)}`, { method: 'POST', token: builder.token, json: [{ ...lilaItem(builder, built), ...overrides }] });
  assert.equal((await send(alice, { output_sig: '', built_at: '2026-01-31T12:00:00Z' })).status, 200);
  assert.equal((await send(bob, { output_sig: `bob-1:${Buffer.alloc(64, 1).toString('base64')}` })).status, 200);
  const { page, errors } = await openPage(browser, `${server.url}/output/${outPath.slice('/nix/store/'.length)}`);
  const statuses = page.getByTestId('signature-status');
  await statuses.first().waitFor();
  assert.deepEqual((await statuses.allTextContents()).sort(), ['invalid signature', 'unsigned']);
  assert.equal(await page.getByTestId('output-verdict').textContent(), 'no builds');
  assert.match((await page.locator('tr', { hasText: 'alice' }).textContent()) ?? '', /built .*2026.*received/);
  assert.deepEqual(errors, []);
  await page.close();
});

test('the server serves the built app with cache headers, and browsers only where no API route answers', async () => {
  const browserAccept = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };
  const index = await server.request('/builders', { headers: browserAccept });
  assert.equal(index.status, 200);
  assert.equal(index.headers.get('cache-control'), 'no-cache');
  const html = await index.text();
  const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
  assert.ok(asset, 'index.html names a hashed script');
  const script = await server.request(asset);
  assert.equal(script.status, 200);
  assert.equal(script.headers.get('cache-control'), 'public, max-age=31536000, immutable');

  const reportPage = await server.request('/reports/gnome', { headers: browserAccept });
  assert.match(reportPage.headers.get('content-type') ?? '', /text\/html/);
  const textTree = await server.request('/reports/gnome', { headers: { accept: '*/*' } });
  assert.match(textTree.headers.get('content-type') ?? '', /text\/plain/);
  const names = await server.request('/reports', { headers: { accept: '*/*' } });
  assert.deepEqual(await names.json(), ['gnome']);

  const unknownApi = await server.request('/api/v1/nothing', { headers: browserAccept });
  assert.equal(unknownApi.status, 404);
  assert.match(unknownApi.headers.get('content-type') ?? '', /json/);
  const curlOnClientRoute = await server.request('/builders', { headers: { accept: '*/*' } });
  assert.equal(curlOnClientRoute.status, 404);
  const curlOnRoot = await server.request('/', { headers: { accept: '*/*' } });
  assert.match(curlOnRoot.headers.get('content-type') ?? '', /text\/html/);
});

test('a page loads without a 404, its lilac favicon included, and /favicon.ico is served too', async () => {
  const { page, errors } = await openPage(browser, 'about:blank');
  const missing: string[] = [];
  page.on('response', (response) => {
    if (response.status() === 404) missing.push(response.url());
  });
  await page.goto(`${server.url}/builders`);
  await live(page);
  const icon = await page.locator('link[rel="icon"]').getAttribute('href');
  assert.equal(icon, '/favicon.svg');
  const svg = await server.request(icon);
  assert.equal(svg.status, 200);
  assert.match(svg.headers.get('content-type') ?? '', /^image\/svg\+xml/);
  const ico = await server.request('/favicon.ico', { headers: { accept: 'image/*' } });
  assert.equal(ico.status, 200);
  assert.match(ico.headers.get('content-type') ?? '', /^image\/svg\+xml/);
  assert.deepEqual(missing, []);
  assert.deepEqual(errors, []);
  await page.close();
});

// Last: it replaces the server the other tests use.
test('after the server restarts, a reconnected page shows what changed while it was down', async () => {
  const dashboard = await openPage(browser, `${server.url}/`);
  const report = await openPage(browser, `${server.url}/reports/gnome`);
  await Promise.all([live(dashboard.page), live(report.page)]);
  await countOf(report.page, 'partially-reproduced').filter({ hasText: /^0$/ }).waitFor();

  const { dbName, dataDir } = server.context.config;
  const port = Number(new URL(server.url).port);
  await server.closeKeepingDatabase();
  await dashboard.page.getByTestId('disconnected-banner').waitFor();
  await report.page.getByTestId('disconnected-banner').waitFor();
  await screenshot(dashboard.page, 'dashboard-disconnected');

  // Meanwhile another server on the same database takes a third, differing build of curl.
  const interim = await startTestServer({ dbName, dataDir });
  const carol = await interim.createBuilder('carol');
  await attest(interim, carol, curlDrv, { outPath: curl, narHash: narHash('curl-c') });
  await interim.closeKeepingDatabase();

  server = await startTestServer({ port, dbName, dataDir });
  await Promise.all([live(dashboard.page), live(report.page)]);
  assert.equal(await dashboard.page.getByTestId('disconnected-banner').count(), 0);
  await dashboard.page.locator(`[data-testid=live-feed] li.feed-divergence[data-path="${curl}"]`).waitFor();
  await countOf(report.page, 'partially-reproduced').filter({ hasText: /^1$/ }).waitFor();
  await report.page.locator(`[data-testid=not-reproduced] li[data-path="${curl}"]`).waitFor();
  await Promise.all([dashboard.page.close(), report.page.close()]);
});
