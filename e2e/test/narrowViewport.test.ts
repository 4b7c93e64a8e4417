import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { drvHash, drvPath, lilaItem, narHash, storePath, type Built } from '@lilac/server/testing/attestations';
import { startTestServer, type TestBuilder, type TestServer } from '@lilac/server/testing';
import type { Browser } from 'playwright-core';
import { ensureWebBuilt, launchChromium, screenshot } from './support/browser.ts';
import { sbomOf } from './support/reports.ts';

/** A phone held upright: every page of the monitor must fit it without scrolling sideways. */
const NARROW = { width: 420, height: 900 };

/** Runs in the page (a string: this workspace compiles without the DOM's types). The element reaching furthest right names the culprit. */
const MEASURE_OVERFLOW = `(() => {
  const root = document.documentElement;
  let widest = '';
  let right = root.clientWidth;
  for (const element of document.body.querySelectorAll('*')) {
    const box = element.getBoundingClientRect();
    if (box.right > right + 0.5) {
      right = box.right;
      widest = element.tagName.toLowerCase() + '.' + [...element.classList].join('.') + ' reaches ' + Math.round(box.right) + ' px';
    }
  }
  return { scrollWidth: root.scrollWidth, clientWidth: root.clientWidth, widest };
})()`;

let server: TestServer;
let browser: Browser;
let alice: TestBuilder;
let bob: TestBuilder;
// Long names, as real closures have: they must wrap, not widen the page.
const root = storePath('nixos-gnome-live-iso-image-24.05pre-git-x86_64-linux-with-a-long-name');
const lib = storePath('python3.11-very-long-package-name-for-layout-checks-1.2.3');
const libDrv = drvPath('python3.11-very-long-package-name-for-layout-checks-1.2.3');

async function attest(builder: TestBuilder, drv: string, built: Built): Promise<void> {
  const response = await server.request(`/attestation/${drvHash(drv)}`, { method: 'POST', token: builder.token, json: [lilaItem(builder, built)] });
  assert.equal(response.status, 200, await response.text());
}

before(async () => {
  ensureWebBuilt();
  [server, browser] = await Promise.all([startTestServer(), launchChromium()]);
  [alice, bob] = await Promise.all([server.createBuilder('alice-with-a-rather-long-builder-name'), server.createBuilder('bob')]);
  const defined = await server.request('/reports/gnome-iso-runtime-closure-for-layout', { method: 'PUT', token: alice.token, json: sbomOf(root, [lib]) });
  assert.equal(defined.status, 201, await defined.text());
  const link = `https://github.com/NixOS/nixpkgs/issues/303436?${'long-query-parameter=value&'.repeat(4)}`;
  const pattern = await server.request(`/link_patterns?pattern=${encodeURIComponent('python3\\.11-very-long.*')}&link=${encodeURIComponent(link)}`, { method: 'POST', token: alice.token });
  assert.equal(pattern.status, 200, await pattern.text());
  await attest(alice, libDrv, { outPath: lib, narHash: narHash('lib-a') });
  await attest(bob, libDrv, { outPath: lib, narHash: narHash('lib-b') });
});
after(async () => {
  await browser?.close();
  await server?.close();
});

test('no page of the monitor overflows horizontally at 420 px', async () => {
  const pages: [string, string, string][] = [
    ['dashboard', '/', 'connection-state'],
    ['reports', '/reports', 'reports-table'],
    ['report', '/reports/gnome-iso-runtime-closure-for-layout', 'dependency-tree'],
    ['output', `/output/${lib.slice('/nix/store/'.length)}`, 'triage'],
    ['derivation', `/derivation/${drvHash(libDrv)}`, 'derivation-outputs'],
    ['builders', '/builders', 'builders-table'],
    ['sign-in', '/sign-in', 'sign-in-form'],
    ['not-found', '/no/such/page', 'not-found'],
  ];
  const overflowing: string[] = [];
  for (const [name, path, testId] of pages) {
    const page = await browser.newPage({ viewport: NARROW });
    await page.goto(`${server.url}${path}`);
    await page.getByTestId(testId).first().waitFor();
    if (name === 'report') await page.getByTestId('not-reproduced').getByText('python3.11-very-long').first().waitFor();
    await screenshot(page, `narrow-${name}`);
    const { scrollWidth, clientWidth, widest } = await page.evaluate<{ scrollWidth: number; clientWidth: number; widest: string }>(MEASURE_OVERFLOW);
    if (scrollWidth > clientWidth) overflowing.push(`${name}: ${scrollWidth} px wide in ${clientWidth} (${widest})`);
    await page.close();
  }
  assert.deepEqual(overflowing, []);
});
