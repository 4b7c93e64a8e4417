import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { batchItem, drvHash, drvPath, lilaItem, narHash, storePath, type Built } from '@lilac/server/testing/attestations';
import type { TestBuilder, TestServer } from '@lilac/server/testing';
import type { Browser, Locator, Page } from 'playwright-core';
import { openPage, screenshot, serverAndBrowser } from './support/browser.ts';

let server: TestServer;
let browser: Browser;
let alice: TestBuilder;
let bob: TestBuilder;
const root = storePath('system');
const middle = storePath('glibc-2.39');
const leaf = storePath('timestamped-docs');

async function attest(builder: TestBuilder, outPath: string, built: Built): Promise<void> {
  const drv = drvPath(outPath.slice(44));
  const response = await server.request(`/attestation/${drvHash(drv)}`, { method: 'POST', token: builder.token, json: [lilaItem(builder, built)] });
  assert.equal(response.status, 200, await response.text());
}

const component = (path: string) => ({ 'bom-ref': path, type: 'library', name: path.slice(44), properties: [{ name: 'nix:out_path', value: path }] });

/** root → middle → leaf: the leaf is nondeterministic under a reproduced middle. */
function chainSbom() {
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    metadata: { component: component(root) },
    components: [component(middle), component(leaf)],
    dependencies: [
      { ref: root, dependsOn: [middle] },
      { ref: middle, dependsOn: [leaf] },
    ],
  };
}

before(async () => {
  ({ server, alice, bob, browser } = await serverAndBrowser());
  const defined = await server.request('/reports/chain', { method: 'PUT', token: alice.token, json: chainSbom() });
  assert.equal(defined.status, 201, await defined.text());
  for (const builder of [alice, bob]) await attest(builder, middle, { outPath: middle, narHash: narHash('glibc') });
  await attest(alice, leaf, { outPath: leaf, narHash: narHash('docs-a') });
  await attest(bob, leaf, { outPath: leaf, narHash: narHash('docs-b') });
});
after(async () => {
  await browser?.close();
  await server?.close();
});

const rowOf = (page: Page, path: string): Locator => page.locator(`.tree-row[data-path="${path}"]`);

test('a collapsed node shows the worst verdict beneath it, and stops once expanded', async () => {
  const { page, errors } = await openPage(browser, `${server.url}/reports/chain`);
  const middleRow = rowOf(page, middle);
  await middleRow.waitFor();
  // Only the root starts expanded: the middle is collapsed over the nondeterministic leaf.
  await middleRow.getByLabel('reproduced', { exact: true }).waitFor();
  await middleRow.getByLabel('nondeterministic beneath').waitFor();

  await middleRow.getByRole('button').click();
  await rowOf(page, leaf).waitFor();
  assert.equal(await middleRow.getByTestId('worst-beneath').count(), 0);
  assert.equal(await rowOf(page, root).getByTestId('worst-beneath').count(), 0, 'an expanded root shows its children instead');

  await rowOf(page, root).getByRole('button').click();
  await rowOf(page, root).getByLabel('nondeterministic beneath').waitFor();
  await screenshot(page, 'report-tree-collapsed');
  assert.deepEqual(errors, []);
  await page.close();
});

test("a report's counts follow a whole batch of verdict changes exactly, live", async () => {
  const [top, ...rest] = Array.from({ length: 12 }, (_, index) => storePath(`batch-report-${index}`)) as [string, ...string[]];
  const sbom = { bomFormat: 'CycloneDX', specVersion: '1.5', metadata: { component: component(top) }, components: rest.map(component), dependencies: [{ ref: top, dependsOn: rest }] };
  const defined = await server.request('/reports/batch', { method: 'PUT', token: alice.token, json: sbom });
  assert.equal(defined.status, 201, await defined.text());
  const { page, errors } = await openPage(browser, `${server.url}/reports/batch`);
  const count = (verdict: string): Locator => page.getByTestId(`verdict-${verdict}`).getByTestId('count');
  await count('no-builds').filter({ hasText: /^12$/ }).waitFor();

  const built = [top, ...rest].slice(0, 8);
  const items = built.map((outPath) => batchItem(alice, drvPath(outPath.slice(44)), { outPath, narHash: narHash(outPath) }));
  const posted = await server.request('/api/v1/attestations', { method: 'POST', token: alice.token, json: { attestations: items } });
  assert.equal(posted.status, 200, await posted.text());
  await count('one-build').filter({ hasText: /^8$/ }).waitFor();
  // The server's counts arrive first and the gathered list of changes after them: the list must not be counted again.
  await page.waitForTimeout(1_000);
  assert.equal(await count('one-build').textContent(), '8');
  assert.equal(await count('no-builds').textContent(), '4');
  assert.deepEqual(errors, []);
  await page.close();
});
