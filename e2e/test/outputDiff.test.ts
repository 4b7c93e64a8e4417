import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, test } from 'node:test';
import { narSizeOfListing, type ListingEntry } from '@lilac/common';
import { batchItem, drvPath, narHash, storePath } from '@lilac/server/testing/attestations';
import type { TestBuilder, TestServer } from '@lilac/server/testing';
import type { Browser, Page } from 'playwright-core';
import { openPage, screenshot, serverAndBrowser } from './support/browser.ts';
import { sbomOf } from './support/reports.ts';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');
const file = (path: string, contents: string): ListingEntry => ({ path, type: 'regular', size: Buffer.byteLength(contents), sha256: sha(contents) });
const dir = (path: string): ListingEntry => ({ path, type: 'directory' });
/** Two fixed files and one of random bytes: the copies differ only there. */
const copy = (random: string): ListingEntry[] => [dir(''), dir('share'), file('share/fixed-1', 'one'), file('share/fixed-2', 'two'), file('share/random', random)];

let server: TestServer;
let browser: Browser;
let alice: TestBuilder;
let bob: TestBuilder;

before(async () => {
  ({ server, alice, bob, browser } = await serverAndBrowser());
});
after(async () => {
  await browser?.close();
  await server?.close();
});

async function live(page: Page): Promise<void> {
  await page.getByTestId('connection-state').filter({ hasText: 'live' }).waitFor();
}

/** alice and bob attested different copies of `name`; nobody sent a listing yet. */
type Copy = readonly [string, ListingEntry[]];

async function divergent(name: string): Promise<{ outPath: string; base: string; copies: readonly [Copy, Copy] }> {
  const outPath = storePath(name);
  const drv = drvPath(name);
  const copies: readonly [Copy, Copy] = [
    [narHash(`${name}-a`), copy(`${name} alice`)],
    [narHash(`${name}-b`), copy(`${name} bob!!`)],
  ];
  for (const [builder, [hash, listing]] of [[alice, copies[0]], [bob, copies[1]]] as const) {
    const response = await server.request('/api/v1/attestations', {
      method: 'POST',
      token: builder.token,
      json: { attestations: [batchItem(builder, drv, { outPath, narHash: hash, narSize: narSizeOfListing(listing) })] },
    });
    assert.equal(response.status, 200, await response.text());
  }
  return { outPath, base: outPath.slice('/nix/store/'.length), copies };
}

async function put(builder: TestBuilder, path: string, body: unknown): Promise<void> {
  const response = await server.request(path, { method: 'PUT', token: builder.token, json: body });
  assert.equal(response.status, 201, await response.text());
}

test('listings differing in one file show that file on an open output page without reload, then diffoscope beside it', async () => {
  const outPath = storePath('random-bytes');
  const drv = drvPath('random-bytes');
  const base = outPath.slice('/nix/store/'.length);
  const [listingA, listingB] = [copy('0c1f…alice'), copy('9a7e…bob!!')];
  const [hashA, hashB] = [narHash('random-a'), narHash('random-b')];
  for (const [builder, hash, listing] of [[alice, hashA, listingA], [bob, hashB, listingB]] as const) {
    const response = await server.request('/api/v1/attestations', {
      method: 'POST',
      token: builder.token,
      json: { attestations: [batchItem(builder, drv, { outPath, narHash: hash, narSize: narSizeOfListing(listing) })] },
    });
    assert.equal(response.status, 200, await response.text());
  }

  const { page, dialogs, errors } = await openPage(browser, `${server.url}/output/${base}`);
  await live(page);
  await page.getByTestId('waiting-for-listings').filter({ hasText: 'alice, bob' }).waitFor();
  await page.getByTestId('diffoscope-not-run').waitFor();

  await put(alice, `/api/v1/outputs/${base}/listing`, { narHash: hashA, narSize: narSizeOfListing(listingA), entries: listingA });
  await page.getByTestId('waiting-for-listings').filter({ hasText: 'from builders bob.' }).waitFor();
  await put(bob, `/api/v1/outputs/${base}/listing`, { narHash: hashB, narSize: narSizeOfListing(listingB), entries: listingB });

  const changed = page.locator('[data-testid="diff-row"]:has([data-testid="change"])');
  await changed.first().waitFor();
  assert.deepEqual(await changed.evaluateAll((rows) => rows.map((row) => row.getAttribute('data-path'))), ['share/random']);
  assert.equal(await page.getByTestId('waiting-for-listings').count(), 0);
  await page.locator('[data-testid="causes"] [data-cause="randomness"]').first().waitFor();
  const share = page.locator('[data-testid="diff-row"][data-path="share"]');
  await share.getByRole('button').click();
  await page.locator('[data-testid="diff-row"][data-path="share/random"]').waitFor({ state: 'detached' });
  await share.getByRole('button').click();
  await page.locator('[data-testid="diff-row"][data-path="share/random"]').waitFor();

  const text = '--- a\n+++ b\n├── share/random\n│ -<script>alert(1)</script> 0c1f\n│ +9a7e';
  await put(alice, `/api/v1/outputs/${base}/diffoscope`, { a: hashA, b: hashB, format: 'text', content: text, truncated: false, timedOut: false });
  await put(alice, `/api/v1/outputs/${base}/diffoscope`, { a: hashA, b: hashB, format: 'html', content: '<script>alert(2)</script>', truncated: false, timedOut: false });
  await page.getByTestId('diffoscope-text').filter({ hasText: '<script>alert(1)</script>' }).waitFor();
  assert.equal(await page.getByTestId('diffoscope-text').textContent(), text, 'shown as text, markup and all');
  const htmlLink = await page.getByTestId('diffoscope-html').getAttribute('href');
  assert.match(htmlLink ?? '', /\/diffoscope\/.+\.html$/);

  await screenshot(page, 'output-diff');
  assert.deepEqual(dialogs, [], 'nothing a builder sent ran as script');
  assert.deepEqual(errors, []);
});

test("the report page tags a not-reproduced path with its cause guess as listings arrive, and filters by it", async () => {
  const [guessed, unguessed] = [await divergent('guessed'), await divergent('unguessed')];
  const defined = await server.request('/reports/causes', { method: 'PUT', token: alice.token, json: sbomOf(storePath('causes-root'), [guessed.outPath, unguessed.outPath]) });
  assert.equal(defined.status, 201, await defined.text());
  const { page } = await openPage(browser, `${server.url}/reports/causes`);
  await live(page);
  const row = (outPath: string) => page.locator(`[data-testid="not-reproduced"] li[data-path="${outPath}"]`);
  await row(unguessed.outPath).waitFor();

  for (const [builder, [hash, listing]] of [[alice, guessed.copies[0]], [bob, guessed.copies[1]]] as const) {
    await put(builder, `/api/v1/outputs/${guessed.base}/listing`, { narHash: hash, narSize: narSizeOfListing(listing), entries: listing });
  }
  await row(guessed.outPath).locator('[data-cause="randomness"]').waitFor();
  assert.equal(await row(unguessed.outPath).locator('[data-cause]').count(), 0);

  await page.getByTestId('cause-filter').selectOption('randomness');
  await row(unguessed.outPath).waitFor({ state: 'detached' });
  assert.equal(await row(guessed.outPath).count(), 1);
  await page.getByTestId('cause-filter').selectOption('none');
  await row(guessed.outPath).waitFor({ state: 'detached' });
  assert.equal(await row(unguessed.outPath).count(), 1);
  await screenshot(page, 'report-causes');
});
