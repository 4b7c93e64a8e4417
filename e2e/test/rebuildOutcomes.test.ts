import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { batchItem, drvHash, drvPath, lilaItem, narHash, storePath, type Built } from '@lilac/server/testing/attestations';
import { startTestServer, type TestBuilder, type TestServer } from '@lilac/server/testing';
import type { Browser, Page } from 'playwright-core';
import { ensureWebBuilt, launchChromium, openPage } from './support/browser.ts';
import { sbomOf } from './support/reports.ts';

/** A build log may say anything: it is shown as text. */
const MARKUP_LOG = 'builder failed: <b id="injected">boom</b>';

let server: TestServer;
let carol: TestBuilder;
let jobs: { drvPath: string; output: string; outPath: string }[];
let browser: Browser;
const root = storePath('rebuilt-iso');
const broken = storePath('fails-when-rebuilt-1.0');
const differing = storePath('differs-when-rebuilt-1.0');

async function attest(builder: TestBuilder, built: Built): Promise<void> {
  const response = await server.request(`/attestation/${drvHash(drvPath(built.outPath.slice(44)))}`, { method: 'POST', token: builder.token, json: [lilaItem(builder, built)] });
  assert.equal(response.status, 200, await response.text());
}

/** The badge of the outcome shown in `scope`. */
const badge = (scope: ReturnType<Page['locator']>) => scope.locator('.outcome-badge').first();

before(async () => {
  ensureWebBuilt();
  [server, browser] = await Promise.all([startTestServer(), launchChromium()]);
  let alice: TestBuilder;
  [alice, carol] = await Promise.all([server.createBuilder('alice'), server.createBuilder('carol')]);
  const defined = await server.request('/reports/rebuilt', { method: 'PUT', token: alice.token, json: sbomOf(root, [broken, differing]) });
  assert.equal(defined.status, 201, await defined.text());
  await attest(alice, { outPath: broken, narHash: narHash('broken') });
  await attest(alice, { outPath: differing, narHash: narHash('differing, first') });
  jobs = [broken, differing].map((outPath) => ({ drvPath: drvPath(outPath.slice(44)), output: 'out', outPath }));
  assert.equal((await server.request('/api/v1/jobs', { method: 'POST', token: alice.token, json: jobs })).status, 200);
});
after(async () => {
  await browser?.close();
  await server?.close();
});

test('the pool card, the output page and the report page show a rebuild that failed (FAIL) apart from one that differs (BAD)', async () => {
  const { page, errors } = await openPage(browser, server.url);
  await page.getByTestId('connection-state').filter({ hasText: 'live' }).waitFor();

  // carol's rebuilds, through the pool as her worker's messages reach it, while the page is open: one fails, one differs.
  const { pool, builders } = server.context;
  const claims = [await pool.claim('carol', 'carol-socket'), await pool.claim('carol', 'carol-socket')];
  const claimOf = (outPath: string) => claims.find((claim) => claim?.outPath === outPath)!;
  assert.equal((await pool.fail('carol', 'carol-socket', { id: claimOf(broken).id, error: MARKUP_LOG })).outcome.kind, 'failed');
  const rebuilt = batchItem(carol, jobs[1]!.drvPath, { outPath: differing, narHash: narHash('differing, rebuilt') });
  assert.equal((await pool.complete(await builders.get('carol'), 'carol-socket', { id: claimOf(differing).id, attestations: [rebuilt] })).outcome.kind, 'differs');
  const activity = page.getByTestId('pool-activity');
  await activity.waitFor();
  assert.equal(await badge(activity.locator(`li[data-path="${broken}"]`)).textContent(), 'FAIL');
  assert.equal(await badge(activity.locator(`li[data-path="${differing}"]`)).textContent(), 'BAD');

  await page.goto(`${server.url}/output/${broken.slice('/nix/store/'.length)}`);
  const attempts = page.getByTestId('rebuild-attempts');
  await attempts.waitFor();
  const row = attempts.locator('tr[data-outcome="failed"]');
  assert.match((await row.textContent()) ?? '', /carol/);
  assert.equal(await badge(row).textContent(), 'FAIL');
  await row.locator('summary').click();
  assert.equal(await row.locator('pre.log-tail').textContent(), MARKUP_LOG);
  assert.equal(await page.locator('#injected').count(), 0);
  // A build that failed says nothing of the output: alice's build alone stands.
  assert.equal(await page.getByTestId('output-verdict').textContent(), 'one build');

  await page.goto(`${server.url}/output/${differing.slice('/nix/store/'.length)}`);
  await page.getByTestId('rebuild-attempts').waitFor();
  assert.equal(await badge(page.getByTestId('rebuild-attempts').locator('tr[data-outcome="differs"]')).textContent(), 'BAD');

  await page.goto(`${server.url}/reports/rebuilt`);
  const rebuilds = page.getByTestId('report-rebuilds');
  await rebuilds.getByTestId('rebuild-counts').waitFor();
  const count = (kind: string) => rebuilds.locator(`[data-outcome="${kind}"] dd`).textContent();
  assert.deepEqual([await count('differs'), await count('failed'), await count('reproduced')], ['1', '1', '0']);
  const listed = rebuilds.getByTestId('rebuilds-not-reproduced');
  assert.equal(await badge(listed.locator(`li[data-path="${broken}"]`)).textContent(), 'FAIL');
  assert.equal(await badge(listed.locator(`li[data-path="${differing}"]`)).textContent(), 'BAD');
  assert.deepEqual(errors, []);
  await page.close();
});
