import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { drvHash, drvPath, lilaItem, narHash, storePath, type Built } from '@lilac/server/testing/attestations';
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

/** root → middle → leaf: the leaf is nondeterministic under a reproduced middle. */
function chainSbom() {
  const component = (path: string) => ({ 'bom-ref': path, type: 'library', name: path.slice(44), properties: [{ name: 'nix:out_path', value: path }] });
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
