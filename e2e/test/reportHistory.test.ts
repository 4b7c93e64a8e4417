import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { ReportHistory } from '@lilac/common';
import { drvHash, drvPath, lilaItem, narHash, storePath } from '@lilac/server/testing/attestations';
import type { TestBuilder, TestServer } from '@lilac/server/testing';
import type { Browser } from 'playwright-core';
import { screenshot, serverAndBrowser } from './support/browser.ts';
import { sbomOf } from './support/reports.ts';

let server: TestServer;
let browser: Browser;
let alice: TestBuilder;
let bob: TestBuilder;
const root = storePath('nixos-minimal-iso');
const lib = storePath('glibc-2.39');
const docs = storePath('timestamped-docs');

async function attest(builder: TestBuilder, outPath: string, hash: string): Promise<void> {
  const drv = drvPath(outPath.slice(44));
  const response = await server.request(`/attestation/${drvHash(drv)}`, { method: 'POST', token: builder.token, json: [lilaItem(builder, { outPath, narHash: narHash(hash) })] });
  assert.equal(response.status, 200, await response.text());
}

async function upload(paths: string[]): Promise<void> {
  const sbom = sbomOf(root, paths);
  sbom.metadata.component.properties.push({ name: 'nix:attr_path', value: 'nixos.iso_minimal' });
  const response = await server.request('/reports/minimal-iso', { method: 'PUT', token: alice.token, json: sbom });
  assert.ok(response.ok, await response.text());
}

/** Each upload's counts are recorded once its verdicts are read, after the answer; the page reads the history once. */
async function uploadPoints(count: number): Promise<void> {
  for (;;) {
    const history = (await (await server.request('/api/v1/reports/minimal-iso/history')).json()) as ReportHistory;
    if (history.points.filter((point) => point.kind === 'upload').length === count) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

before(async () => {
  ({ server, alice, bob, browser } = await serverAndBrowser());
  // Two versions: the second uploaded after the library reproduced and the docs did not.
  await upload([lib]);
  await uploadPoints(1);
  for (const builder of [alice, bob]) await attest(builder, lib, 'glibc');
  await attest(alice, docs, 'docs-a');
  await attest(bob, docs, 'docs-b');
  await upload([lib, docs]);
  await uploadPoints(2);
});
after(async () => {
  await browser?.close();
  await server?.close();
});

test('the report page charts the share of each verdict over time, and fits 420 px', async () => {
  const page = await browser.newPage({ viewport: { width: 420, height: 900 } });
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`${server.url}/reports/minimal-iso`);
  const chart = page.getByTestId('history-chart');
  await chart.waitFor();
  assert.equal(await page.getByTestId('report-attr').textContent(), 'nixos.iso_minimal');
  await page.getByTestId('report-versions').getByText('2 versions uploaded').waitFor();

  const areas = chart.locator('polygon');
  assert.equal(await areas.count(), 5, 'one area per verdict');
  const reproduced = await chart.locator('polygon[data-verdict="reproduced"]').getAttribute('points');
  const heights = (reproduced ?? '').split(' ').map((point) => 100 - Number(point.split(',')[1]));
  assert.ok(Math.max(...heights) > 0, `the reproduced share shows: ${reproduced}`);
  assert.match((await chart.locator('figcaption').textContent()) ?? '', /reproduced: 0% on .*, 33\.3% on /);

  const box = await chart.boundingBox();
  assert.ok(box !== null && box.x >= 0 && box.x + box.width <= 420, `the chart fits: ${JSON.stringify(box)}`);
  assert.ok(box.height > 100, 'the plot keeps its height on a phone');
  await screenshot(page, 'report-history-narrow');
  assert.deepEqual(errors, []);
  await page.close();
});
